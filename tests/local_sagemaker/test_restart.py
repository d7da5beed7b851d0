"""The engine as a separate process (the CLI): kill -9 mid-run, restart on the same state directory."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from tests.support.engine import (
    ROLE_ARN,
    TINY_IMAGE,
    engine_clients,
    start_engine_process,
    tiny_training_job,
    wait_for,
    wait_for_job,
)

pytestmark = pytest.mark.slow


def _containers_of(state_dir: Path) -> list[int]:
    """Container processes working in ``state_dir`` (training cwd or serving model dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if "include.local_sagemaker.container" in command and (
            str(state_dir) in command or str(state_dir) in cwd
        ):
            found.append(int(entry.name))
    return found


def _object_stores_of(state_dir: Path) -> list[int]:
    """SeaweedFS processes keeping their data under ``state_dir``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if command and command[0].endswith(b"weed") and any(str(state_dir).encode() in a for a in command):
            found.append(int(entry.name))
    return found


def test_kill_minus_9_mid_run_and_restart(tmp_path: Path):
    state_dir = tmp_path / "state"
    engine, url = start_engine_process(state_dir)
    try:
        s3, sagemaker, runtime, logs = engine_clients(url)
        s3.create_bucket(Bucket="restart-data")
        s3.put_object(
            Bucket="restart-data", Key="train/rows.csv", Body=b"1,2\n3,4\n5,6\n", ContentType="text/csv"
        )
        big = os.urandom(9 * 1024 * 1024)  # above boto3's 8 MB multipart threshold
        s3.upload_fileobj(__import__("io").BytesIO(big), "restart-data", "big/blob.bin")
        s3.put_object(Bucket="restart-data", Key="doomed/a", Body=b"a")
        s3.delete_objects(Bucket="restart-data", Delete={"Objects": [{"Key": "doomed/a"}]})

        sagemaker.create_training_job(**tiny_training_job("done-job", "restart-data"))
        artifact = wait_for_job(sagemaker, "done-job")["ModelArtifacts"]["S3ModelArtifacts"]
        sagemaker.create_model(
            ModelName="restart-model",
            PrimaryContainer={"Image": TINY_IMAGE, "ModelDataUrl": artifact},
            ExecutionRoleArn=ROLE_ARN,
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName="restart-config",
            ProductionVariants=[
                {"VariantName": "AllTraffic", "ModelName": "restart-model", "InstanceType": "ml.m5.large"}
            ],
        )
        sagemaker.create_endpoint(EndpointName="restart-endpoint", EndpointConfigName="restart-config")
        sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName="restart-endpoint", WaiterConfig={"Delay": 1}
        )

        sagemaker.create_training_job(**tiny_training_job("running-job", "restart-data", {"sleep": "120"}))
        wait_for(
            lambda: (
                sagemaker.describe_training_job(TrainingJobName="running-job")["SecondaryStatus"]
                == "Training"
            )
        )
        assert len(_containers_of(state_dir)) == 2  # the model server and the running job
    finally:
        engine.send_signal(signal.SIGKILL)
        engine.wait()

    # Orphaned containers notice their engine is gone and exit on their own, and so does the store.
    wait_for(lambda: not _containers_of(state_dir), timeout=10)
    wait_for(lambda: not _object_stores_of(state_dir), timeout=30)

    engine, url = start_engine_process(state_dir)
    try:
        s3, sagemaker, runtime, logs = engine_clients(url)
        assert s3.get_object(Bucket="restart-data", Key="train/rows.csv")["Body"].read() == b"1,2\n3,4\n5,6\n"
        assert s3.head_object(Bucket="restart-data", Key="train/rows.csv")["ContentType"] == "text/csv"
        assert s3.get_object(Bucket="restart-data", Key="big/blob.bin")["Body"].read() == big
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="restart-data")["Contents"]]
        assert "doomed/a" not in keys
        assert "output/done-job/output/model.tar.gz" in keys

        assert sagemaker.describe_training_job(TrainingJobName="done-job")["TrainingJobStatus"] == "Completed"
        interrupted = sagemaker.describe_training_job(TrainingJobName="running-job")
        assert interrupted["TrainingJobStatus"] == "Failed"
        assert "engine was restarted while this job was in progress" in interrupted["FailureReason"]
        assert sagemaker.describe_model(ModelName="restart-model")["ModelName"] == "restart-model"

        assert sagemaker.describe_endpoint(EndpointName="restart-endpoint")["EndpointStatus"] == "InService"
        response = runtime.invoke_endpoint(
            EndpointName="restart-endpoint", ContentType="text/csv", Body=b"3,4\n"
        )
        assert json.loads(response["Body"].read()) == {"predictions": [{"distance": 0.0}]}

        stream = logs.describe_log_streams(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="done-job/"
        )["logStreams"][0]["logStreamName"]
        events = logs.get_log_events(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream, startFromHead=True
        )
        assert "tiny: 3 rows from 1 files" in [e["message"] for e in events["events"]]
    finally:
        engine.send_signal(signal.SIGTERM)
        assert engine.wait(timeout=30) == 0
    # A clean stop takes its model servers and its object store down with it.
    assert not _containers_of(state_dir)
    assert not _object_stores_of(state_dir)
