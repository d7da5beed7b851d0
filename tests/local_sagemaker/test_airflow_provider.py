"""The Airflow Amazon provider's SageMaker operators and sensors succeed against the engine.

The DAG runs with ``dag.test()`` in a separate process whose dags folder holds only that DAG and
whose ``aws_default`` connection points at the engine; the deferrable operator's trigger runs
through Airflow's in-process triggerer.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from tests.support.engine import ENGINE_TESTS, run_dag_against_engine

pytestmark = pytest.mark.slow


def test_provider_operators_and_sensors_in_a_dag_run(
    engine, s3, sagemaker, runtime, airflow_db, tmp_path: Path
):
    run = f"r{int(time.time())}"
    bucket = f"engine-provider-{run}"
    s3.create_bucket(Bucket=bucket)
    rng = np.random.default_rng(0)
    centres = np.array([[0.0] * 8, [10.0] * 8, [-10.0] * 8])
    rows = centres[np.repeat(np.arange(3), 100)] + rng.normal(scale=0.5, size=(300, 8))
    s3.put_object(
        Bucket=bucket, Key="train/rows.csv", Body="\n".join(",".join(map(str, r)) for r in rows).encode()
    )

    result, output = run_dag_against_engine(
        ENGINE_TESTS / "provider_dag" / "engine_provider_dag.py",
        "engine_provider",
        engine.endpoint_url,
        tmp_path,
        {
            "ENGINE_TEST_BUCKET": bucket,
            "ENGINE_TEST_RUN": run,
        },
    )

    failing = result["tasks"].pop("train_failing")
    assert failing == "failed", output[-5000:]
    assert all(state == "success" for state in result["tasks"].values()), (result, output[-5000:])
    assert result["state"] == "failed"  # only because of train_failing
    # The failing job's reason reaches the task log, in SageMaker's words.
    assert "No value(s) were specified for 'k'" in output
    # print_log=True shows the container's log lines (from CloudWatch Logs) in the task log, once.
    assert output.count("Read 300 records of 8 features from channel 'train'") == 1
    # The deferrable operator really deferred and its trigger ran against the engine.
    assert "running trigger in line" in output

    assert sagemaker.describe_endpoint(EndpointName=f"endpoint-{run}")["EndpointStatus"] == "InService"
    answer = runtime.invoke_endpoint(
        EndpointName=f"endpoint-{run}", ContentType="text/csv", Body=b"0,0,0,0,0,0,0,0"
    )
    assert "closest_cluster" in json.loads(answer["Body"].read())["predictions"][0]
    sagemaker.delete_endpoint(EndpointName=f"endpoint-{run}")
