"""ResumableTrainingOperator and ResumableTuningOperator with deferrable=True against the engine: a new
job and a job an earlier try started are both waited for in the trigger (no second job is created), and
execute_complete returns the finished job."""

from __future__ import annotations

import asyncio

import pytest
from airflow.providers.amazon.aws.triggers.sagemaker import SageMakerTrigger
from airflow.sdk.exceptions import TaskDeferred

from include.devstack.settings import local_connection
from operators.sagemaker_resumable import ResumableTrainingOperator, ResumableTuningOperator
from tests.support.kmeans_jobs import kmeans_training_job, upload_blobs

pytestmark = pytest.mark.slow

BUCKET = "resumable-deferral"
HYPERPARAMETERS = {"k": "3", "feature_dim": "2", "mini_batch_size": "50"}


@pytest.fixture(scope="module")
def blobs(s3) -> str:
    upload_blobs(s3, BUCKET)
    return BUCKET


@pytest.fixture
def aws_default(engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", local_connection(engine.endpoint_url))


def _run_trigger(trigger: SageMakerTrigger) -> dict:
    async def first_event():
        async for event in trigger.run():
            return event.payload

    return asyncio.run(asyncio.wait_for(first_event(), timeout=120))


def _training_operator(config: dict) -> ResumableTrainingOperator:
    return ResumableTrainingOperator(
        task_id="train", config=config, deferrable=True, print_log=False, check_interval=1
    )


def _jobs_named(sagemaker, name: str) -> list[str]:
    found = sagemaker.list_training_jobs(NameContains=name, MaxResults=100)["TrainingJobSummaries"]
    return [job["TrainingJobName"] for job in found]


def test_a_new_training_job_is_waited_for_in_the_trigger(sagemaker, blobs, unique, aws_default) -> None:
    name = unique("deferred-new")
    operator = _training_operator(kmeans_training_job(name, blobs, HYPERPARAMETERS))
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, SageMakerTrigger)
    assert deferred.value.method_name == "execute_complete"
    event = _run_trigger(trigger)
    assert event == {"status": "success", "job_name": name}
    result = _training_operator(kmeans_training_job(name, blobs, HYPERPARAMETERS)).execute_complete({}, event)
    assert result["Training"]["TrainingJobStatus"] == "Completed"
    assert _jobs_named(sagemaker, name) == [name]


def test_a_retry_defers_to_the_job_its_first_try_started(sagemaker, blobs, unique, aws_default) -> None:
    name = unique("deferred-retry")
    config = kmeans_training_job(name, blobs, {**HYPERPARAMETERS, "epochs": "20"})
    sagemaker.create_training_job(**config)  # what the first try left running

    with pytest.raises(TaskDeferred) as deferred:
        _training_operator(config).execute({})
    assert deferred.value.trigger.job_name == name
    assert _jobs_named(sagemaker, name) == [name]  # no second job
    event = _run_trigger(deferred.value.trigger)
    result = _training_operator(config).execute_complete({}, event)
    assert result["Training"]["TrainingJobName"] == name
    assert result["Training"]["TrainingJobStatus"] == "Completed"


def test_a_failed_training_job_fails_the_deferred_task(sagemaker, blobs, unique, aws_default) -> None:
    name = unique("deferred-bad")
    config = kmeans_training_job(name, blobs, {"feature_dim": "2"})  # k is missing
    with pytest.raises(TaskDeferred) as deferred:
        _training_operator(config).execute({})
    event = _run_trigger(deferred.value.trigger)
    assert event["status"] == "failed"
    with pytest.raises(Exception, match="No value\\(s\\) were specified for 'k'"):
        _training_operator(config).execute_complete({}, event)


def test_a_retried_tuning_task_defers_to_the_running_tuning_job(
    sagemaker, blobs, unique, aws_default
) -> None:
    name = unique("tune-retry")[-32:]
    job = kmeans_training_job("unused", blobs, {})
    config = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Grid",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "test:msd"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {"CategoricalParameterRanges": [{"Name": "k", "Values": ["2", "3"]}]},
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"feature_dim": "2", "mini_batch_size": "50"},
            **{key: job[key] for key in ("AlgorithmSpecification", "RoleArn", "InputDataConfig")},
            **{key: job[key] for key in ("OutputDataConfig", "ResourceConfig", "StoppingCondition")},
        },
    }

    def operator() -> ResumableTuningOperator:
        return ResumableTuningOperator(task_id="tune", config=config, deferrable=True, check_interval=1)

    with pytest.raises(TaskDeferred) as first_try:
        operator().execute({})
    with pytest.raises(TaskDeferred) as retry:
        operator().execute({})  # the job exists: wait for it instead of failing to create it again
    assert retry.value.trigger.job_name == first_try.value.trigger.job_name == name
    event = _run_trigger(retry.value.trigger)
    result = operator().execute_complete({}, event)
    assert result["Tuning"]["HyperParameterTuningJobStatus"] == "Completed"
    assert result["Tuning"]["TrainingJobStatusCounters"]["Completed"] == 2
