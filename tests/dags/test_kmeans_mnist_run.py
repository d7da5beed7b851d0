"""kmeans_mnist end to end with dag.test() against the local engine: it succeeds, reports sane metrics and
leaves nothing deployed. Injected faults are in ``test_dag_faults.py``."""

from __future__ import annotations

import pytest

from include.sagemaker_requests.names import run_names
from tests.support.dags import fast_dag, left_deployed, read_json

pytestmark = pytest.mark.slow


def test_kmeans_mnist_succeeds_reports_and_tears_down(clients: dict) -> None:
    run = fast_dag("kmeans_mnist").test()
    assert run.state == "success"

    names = run_names("kmeans_mnist", run.run_id)
    metrics = read_json(clients["s3"], f"{names.s3_prefix}/report/metrics.json")
    assert metrics["clusters"] == 10
    assert metrics["purity"] > 0.35, metrics  # ten balanced digits: chance is about 0.11
    assert metrics["nmi"] > 0.3, metrics
    job = clients["sagemaker"].describe_training_job(TrainingJobName=names.training_job)
    assert job["TrainingJobStatus"] == "Completed"
    seed = {"k": "10", "feature_dim": "784", "mini_batch_size": "500", "force_dense": "True"}
    assert {name: job["HyperParameters"][name] for name in seed} == seed
    assert {m["MetricName"] for m in job["FinalMetricDataList"]} >= {"test:msd"}
    assert left_deployed(clients["sagemaker"], names) == []
    # A manual run without a sweep grid is still recorded on the shared leaderboard.
    board = read_json(clients["s3"], "leaderboards/kmeans-mnist/leaderboard.json")
    row = next(row for row in board["rows"] if row["run_id"] == run.run_id)
    assert row["hyperparameters"]["k"] == 10
    assert row["metrics"]["purity"] == metrics["purity"]
