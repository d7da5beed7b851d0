"""The provider's SageMakerTuningOperator, SageMakerRegisterModelVersionOperator and
SageMakerTransformOperator (also deferrable) succeed against the engine in a ``dag.test()`` run.

As in ``test_airflow_provider.py``, the DAG runs in a separate process whose dags folder holds only it
and whose ``aws_default`` connection points at the engine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from engine_support import HERE
from kmeans_support import blob_rows, csv_bytes, upload_blobs

pytestmark = pytest.mark.slow

DRIVER = """
import json
from airflow.dag_processing.dagbag import DagBag
dag = DagBag().get_dag("engine_batch")
run = dag.test()
states = {t.task_id: str(t.state) for t in run.get_task_instances()}
print("RESULT " + json.dumps({"state": str(run.state), "tasks": states}))
"""


def test_tuning_registry_and_transform_operators_in_a_dag_run(
    engine, s3, sagemaker, airflow_db, tmp_path: Path
):
    run = f"b{int(time.time())}"
    bucket = f"engine-batch-{run}"
    upload_blobs(s3, bucket)
    rows, labels = blob_rows(10, seed=9)
    s3.put_object(Bucket=bucket, Key="batch/rows.csv", Body=csv_bytes(rows))

    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(HERE / "provider_dag" / "engine_batch_dag.py", dags)
    environment = {
        **os.environ,
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {"region_name": "us-east-1", "endpoint_url": engine.endpoint_url},
            }
        ),
        "ENGINE_TEST_BUCKET": bucket,
        "ENGINE_TEST_RUN": run,
    }
    finished = subprocess.run(
        [sys.executable, "-c", DRIVER], env=environment, capture_output=True, text=True, timeout=400
    )
    output = finished.stdout + finished.stderr
    result_line = next((line for line in output.splitlines() if line.startswith("RESULT ")), None)
    assert result_line, output[-5000:]
    result = json.loads(result_line[len("RESULT ") :])
    assert result["state"] == "success", (result, output[-5000:])
    assert set(result["tasks"].values()) == {"success"}
    assert "running trigger in line" in output  # the deferrable transform really deferred

    tuning = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=f"tune-{run}")
    assert tuning["TrainingJobStatusCounters"]["Completed"] == 3
    best = tuning["BestTrainingJob"]["TrainingJobName"]
    package = sagemaker.describe_model_package(
        ModelPackageName=f"arn:aws:sagemaker:us-east-1:123456789012:model-package/kmeans-{run}/1"
    )
    assert package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == (
        f"s3://{bucket}/output/{best}/output/model.tar.gz"
    )
    for prefix in ("transform-out", "deferred-out"):
        lines = (
            s3.get_object(Bucket=bucket, Key=f"{prefix}/rows.csv.out")["Body"].read().decode().splitlines()
        )
        assert len(lines) == len(labels)
        assert all("closest_cluster" in json.loads(line) for line in lines)
