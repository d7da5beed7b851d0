"""No process the engine starts outlives it: neither a container nor a user's script, nor what the
script starts, even in a session of its own. A stopped or finished job leaves nothing running either."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import tarfile
import textwrap
from pathlib import Path

import pytest

from tests.support.engine import (
    ROLE_ARN,
    deploy,
    engine_clients,
    in_service,
    living,
    processes_under,
    start_engine_process,
    train_tiny_model,
    wait_for,
    wait_for_job,
)

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"

SCRIPT = textwrap.dedent(
    '''
    """Starts a child and a detached process, records the pids, then sleeps or exits at once."""
    import argparse
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    parser = argparse.ArgumentParser()
    parser.add_argument("--pid-file", required=True)
    parser.add_argument("--then", choices=["sleep", "exit"], required=True)
    arguments = parser.parse_args()
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
    child = subprocess.Popen(sleeper)
    detached = subprocess.Popen(sleeper, start_new_session=True)  # leaves the container's process group


    def save_and_exit(*_):
        with open(os.path.join(os.environ["SM_MODEL_DIR"], "checkpoint.txt"), "w") as checkpoint:
            checkpoint.write("saved at SIGTERM")
        sys.exit(0)


    signal.signal(signal.SIGTERM, save_and_exit)
    with open(arguments.pid_file + ".tmp", "w") as pids:
        json.dump({"script": os.getpid(), "child": child.pid, "detached": detached.pid}, pids)
    os.replace(arguments.pid_file + ".tmp", arguments.pid_file)
    if arguments.then == "sleep":
        time.sleep(600)
    '''
)


def _upload_script(s3, bucket: str) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("spawn.py")
        info.size = len(SCRIPT.encode())
        archive.addfile(info, io.BytesIO(SCRIPT.encode()))
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="code/sourcedir.tar.gz", Body=buffer.getvalue())
    return f"s3://{bucket}/code/sourcedir.tar.gz"


def _script_job(name: str, sources: str, pid_file: Path, then: str) -> dict:
    hyperparameters = {
        "pid-file": str(pid_file),
        "then": then,
        "sagemaker_program": "spawn.py",
        "sagemaker_submit_directory": sources,
    }
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": SKLEARN_IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
        "HyperParameters": {key: json.dumps(value) for key, value in hyperparameters.items()},
        "OutputDataConfig": {"S3OutputPath": f"s3://{sources.split('/')[2]}/output"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }


def _recorded_pids(pid_file: Path) -> list[int]:
    wait_for(pid_file.exists, timeout=60)
    return list(json.loads(pid_file.read_text()).values())


def _kill_leftovers(pids: list[int], directory: Path) -> None:
    # Only processes still working under the test's directory: never a stranger that reused a pid.
    for pid in set(pids) & set(processes_under(directory)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_a_killed_engine_takes_every_process_it_started_with_it(tmp_path: Path):
    state_dir = tmp_path / "state"
    engine, url = start_engine_process(state_dir)
    started: list[int] = []
    try:
        s3, sagemaker, _, _ = engine_clients(url)
        deploy(sagemaker, "lifetime", train_tiny_model(sagemaker, s3, "lifetime"))
        in_service(sagemaker, "lifetime")
        pid_file = tmp_path / "pids.json"
        sources = _upload_script(s3, "lifetime-code")
        sagemaker.create_training_job(**_script_job("lifetime-job", sources, pid_file, then="sleep"))
        script_pids = _recorded_pids(pid_file)

        model_servers = processes_under(state_dir / "hosting")
        job_processes = processes_under(state_dir / "jobs" / "lifetime-job")
        started = model_servers + job_processes
        assert len(model_servers) == 1
        # The training container, the image's training toolkit, the script, its child and the detached
        # process.
        assert len(job_processes) == 5
        assert set(script_pids) <= set(job_processes)

        engine.send_signal(signal.SIGKILL)
        engine.wait(timeout=10)
        wait_for(lambda: not any(map(living, started)) and not processes_under(state_dir), timeout=5)
    finally:
        engine.kill()
        engine.wait()
        _kill_leftovers(started + processes_under(state_dir), state_dir)


@pytest.mark.parametrize("then", ["sleep", "exit"])
def test_a_stopped_or_finished_script_leaves_nothing_running(engine, sagemaker, s3, tmp_path, unique, then):
    name = unique(f"leftovers-{then}")
    pid_file = tmp_path / "pids.json"
    sagemaker.create_training_job(**_script_job(name, _upload_script(s3, name), pid_file, then))
    pids = _recorded_pids(pid_file)
    try:
        if then == "sleep":
            sagemaker.stop_training_job(TrainingJobName=name)
        described = wait_for_job(sagemaker, name)
        expected = "Stopped" if then == "sleep" else "Completed"
        assert described["TrainingJobStatus"] == expected, described.get("FailureReason")
        wait_for(lambda: not any(map(living, pids)), timeout=5)
        if then == "sleep":  # the script had the grace period to save a checkpoint, and it was uploaded
            bucket, key = described["ModelArtifacts"]["S3ModelArtifacts"][len("s3://") :].split("/", 1)
            archive = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            with tarfile.open(fileobj=io.BytesIO(archive)) as model:
                assert model.extractfile("checkpoint.txt").read() == b"saved at SIGTERM"
    finally:
        _kill_leftovers(pids, engine.state_dir / "jobs" / name)
