"""kmeans_mnist end to end with dag.test() against the local engine: it succeeds, reports sane metrics and
leaves nothing deployed; when a step fails, the run fails and still cleans up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from include.devstack.settings import local_connection
from include.local_sagemaker.server import LocalSageMaker
from include.sagemaker_requests.deployment import LOCAL_BUCKET
from include.sagemaker_requests.names import run_names

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSageMaker]:
    running = LocalSageMaker(tmp_path_factory.mktemp("engine")).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def clients(engine: LocalSageMaker, airflow_db: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", local_connection(engine.endpoint_url))
    session = boto3.session.Session("testing", "testing", region_name="us-east-1")
    return {name: session.client(name, endpoint_url=engine.endpoint_url) for name in ("s3", "sagemaker")}


def _dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / "kmeans_mnist.py"))
    assert not bag.import_errors
    return bag.dags["kmeans_mnist"]


def _left_deployed(sagemaker, names) -> list[str]:
    left = [
        e["EndpointName"]
        for e in sagemaker.list_endpoints()["Endpoints"]
        if e["EndpointName"] == names.endpoint
    ]
    left += [
        c["EndpointConfigName"]
        for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]
        if c["EndpointConfigName"] == names.endpoint_config
    ]
    left += [m["ModelName"] for m in sagemaker.list_models()["Models"] if m["ModelName"] == names.model]
    return left


def test_kmeans_mnist_succeeds_reports_and_tears_down(clients: dict) -> None:
    run = _dag().test()
    assert run.state == "success"

    names = run_names("kmeans_mnist", run.run_id)
    metrics_object = clients["s3"].get_object(
        Bucket=LOCAL_BUCKET, Key=f"{names.s3_prefix}/report/metrics.json"
    )
    metrics = json.loads(metrics_object["Body"].read())
    assert metrics["clusters"] == 10
    assert metrics["purity"] > 0.35, metrics  # ten balanced digits: chance is about 0.11
    assert metrics["nmi"] > 0.3, metrics
    job = clients["sagemaker"].describe_training_job(TrainingJobName=names.training_job)
    assert job["TrainingJobStatus"] == "Completed"
    assert {m["MetricName"] for m in job["FinalMetricDataList"]} >= {"test:msd"}
    assert _left_deployed(clients["sagemaker"], names) == []


def test_a_failing_validation_fails_the_run_and_still_tears_down(
    clients: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    import include.inference.validation as validation

    def broken(*args, **kwargs):
        raise RuntimeError("injected validation failure")

    monkeypatch.setattr(validation, "cluster_predictions", broken)
    dag = _dag()
    dag.get_task("validate").retries = 0  # fail at once instead of after two retry delays
    run = dag.test()
    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["validate"] == "failed"
    assert states["create_endpoint"] == "success"
    assert states["teardown"] == "success"
    assert _left_deployed(clients["sagemaker"], run_names("kmeans_mnist", run.run_id)) == []
