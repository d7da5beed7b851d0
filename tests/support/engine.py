"""Constants and helpers shared by the engine's tests (fixtures are in ``conftest.py``)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import WaiterError

from include.devstack.settings import local_connection
from include.local_sagemaker.algorithms.registry import EXTRA_ALGORITHMS_VARIABLE
from include.local_sagemaker.command import serve_command

REPO = Path(__file__).resolve().parents[2]
# The engine suite's folder: its provider DAGs (``provider_dag/``) and the test algorithm live there.
ENGINE_TESTS = REPO / "tests" / "local_sagemaker"
ROLE_ARN = "arn:aws:iam::123456789012:role/SageMakerRole"
TINY_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/tiny:1"
KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"


def register_tiny_algorithm() -> None:
    """Make the test algorithm (``tests/local_sagemaker/tiny_algorithm.py``, image repository ``tiny``)
    available to the engine's containers, which are subprocesses and find it through the environment."""
    os.environ[EXTRA_ALGORITHMS_VARIABLE] = "tiny=tests.local_sagemaker.tiny_algorithm"
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))


def start_engine_process(state_dir: Path) -> tuple[subprocess.Popen, str]:
    """The engine as a process of its own (the CLI) on a free port: ``(process, endpoint URL)``."""
    register_tiny_algorithm()
    process = subprocess.Popen(
        serve_command(state_dir, port=0),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    line = process.stdout.readline()
    match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
    assert match, f"engine did not start: {line!r}"
    # Keep reading its output (its log), so a chatty engine never blocks on a full pipe.
    threading.Thread(target=process.stdout.read, name="engine-output", daemon=True).start()
    return process, match.group(1)


# The SageMaker SDK's own configuration file: no telemetry (it would be sent to AWS from a background
# thread).
SDK_CONFIG = "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n"


def sdk_environment(engine_url: str, home: Path, default_bucket: str | None = None) -> dict[str, str]:
    """The environment of a SageMaker SDK process driving the engine: its URL and test credentials, and
    no AWS or SageMaker setting of this machine's user.

    ``default_bucket`` goes in the SDK's configuration file (``Session.DefaultS3Bucket``): the SDK v2
    otherwise names its default bucket after the account it asks STS at a fixed regional endpoint
    (``sagemaker.utils.sts_regional_endpoint``), which no endpoint URL setting redirects.
    """
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "SAGEMAKER_")) and name != "PYTHONPATH"
    }
    bucket = f"      Session:\n        DefaultS3Bucket: {default_bucket}\n" if default_bucket else ""
    (home / "config.yaml").write_text(SDK_CONFIG + bucket)
    return {
        **environment,
        "AWS_ENDPOINT_URL": engine_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        "SAGEMAKER_USER_CONFIG_OVERRIDE": str(home / "config.yaml"),
    }


def engine_clients(url: str) -> tuple:
    """``(s3, sagemaker, sagemaker-runtime, logs)`` boto3 clients of the engine at ``url``."""
    settings = {
        "endpoint_url": url,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "config": Config(retries={"mode": "standard", "max_attempts": 1}),
    }
    return tuple(boto3.client(s, **settings) for s in ("s3", "sagemaker", "sagemaker-runtime", "logs"))


def living(pid: int) -> bool:
    """Whether process ``pid`` exists and has not exited (a zombie has: only its parent's reaping is due)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2 :].split()[0] not in (b"Z", b"X")


def processes_under(directory: Path) -> list[int]:
    """Living processes whose command line names a path under ``directory`` or that work in it."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if (str(directory) in command or Path(cwd).is_relative_to(directory)) and living(int(entry.name)):
            found.append(int(entry.name))
    return found


def wait_for(predicate: Callable[[], object], timeout: float = 60.0, interval: float = 0.2):
    """Poll ``predicate`` until it returns something truthy; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def wait_for_job(sagemaker, name: str, timeout: float = 120.0) -> dict:
    """Describe a training job until it reaches a terminal status."""
    return wait_for(
        lambda: (
            d
            if (d := sagemaker.describe_training_job(TrainingJobName=name))["TrainingJobStatus"]
            in {"Completed", "Failed", "Stopped"}
            else None
        ),
        timeout,
    )


def train_tiny_model(sagemaker, s3, name: str, environment: dict[str, str] | None = None) -> str:
    """Train the tiny algorithm on rows whose mean is (3, 4) and create model ``name`` from it."""
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="train/rows.csv", Body=b"1,2\n3,4\n5,6\n")
    sagemaker.create_training_job(**tiny_training_job(name, name))
    artifact = wait_for_job(sagemaker, name)["ModelArtifacts"]["S3ModelArtifacts"]
    container = {"Image": TINY_IMAGE, "ModelDataUrl": artifact, "Environment": environment or {}}
    sagemaker.create_model(ModelName=name, PrimaryContainer=container, ExecutionRoleArn=ROLE_ARN)
    return name


def deploy(sagemaker, name: str, model: str, variants: tuple[str, ...] = ("AllTraffic",)) -> None:
    """Create endpoint config and endpoint ``name`` serving ``model`` on each variant."""
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": v, "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
            for v in variants
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)


def in_service(sagemaker, name: str) -> dict:
    """Wait for endpoint ``name`` to be InService; returns its description."""
    try:
        sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
    except WaiterError as error:
        reason = sagemaker.describe_endpoint(EndpointName=name).get("FailureReason")
        raise AssertionError(f"endpoint {name} is not InService: {reason}") from error
    return sagemaker.describe_endpoint(EndpointName=name)


def tiny_training_job(name: str, bucket: str, hyperparameters: dict | None = None, **overrides) -> dict:
    """A CreateTrainingJob request for the tiny algorithm reading ``s3://<bucket>/train/``."""
    request = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": TINY_IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
        "HyperParameters": hyperparameters or {},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{bucket}/train/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "ContentType": "text/csv",
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/output"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    request.update(overrides)
    return request


_DAG_TEST_DRIVER = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
run = DagBag().get_dag(sys.argv[1]).test()
states = {t.task_id: str(t.state) for t in run.get_task_instances()}
print("RESULT " + json.dumps({"state": str(run.state), "tasks": states}))
"""


def run_dag_against_engine(
    dag_file: Path, dag_id: str, endpoint_url: str, tmp_path: Path, env: dict[str, str]
) -> tuple[dict, str]:
    """``dag.test()`` of ``dag_file`` in a separate process whose dags folder holds only that file and
    whose ``aws_default`` connection points at the engine. Returns ``({"state", "tasks"}, output)``."""
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(dag_file, dags)
    environment = {
        **os.environ,
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW_CONN_AWS_DEFAULT": local_connection(endpoint_url),
        **env,
    }
    finished = subprocess.run(
        [sys.executable, "-c", _DAG_TEST_DRIVER, dag_id],
        env=environment,
        capture_output=True,
        text=True,
        timeout=400,
    )
    output = finished.stdout + finished.stderr
    result_line = next((line for line in output.splitlines() if line.startswith("RESULT ")), None)
    assert result_line, output[-5000:]
    return json.loads(result_line[len("RESULT ") :]), output
