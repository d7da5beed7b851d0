"""xgboost_mnist end to end with dag.test() against the local engine: it trains on the offline sample,
classifies the test digits accurately, registers the model and leaves nothing deployed."""

from __future__ import annotations

import pytest

from include.sagemaker_requests.names import run_names
from tests.support.dags import fast_dag, left_deployed, read_json

pytestmark = pytest.mark.slow


def test_xgboost_mnist_succeeds_reports_accuracy_and_tears_down(clients: dict) -> None:
    # One XGBoost thread: the machine running the tests is shared.
    run = fast_dag("xgboost_mnist").test(run_conf={"nthread": 1})
    assert run.state == "success"

    names = run_names("xgboost_mnist", run.run_id)
    metrics = read_json(clients["s3"], f"{names.s3_prefix}/report/metrics.json")
    assert metrics["records"] == 500  # the sample's whole test split
    assert metrics["accuracy"] >= 0.85, metrics
    assert metrics["class_names"] == [str(digit) for digit in range(10)]
    assert sum(map(sum, metrics["confusion_matrix"])) == 500
    assert metrics["run_id"] == run.run_id

    job = clients["sagemaker"].describe_training_job(TrainingJobName=names.training_job)
    assert job["TrainingJobStatus"] == "Completed"
    assert job["HyperParameters"]["objective"] == "multi:softmax"
    validation_metrics = {m["MetricName"] for m in job["FinalMetricDataList"]}
    assert any(name.startswith("validation:") for name in validation_metrics), validation_metrics

    versions = clients["sagemaker"].list_model_packages(ModelPackageGroupName="xgboost-mnist")
    assert [p["ModelPackageDescription"] for p in versions["ModelPackageSummaryList"]] == [run.run_id]
    assert left_deployed(clients["sagemaker"], names) == []
    board = read_json(clients["s3"], "leaderboards/xgboost-mnist/leaderboard.json")
    assert (board["metric"], board["direction"]) == ("accuracy", "maximize")
    row = next(row for row in board["rows"] if row["run_id"] == run.run_id)
    assert row["metrics"]["accuracy"] == metrics["accuracy"]
    assert row["hyperparameters"] == {
        "eta": 0.2,
        "gamma": 4,
        "min_child_weight": 6,
        "num_round": 10,
        "max_depth": 5,
    }
