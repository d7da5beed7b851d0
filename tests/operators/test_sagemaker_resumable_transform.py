"""A retried batch transform reuses the model and the job its first try created (hook stood in for)."""

from __future__ import annotations

import pytest
from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTransformOperator
from botocore.exceptions import ClientError

from operators.sagemaker_resumable_transform import ResumableTransformOperator

MODEL = {"ModelName": "run-model", "PrimaryContainer": {"Image": "img"}, "ExecutionRoleArn": "arn:x/role"}
TRANSFORM = {"TransformJobName": "run-transform", "ModelName": "run-model"}


def _not_found(operation: str) -> ClientError:
    error = {"Error": {"Code": "ValidationException", "Message": "Requested resource not found."}}
    return ClientError(error, operation)


class FakeSageMakerHook:
    """Answers Describe* from what exists and records waits; creating anything would be a bug here."""

    def __init__(self, models: dict, jobs: dict) -> None:
        self.models, self.jobs, self.waited = models, jobs, []

    def describe_model(self, name: str) -> dict:
        if name not in self.models:
            raise _not_found("DescribeModel")
        return self.models[name]

    def describe_transform_job(self, name: str) -> dict:
        if name not in self.jobs:
            raise _not_found("DescribeTransformJob")
        return self.jobs[name]

    def check_status(self, name, key, describe, interval, max_time):
        self.waited.append(name)
        return describe(name)


def _operator(hook: FakeSageMakerHook) -> ResumableTransformOperator:
    operator = ResumableTransformOperator(
        task_id="batch_transform", config={"Model": dict(MODEL), "Transform": dict(TRANSFORM)}
    )
    operator.__dict__["hook"] = hook  # the cached hook property, as a retry would find it
    return operator


def test_a_retry_waits_for_the_job_its_first_try_started() -> None:
    job = {**TRANSFORM, "TransformJobStatus": "InProgress"}
    hook = FakeSageMakerHook({"run-model": MODEL}, {"run-transform": job})
    result = _operator(hook).execute({})
    assert hook.waited == ["run-transform"]
    assert result["Transform"]["TransformJobName"] == "run-transform"
    assert result["Model"]["ModelName"] == "run-model"


def test_an_existing_model_is_reused_instead_of_created_under_a_new_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = []
    monkeypatch.setattr(
        SageMakerTransformOperator, "execute", lambda self, context: started.append(self.config)
    )
    hook = FakeSageMakerHook({"run-model": MODEL}, {})
    _operator(hook).execute({})
    assert started == [{"Transform": TRANSFORM}]


@pytest.mark.parametrize("status", ["Failed", "Stopped"])
def test_a_failed_job_is_not_attached_to(monkeypatch: pytest.MonkeyPatch, status: str) -> None:
    started = []
    monkeypatch.setattr(
        SageMakerTransformOperator, "execute", lambda self, context: started.append(self.config)
    )
    hook = FakeSageMakerHook({}, {"run-transform": {**TRANSFORM, "TransformJobStatus": status}})
    _operator(hook).execute({})
    assert hook.waited == []
    assert started == [{"Model": MODEL, "Transform": TRANSFORM}]
