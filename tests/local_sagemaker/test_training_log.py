"""A training task's log holds the algorithm's own log lines, once each, whether the task waits in the
worker (streamed as it polls) or in the triggerer (written when the task resumes)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.support.engine import ENGINE_TESTS, run_dag_against_engine
from tests.support.kmeans_jobs import upload_blobs

pytestmark = pytest.mark.slow


def test_training_tasks_log_the_algorithm_lines(engine, s3, airflow_db, tmp_path: Path) -> None:
    run = f"r{int(time.time())}"
    bucket = f"training-log-{run}"
    upload_blobs(s3, bucket)

    result, output = run_dag_against_engine(
        ENGINE_TESTS / "provider_dag" / "training_log_dag.py",
        "training_log",
        engine.endpoint_url,
        tmp_path,
        {"ENGINE_TEST_BUCKET": bucket, "ENGINE_TEST_RUN": run},
    )

    assert result == {
        "state": "success",
        "tasks": {"train_in_worker": "success", "train_deferred": "success"},
    }, output[-5000:]
    assert "running trigger in line" in output  # train_deferred really waited in a trigger
    # The two jobs differ in k, so each task's lines are told apart by their configuration line.
    for k in (2, 4):
        assert len(re.findall(rf'Final configuration: .*"k": {k},', output)) == 1, output[-5000:]
    # k-means' metric lines, from each job's CloudWatch stream, each in the task log once.
    assert len(re.findall(r"#quality_metric: host=algo-1, test msd <loss>=", output)) == 2, output[-5000:]
