"""Constants and helpers shared by the engine's tests (fixtures are in ``conftest.py``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from include.devstack.settings import local_connection
from include.local_sagemaker.container import EXTRA_ALGORITHMS_VARIABLE

HERE = Path(__file__).resolve().parent
ROLE_ARN = "arn:aws:iam::123456789012:role/SageMakerRole"
TINY_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/tiny:1"
KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"


def register_tiny_algorithm() -> None:
    """Make the test algorithm (``tiny_algorithm.py``, image repository ``tiny``) available to the
    engine's containers, which are subprocesses and find it through the environment."""
    os.environ[EXTRA_ALGORITHMS_VARIABLE] = "tiny=tiny_algorithm"
    paths = [str(HERE), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))


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
