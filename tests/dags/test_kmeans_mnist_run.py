"""kmeans_mnist end to end with dag.test() against the local engine: it succeeds, reports sane metrics and
leaves nothing deployed; when a step fails, the run fails and still cleans up."""

from __future__ import annotations

import pytest
from dag_support import left_deployed, load_dag, read_json

from include.sagemaker_requests.names import run_names

pytestmark = pytest.mark.slow


def test_kmeans_mnist_succeeds_reports_and_tears_down(clients: dict) -> None:
    run = load_dag("kmeans_mnist").test()
    assert run.state == "success"

    names = run_names("kmeans_mnist", run.run_id)
    metrics = read_json(clients["s3"], f"{names.s3_prefix}/report/metrics.json")
    assert metrics["clusters"] == 10
    assert metrics["purity"] > 0.35, metrics  # ten balanced digits: chance is about 0.11
    assert metrics["nmi"] > 0.3, metrics
    job = clients["sagemaker"].describe_training_job(TrainingJobName=names.training_job)
    assert job["TrainingJobStatus"] == "Completed"
    assert {m["MetricName"] for m in job["FinalMetricDataList"]} >= {"test:msd"}
    assert left_deployed(clients["sagemaker"], names) == []


def test_a_failing_validation_fails_the_run_and_still_tears_down(
    clients: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    import include.inference.validation as validation

    def broken(*args, **kwargs):
        raise RuntimeError("injected validation failure")

    monkeypatch.setattr(validation, "cluster_predictions", broken)
    dag = load_dag("kmeans_mnist")
    dag.get_task("validate").retries = 0  # fail at once instead of after two retry delays
    run = dag.test()
    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["validate"] == "failed"
    assert states["create_endpoint"] == "success"
    assert states["teardown"] == "success"
    assert left_deployed(clients["sagemaker"], run_names("kmeans_mnist", run.run_id)) == []
