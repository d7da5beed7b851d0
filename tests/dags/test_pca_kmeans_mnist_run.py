"""pca_kmeans_mnist end to end with dag.test() against the local engine: both stages train, the clusters of
the projections match the digits well above chance, and nothing of either stage is left deployed, also when
a step after both deployments fails."""

from __future__ import annotations

import pytest

from include.mnist.idx import encode_idx
from include.mnist.sample import read_sample
from include.sagemaker_requests.names import run_names
from tests.support.dags import fast_dag, left_deployed, read_json

pytestmark = pytest.mark.slow

DAG_ID = "pca_kmeans_mnist"


@pytest.fixture(scope="module")
def small_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """IDX files of 360 train (300 kept for training) and 100 test digits of the offline sample."""
    images, labels = read_sample()
    directory = tmp_path_factory.mktemp("small-mnist")
    for prefix, rows in {"train": slice(0, 360), "t10k": slice(360, 460)}.items():
        (directory / f"{prefix}-images-idx3-ubyte").write_bytes(encode_idx(images[rows].reshape(-1, 28, 28)))
        (directory / f"{prefix}-labels-idx1-ubyte").write_bytes(encode_idx(labels[rows]))
    return str(directory)


def test_pca_kmeans_mnist_succeeds_reports_and_tears_down(clients: dict) -> None:
    dag = fast_dag(DAG_ID)
    run = dag.test()
    assert run.state == "success"

    pca, kmeans = (run_names(DAG_ID, run.run_id, stage=stage) for stage in ("pca", "kmeans"))
    metrics = read_json(clients["s3"], f"{run_names(DAG_ID, run.run_id).s3_prefix}/report/metrics.json")
    assert metrics["clusters"] == 10
    assert metrics["purity"] >= 0.35, metrics  # ten balanced digits: chance is about 0.11

    sagemaker = clients["sagemaker"]
    pca_job = sagemaker.describe_training_job(TrainingJobName=pca.training_job)
    kmeans_job = sagemaker.describe_training_job(TrainingJobName=kmeans.training_job)
    assert pca_job["TrainingJobStatus"] == "Completed"
    assert kmeans_job["TrainingJobStatus"] == "Completed"
    num_components = dag.params["num_components"]
    assert pca_job["HyperParameters"]["num_components"] == str(num_components)
    assert kmeans_job["HyperParameters"]["feature_dim"] == str(num_components)

    assert left_deployed(sagemaker, pca) == []
    assert left_deployed(sagemaker, kmeans) == []
    board = read_json(clients["s3"], "leaderboards/pca-kmeans-mnist/leaderboard.json")
    assert (board["metric"], board["direction"]) == ("purity", "maximize")
    row = next(row for row in board["rows"] if row["run_id"] == run.run_id)
    assert row["metrics"]["purity"] == metrics["purity"]
    assert row["hyperparameters"]["num_components"] == num_components
    assert (row["training_job"], row["pca_training_job"]) == (kmeans.training_job, pca.training_job)


def test_a_failing_validation_fails_the_run_and_tears_down_both_stages(
    clients: dict, small_source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import include.inference.validation as validation

    def broken(*args, **kwargs):
        raise RuntimeError("injected validation failure")

    monkeypatch.setattr(validation, "cluster_predictions", broken)
    dag = fast_dag(DAG_ID)
    dag.get_task("validate").retries = 0  # fail at once instead of after two retry delays
    run = dag.test(run_conf={"source": small_source})

    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["validate"] == "failed"
    assert states["create_pca_endpoint"] == states["create_kmeans_endpoint"] == "success"
    assert states["teardown_pca"] == states["teardown_kmeans"] == "success"
    for stage in ("pca", "kmeans"):
        assert left_deployed(clients["sagemaker"], run_names(DAG_ID, run.run_id, stage=stage)) == []
