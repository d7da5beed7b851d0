"""The provider's SageMakerTuningOperator, SageMakerRegisterModelVersionOperator and
SageMakerTransformOperator (also deferrable) succeed against the engine in a ``dag.test()`` run.

As in ``test_airflow_provider.py``, the DAG runs in a separate process whose dags folder holds only it
and whose ``aws_default`` connection points at the engine.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.engine import ENGINE_TESTS, run_dag_against_engine
from tests.support.kmeans_jobs import blob_rows, csv_bytes, upload_blobs

pytestmark = pytest.mark.slow


def test_tuning_registry_and_transform_operators_in_a_dag_run(
    engine, s3, sagemaker, airflow_db, tmp_path: Path
):
    run = f"b{int(time.time())}"
    bucket = f"engine-batch-{run}"
    upload_blobs(s3, bucket)
    rows, labels = blob_rows(10, seed=9)
    s3.put_object(Bucket=bucket, Key="batch/rows.csv", Body=csv_bytes(rows))

    result, output = run_dag_against_engine(
        ENGINE_TESTS / "provider_dag" / "engine_batch_dag.py",
        "engine_batch",
        engine.endpoint_url,
        tmp_path,
        {
            "ENGINE_TEST_BUCKET": bucket,
            "ENGINE_TEST_RUN": run,
        },
    )
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
