"""SageMakerCleanupOperator against the local engine: it deletes the endpoint, its config and its model,
takes what is already gone as done, and keeps them all when asked to."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from operators.sagemaker_cleanup import SageMakerCleanupOperator

pytestmark = pytest.mark.slow


@pytest.fixture
def deployed(sagemaker, model_request, endpoint_config_request, unique) -> str:
    """An InService endpoint, its endpoint config and its model, all named alike."""
    name = unique("cleanup")
    sagemaker.create_model(**model_request(name))
    sagemaker.create_endpoint_config(**endpoint_config_request(name, name))
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sagemaker.get_waiter("endpoint_in_service").wait(
        EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    return name


def _cleanup(name: str, **kwargs) -> SageMakerCleanupOperator:
    return SageMakerCleanupOperator(
        task_id="teardown",
        endpoint_name=name,
        endpoint_config_name=name,
        model_name=name,
        check_interval=1,
        **kwargs,
    )


def _exists(describe, **name: str) -> bool:
    try:
        describe(**name)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ValidationException":
            return False
        raise
    return True


def test_it_deletes_the_endpoint_its_config_and_its_model(aws_connection, sagemaker, deployed) -> None:
    result = _cleanup(deployed).execute({})
    assert result == {"deleted": [deployed] * 3, "missing": [], "kept": []}
    assert not _exists(sagemaker.describe_endpoint, EndpointName=deployed)
    assert not _exists(sagemaker.describe_endpoint_config, EndpointConfigName=deployed)
    assert not _exists(sagemaker.describe_model, ModelName=deployed)


def test_what_is_already_gone_is_not_an_error(aws_connection, sagemaker, deployed) -> None:
    _cleanup(deployed).execute({})
    assert _cleanup(deployed).execute({}) == {"deleted": [], "missing": [deployed] * 3, "kept": []}


def test_only_the_resources_it_is_given_are_deleted(aws_connection, sagemaker, deployed) -> None:
    result = SageMakerCleanupOperator(task_id="teardown", model_name=deployed).execute({})
    assert result == {"deleted": [deployed], "missing": [], "kept": []}
    assert _exists(sagemaker.describe_endpoint, EndpointName=deployed)
    _cleanup(deployed).execute({})


@pytest.mark.parametrize("keep", [True, "True", "true"])
def test_keep_endpoint_leaves_everything_in_service(aws_connection, sagemaker, deployed, keep) -> None:
    result = _cleanup(deployed, keep_endpoint=keep).execute({})
    assert result == {"deleted": [], "missing": [], "kept": [deployed]}
    assert sagemaker.describe_endpoint(EndpointName=deployed)["EndpointStatus"] == "InService"
    assert _exists(sagemaker.describe_model, ModelName=deployed)
    _cleanup(deployed).execute({})
