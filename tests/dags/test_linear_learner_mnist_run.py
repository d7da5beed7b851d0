"""linear_learner_mnist end to end with dag.test() against the local engine: Parquet becomes binarized
recordIO, the binary classifier finds the 0s, the model is registered and nothing is left deployed."""

from __future__ import annotations

import pytest

from include.recordio import read_dense
from include.sagemaker_requests.names import run_names
from include.sagemaker_requests.target import LOCAL_BUCKET
from tests.support.dags import fast_dag, left_deployed, read_json

pytestmark = pytest.mark.slow

DAG_ID = "linear_learner_mnist"


def test_linear_learner_mnist_finds_the_zeros_and_tears_down(clients: dict) -> None:
    run = fast_dag(DAG_ID).test()
    assert run.state == "success"

    names = run_names(DAG_ID, run.run_id)
    s3, sagemaker = clients["s3"], clients["sagemaker"]
    metrics = read_json(s3, f"{names.s3_prefix}/report/metrics.json")
    assert metrics["class_names"] == ["not 0", "0"]
    # About one digit in ten is a 0, so "never a 0" already scores about 0.9: the 0s must be found too.
    assert metrics["accuracy"] >= 0.9, metrics
    zero = next(entry for entry in metrics["per_class"] if entry["name"] == "0")
    assert zero["recall"] > 0.5, metrics
    assert zero["precision"] > 0.5, metrics

    # The converter binarized the labels: 1.0 for a 0, 0.0 for any other digit.
    shards = s3.list_objects_v2(Bucket=LOCAL_BUCKET, Prefix=f"{names.s3_prefix}/recordio/train/")["Contents"]
    _, labels = read_dense(s3.get_object(Bucket=LOCAL_BUCKET, Key=shards[0]["Key"])["Body"])
    assert set(labels.tolist()) == {0.0, 1.0}
    assert 0.05 < labels.mean() < 0.15

    job = sagemaker.describe_training_job(TrainingJobName=names.training_job)
    assert job["TrainingJobStatus"] == "Completed"
    seed = {
        "predictor_type": "binary_classifier",
        "loss": "absolute_loss",
        "feature_dim": "784",
        "epochs": "10",
        "num_models": "32",
        "mini_batch_size": "200",
    }
    assert {name: job["HyperParameters"][name] for name in seed} == seed
    assert {channel["ChannelName"] for channel in job["InputDataConfig"]} == {"train", "validation"}
    assert any(m["MetricName"].startswith("validation:") for m in job["FinalMetricDataList"])

    versions = sagemaker.list_model_packages(ModelPackageGroupName="linear-learner-mnist")
    assert versions["ModelPackageSummaryList"], "no model version was registered"
    assert left_deployed(sagemaker, names) == []
    board = read_json(s3, "leaderboards/linear-learner-mnist/leaderboard.json")
    assert (board["metric"], board["direction"]) == ("accuracy", "maximize")
    row = next(row for row in board["rows"] if row["run_id"] == run.run_id)
    assert row["metrics"]["accuracy"] == metrics["accuracy"]
    assert row["hyperparameters"]["mini_batch_size"] == 200
