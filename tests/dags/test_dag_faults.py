"""Faults injected into kmeans_mnist runs against the local engine.

A training job that fails, an endpoint that fails to come up, a validation step that raises: the run ends
failed and nothing of it stays deployed. A task that dies after its training job or endpoint was created
is retried, and the retry carries on with what the first try created instead of creating a second one.

The runs read a small IDX copy of the offline sample (460 digits) through the DAG's ``source`` param, so
each one trains for seconds.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
from airflow.sdk import get_current_context
from botocore.exceptions import ClientError

from include.mnist.idx import encode_idx
from include.mnist.sample import read_sample
from include.sagemaker_requests import configs
from include.sagemaker_requests.names import run_names
from tests.support.dags import fast_dag, left_deployed

pytestmark = pytest.mark.slow

DAG_ID = "kmeans_mnist"
MODEL_PACKAGE_GROUP = "kmeans-mnist"
# The loader keeps the first 5/6 of the train file for training: 300 digits.
TRAIN_FILE_IMAGES = 360
TRAINING_RECORDS = 300
TEST_IMAGES = 100


class InjectedFault(RuntimeError):
    """The failure a test put in a task's way; nothing else raises it."""


@pytest.fixture(scope="module")
def small_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A directory of IDX files holding a slice of the offline sample, usable as the DAG's ``source``."""
    images, labels = read_sample()
    directory = tmp_path_factory.mktemp("small-mnist")
    parts = {
        "train": slice(0, TRAIN_FILE_IMAGES),
        "t10k": slice(TRAIN_FILE_IMAGES, TRAIN_FILE_IMAGES + TEST_IMAGES),
    }
    for prefix, rows in parts.items():
        (directory / f"{prefix}-images-idx3-ubyte").write_bytes(encode_idx(images[rows].reshape(-1, 28, 28)))
        (directory / f"{prefix}-labels-idx1-ubyte").write_bytes(encode_idx(labels[rows]))
    return str(directory)


def kmeans_dag():
    """kmeans_mnist, polling SageMaker every second: the engine's jobs take seconds, not minutes."""
    return fast_dag(DAG_ID)


def task_states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def try_numbers(run) -> dict[str, int]:
    return {ti.task_id: ti.try_number for ti in run.get_task_instances()}


def registered_versions(sagemaker, run_id: str) -> list[int]:
    """Versions of the DAG's model package group registered by ``run_id`` (their description)."""
    try:
        packages = sagemaker.list_model_packages(ModelPackageGroupName=MODEL_PACKAGE_GROUP, MaxResults=100)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ValidationException":  # no run registered anything yet
            return []
        raise
    return [
        p["ModelPackageVersion"]
        for p in packages["ModelPackageSummaryList"]
        if p.get("ModelPackageDescription") == run_id
    ]


def die_after_first_create(
    monkeypatch: pytest.MonkeyPatch, method: str, task_id: str, **call_overrides
) -> None:
    """In the first try of ``task_id``, ``SageMakerHook.method`` makes its SageMaker call (with
    ``call_overrides`` applied to its keyword arguments) and then the try dies with ``InjectedFault``, as
    when a worker is lost right after the request was sent. Every other call behaves normally."""
    real = getattr(SageMakerHook, method)

    def injected(self, *args, **kwargs):
        ti = get_current_context()["ti"]
        if ti.task_id != task_id or ti.try_number != 1:
            return real(self, *args, **kwargs)
        real(self, *args, **{**kwargs, **call_overrides})
        raise InjectedFault(f"worker lost after SageMakerHook.{method} in try 1 of {task_id}")

    monkeypatch.setattr(SageMakerHook, method, injected)


def test_a_failing_training_job_fails_the_run_and_deploys_nothing(
    clients: dict, small_source: str, capfd: pytest.CaptureFixture
) -> None:
    # Within the trigger form's bounds (k <= 500) but more clusters than training digits: SageMaker accepts
    # the request and the algorithm fails the job.
    k = TRAINING_RECORDS + 100
    dag = kmeans_dag()
    dag.get_task("train").retries = 0  # a retry would only start the same doomed job again
    run = dag.test(run_conf={"source": small_source, "k": k})
    task_log = capfd.readouterr().out

    assert run.state == "failed"
    states = task_states(run)
    assert states["train"] == "failed"
    assert {states[t] for t in ("register_model", "create_model", "create_endpoint")} == {"upstream_failed"}
    names = run_names(DAG_ID, run.run_id)
    job = clients["sagemaker"].describe_training_job(TrainingJobName=names.training_job)
    assert job["TrainingJobStatus"] == "Failed"
    assert f"fewer than k={k} clusters" in job["FailureReason"]
    assert f"SageMaker resource failed because {job['FailureReason']}" in task_log
    assert left_deployed(clients["sagemaker"], names) == []
    assert registered_versions(clients["sagemaker"], run.run_id) == []


