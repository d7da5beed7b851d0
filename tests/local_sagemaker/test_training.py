"""Training jobs run as subprocesses with the container contract, through boto3."""

from __future__ import annotations

import io
import json
import tarfile
import time

import pytest
from botocore.exceptions import ClientError

from tests.support.engine import tiny_training_job, wait_for, wait_for_job

LOG_GROUP = "/aws/sagemaker/TrainingJobs"


def _log_messages(logs, job: str) -> list[str]:
    streams = logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix=f"{job}/")["logStreams"]
    assert len(streams) == 1
    assert streams[0]["logStreamName"].startswith(f"{job}/algo-1-")
    events = logs.get_log_events(
        logGroupName=LOG_GROUP, logStreamName=streams[0]["logStreamName"], startFromHead=True
    )["events"]
    return [event["message"] for event in events]


def test_a_job_trains_uploads_its_model_and_logs(sagemaker, s3, logs, tiny_bucket, unique):
    job = unique("train-ok")
    sagemaker.create_training_job(**tiny_training_job(job, tiny_bucket, {"note": "x"}))
    described = wait_for_job(sagemaker, job)

    assert described["TrainingJobStatus"] == "Completed"
    assert described["SecondaryStatus"] == "Completed"
    statuses = [t["Status"] for t in described["SecondaryStatusTransitions"]]
    assert statuses == ["Starting", "Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert described["SecondaryStatusTransitions"][-1]["StatusMessage"] == "Training job completed"
    artifact = f"s3://{tiny_bucket}/output/{job}/output/model.tar.gz"
    assert described["ModelArtifacts"]["S3ModelArtifacts"] == artifact
    [metric] = described["FinalMetricDataList"]
    assert metric["MetricName"] == "train:norm"
    assert abs(metric["Value"] - ((3**2 + 4**2) ** 0.5)) < 1e-9  # mean of (1,2),(3,4),(5,6) is (3,4)

    body = s3.get_object(Bucket=tiny_bucket, Key=f"output/{job}/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        assert archive.getnames() == ["mean.json"]
        assert json.load(archive.extractfile("mean.json")) == [3.0, 4.0]

    messages = _log_messages(logs, job)
    assert "tiny: hyperparameters [('note', 'x')]" in messages
    assert "tiny: 3 rows from 2 files" in messages


def test_algorithm_failure_becomes_the_failure_reason(sagemaker, tiny_bucket, unique):
    job = unique("train-fail")
    sagemaker.create_training_job(
        **tiny_training_job(job, tiny_bucket, {"fail": "No value(s) were specified for 'k'"})
    )
    described = wait_for_job(sagemaker, job)
    assert described["TrainingJobStatus"] == "Failed"
    assert described["FailureReason"] == "ClientError: No value(s) were specified for 'k'"
    assert described["SecondaryStatusTransitions"][-1]["StatusMessage"] == "Training job failed"
    assert "TrainingEndTime" in described
    assert "ModelArtifacts" not in described


def test_unexpected_exceptions_are_algorithm_errors_with_their_traceback_in_the_log(
    sagemaker, logs, tiny_bucket, unique
):
    job = unique("train-crash")
    sagemaker.create_training_job(**tiny_training_job(job, tiny_bucket, {"crash": "disk on fire"}))
    described = wait_for_job(sagemaker, job)
    assert described["FailureReason"] == "AlgorithmError: disk on fire (caused by RuntimeError)"
    assert any("Traceback" in message for message in _log_messages(logs, job))


def test_missing_input_data_fails_with_sagemakers_message(sagemaker, s3, unique):
    bucket = unique("empty-data")
    s3.create_bucket(Bucket=bucket)
    job = unique("train-nodata")
    sagemaker.create_training_job(**tiny_training_job(job, bucket))
    described = wait_for_job(sagemaker, job)
    assert described["TrainingJobStatus"] == "Failed"
    assert described["FailureReason"].startswith(
        f'ClientError: No S3 objects found under S3 URL "s3://{bucket}/train/" given in input data source.'
    )


def test_manifest_file_and_sharded_channels(sagemaker, s3, logs, tiny_bucket, unique):
    manifest = [{"prefix": f"s3://{tiny_bucket}/train/"}, "part-1.csv"]
    s3.put_object(Bucket=tiny_bucket, Key="manifests/train.manifest", Body=json.dumps(manifest).encode())
    request = tiny_training_job(unique("train-manifest"), tiny_bucket)
    source = request["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    source.update(
        S3DataType="ManifestFile",
        S3Uri=f"s3://{tiny_bucket}/manifests/train.manifest",
        S3DataDistributionType="ShardedByS3Key",
    )
    sagemaker.create_training_job(**request)
    described = wait_for_job(sagemaker, request["TrainingJobName"])
    assert described["TrainingJobStatus"] == "Completed"
    assert "tiny: 1 rows from 1 files" in _log_messages(logs, request["TrainingJobName"])


def test_stop_training_job_terminates_the_container(sagemaker, tiny_bucket, unique):
    job = unique("train-stop")
    sagemaker.create_training_job(**tiny_training_job(job, tiny_bucket, {"sleep": "60"}))
    wait_for(lambda: sagemaker.describe_training_job(TrainingJobName=job)["SecondaryStatus"] == "Training")
    started = time.monotonic()
    sagemaker.stop_training_job(TrainingJobName=job)
    assert sagemaker.describe_training_job(TrainingJobName=job)["TrainingJobStatus"] in {
        "Stopping",
        "Stopped",
    }
    described = wait_for_job(sagemaker, job, timeout=30)
    assert time.monotonic() - started < 15
    assert described["TrainingJobStatus"] == "Stopped"
    assert [t["Status"] for t in described["SecondaryStatusTransitions"]][-2:] == ["Stopping", "Stopped"]
    waiter = sagemaker.get_waiter("training_job_completed_or_stopped")
    waiter.wait(TrainingJobName=job, WaiterConfig={"Delay": 1, "MaxAttempts": 2})


def test_max_runtime_stops_the_job(sagemaker, tiny_bucket, unique):
    job = unique("train-maxrt")
    request = tiny_training_job(
        job, tiny_bucket, {"sleep": "60"}, StoppingCondition={"MaxRuntimeInSeconds": 2}
    )
    sagemaker.create_training_job(**request)
    described = wait_for_job(sagemaker, job, timeout=40)
    assert described["TrainingJobStatus"] == "Stopped"
    assert described["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert (described["TrainingEndTime"] - described["TrainingStartTime"]).total_seconds() < 20
    assert "MaxRuntimeInSeconds (2 s)" in described["SecondaryStatusTransitions"][-1]["StatusMessage"]


def test_stopping_a_finished_job_is_rejected(sagemaker, tiny_bucket, unique):
    job = unique("train-done")
    sagemaker.create_training_job(**tiny_training_job(job, tiny_bucket))
    wait_for_job(sagemaker, job)
    with pytest.raises(ClientError) as raised:
        sagemaker.stop_training_job(TrainingJobName=job)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "status Completed" in raised.value.response["Error"]["Message"]


def test_four_jobs_at_once(sagemaker, tiny_bucket, unique):
    jobs = [unique(f"train-par{i}") for i in range(4)]
    for job in jobs:
        sagemaker.create_training_job(**tiny_training_job(job, tiny_bucket, {"sleep": "1"}))
    outcomes = [wait_for_job(sagemaker, job) for job in jobs]
    assert [o["TrainingJobStatus"] for o in outcomes] == ["Completed"] * 4
    assert len({o["ModelArtifacts"]["S3ModelArtifacts"] for o in outcomes}) == 4