def test_an_endpoint_that_fails_to_come_up_fails_the_run_and_is_torn_down(
    clients: dict, small_source: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture
) -> None:
    # The model points at an artifact that is not there (deleted by a lifecycle rule, say): CreateModel
    # and CreateEndpointConfig succeed, the endpoint goes Failed and stays until someone deletes it.
    real_model_request = configs.model

    def model_without_artifact(**kwargs) -> dict:
        return real_model_request(**{**kwargs, "model_data_url": kwargs["model_data_url"] + ".gone"})

    monkeypatch.setattr(configs, "model", model_without_artifact)
    dag = kmeans_dag()
    dag.get_task("create_endpoint").retries = 0
    run = dag.test(run_conf={"source": small_source})
    task_log = capfd.readouterr().out

    assert run.state == "failed"
    states = task_states(run)
    assert states["create_model"] == states["create_endpoint_config"] == "success"
    assert states["create_endpoint"] == "failed"
    assert states["validate"] == "upstream_failed"
    assert states["teardown"] == "success"
    names = run_names(DAG_ID, run.run_id)
    assert f"Deleted endpoint {names.endpoint}." in task_log  # it existed, Failed, until teardown
    assert left_deployed(clients["sagemaker"], names) == []


def test_a_failing_validation_fails_the_run_and_still_tears_down(
    clients: dict, small_source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import include.inference.validation as validation

    def broken(*args, **kwargs):
        raise InjectedFault("validation")

    monkeypatch.setattr(validation, "cluster_predictions", broken)
    dag = kmeans_dag()
    dag.get_task("validate").retries = 0  # fail at once instead of after two retry delays
    run = dag.test(run_conf={"source": small_source})

    assert run.state == "failed"
    states = task_states(run)
    assert states["validate"] == "failed"
    assert states["create_endpoint"] == "success"
    assert states["teardown"] == "success"
    assert left_deployed(clients["sagemaker"], run_names(DAG_ID, run.run_id)) == []


def test_a_retried_train_attaches_to_the_job_its_first_try_started(
    clients: dict, small_source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The job is left running when the try dies, so the retry finds it InProgress.
    die_after_first_create(monkeypatch, "create_training_job", "train", wait_for_completion=False)
    dag = kmeans_dag()
    dag.get_task("train").retry_delay = timedelta(0)
    run = dag.test(run_conf={"source": small_source})

    assert run.state == "success"
    assert try_numbers(run)["train"] == 2
    sagemaker = clients["sagemaker"]
    names = run_names(DAG_ID, run.run_id)
    # A second job would carry the provider's timestamped variant of the name, which contains this one.
    jobs = sagemaker.list_training_jobs(NameContains=names.training_job)["TrainingJobSummaries"]
    assert [(j["TrainingJobName"], j["TrainingJobStatus"]) for j in jobs] == [
        (names.training_job, "Completed")
    ]
    assert len(registered_versions(sagemaker, run.run_id)) == 1
    assert left_deployed(sagemaker, names) == []


def test_a_retried_create_endpoint_waits_for_the_endpoint_its_first_try_created(
    clients: dict, small_source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The retry comes while the endpoint the first try asked for is still Creating.
    die_after_first_create(monkeypatch, "create_endpoint", "create_endpoint")
    dag = kmeans_dag()
    dag.get_task("create_endpoint").retry_delay = timedelta(0)
    # Kept so that the endpoints can be counted after the run.
    run = dag.test(run_conf={"source": small_source, "keep_endpoint": True})

    assert run.state == "success"
    assert try_numbers(run)["create_endpoint"] == 2
    sagemaker = clients["sagemaker"]
    names = run_names(DAG_ID, run.run_id)
    endpoints = sagemaker.list_endpoints(NameContains=names.endpoint)["Endpoints"]
    assert [(e["EndpointName"], e["EndpointStatus"]) for e in endpoints] == [(names.endpoint, "InService")]
    assert sorted(left_deployed(sagemaker, names)) == sorted(
        [names.endpoint, names.endpoint_config, names.model]
    )
