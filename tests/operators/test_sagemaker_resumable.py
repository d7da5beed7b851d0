"""The resumable SageMaker operators against the local engine: a second try attaches to what the first
created rather than creating it again, waits the same way (deferred or not) in every operator, and fails
without a retry where a retry cannot help."""

from __future__ import annotations

import pytest
from airflow.providers.amazon.aws.triggers.sagemaker import SageMakerTrigger
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from operators.sagemaker_resumable import (
    ResumableEndpointConfigOperator,
    ResumableEndpointOperator,
    ResumableModelOperator,
    ResumableTrainingOperator,
    ResumableTransformOperator,
)
from tests.support.engine import register_tiny_algorithm, train_tiny_model

pytestmark = pytest.mark.slow

JOB_PENDING = ("InProgress", "Stopping")


def _transform_request(name: str, model: str, bucket: str, output_bucket: str | None = None) -> dict:
    return {
        "TransformJobName": name,
        "ModelName": model,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/batch/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": f"s3://{output_bucket or bucket}/transform/{name}"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }


def _transform(config: dict, **kwargs) -> ResumableTransformOperator:
    return ResumableTransformOperator(task_id="transform", config=config, check_interval=1, **kwargs)


def _names(listing: dict, summaries: str, key: str) -> list[str]:
    return sorted(item[key] for item in listing[summaries])


class TestTraining:
    def test_a_retry_attaches_to_the_job_its_first_try_started(
        self, aws_connection, sagemaker, training_request, unique
    ) -> None:
        name = unique("train-retry")
        sagemaker.create_training_job(**training_request(name, k="2"))  # what the first try left running
        operator = ResumableTrainingOperator(
            task_id="train", config=training_request(name, k="2"), check_interval=1, print_log=False
        )
        result = operator.execute({})
        assert result["Training"]["TrainingJobName"] == name
        assert result["Training"]["TrainingJobStatus"] == "Completed"
        jobs = sagemaker.list_training_jobs(NameContains=name)
        assert _names(jobs, "TrainingJobSummaries", "TrainingJobName") == [name]

    def test_a_failed_job_fails_the_task_naming_its_reason(
        self, aws_connection, sagemaker, training_request, unique
    ) -> None:
        name = unique("train-bad")
        operator = ResumableTrainingOperator(
            task_id="train", config=training_request(name), check_interval=1, print_log=False
        )  # k is missing: SageMaker accepts the request and the algorithm fails the job
        with pytest.raises(AirflowFailException) as failed:
            operator.execute({})
        reason = sagemaker.describe_training_job(TrainingJobName=name)["FailureReason"]
        assert "'k'" in reason
        assert f"SageMaker resource failed because {reason}" in str(failed.value)

    def test_a_request_sagemaker_refuses_fails_the_task_without_a_retry(
        self, aws_connection, training_request, unique
    ) -> None:
        config = training_request(unique("train-refused"), k="2")
        config["ResourceConfig"]["InstanceCount"] = 0  # below the service model's minimum of 1
        operator = ResumableTrainingOperator(task_id="train", config=config, check_interval=1)
        with pytest.raises(AirflowFailException, match="SageMaker refused to create training job"):
            operator.execute({})


class TestTransform:
    def test_a_retry_waits_for_the_job_its_first_try_started(
        self, aws_connection, sagemaker, model_request, data_bucket, unique
    ) -> None:
        model, name = unique("tf-model"), unique("tf-retry")
        sagemaker.create_model(**model_request(model))
        sagemaker.create_transform_job(**_transform_request(name, model, data_bucket))
        config = {"Model": model_request(model), "Transform": _transform_request(name, model, data_bucket)}
        result = _transform(config).execute({})
        assert result["Transform"]["TransformJobName"] == name
        assert result["Transform"]["TransformJobStatus"] == "Completed"
        assert result["Model"]["ModelName"] == model
        jobs = sagemaker.list_transform_jobs(NameContains=name)
        assert _names(jobs, "TransformJobSummaries", "TransformJobName") == [name]

    def test_an_existing_model_is_reused_instead_of_created_under_a_new_name(
        self, aws_connection, sagemaker, model_request, data_bucket, unique
    ) -> None:
        model, name = unique("tf-reuse"), unique("tf-new")
        sagemaker.create_model(**model_request(model))
        config = {"Model": model_request(model), "Transform": _transform_request(name, model, data_bucket)}
        result = _transform(config).execute({})
        assert result["Transform"]["TransformJobStatus"] == "Completed"
        assert _names(sagemaker.list_models(NameContains=model), "Models", "ModelName") == [model]

    def test_a_failed_job_is_left_and_a_new_one_started(
        self, wait_until, aws_connection, sagemaker, model_request, data_bucket, unique
    ) -> None:
        model, name = unique("tf-again"), unique("tf-failed")
        sagemaker.create_model(**model_request(model))
        # The first try's job wrote to a bucket that does not exist, and failed.
        sagemaker.create_transform_job(**_transform_request(name, model, data_bucket, "no-such-bucket"))
        failed = wait_until(
            lambda: sagemaker.describe_transform_job(TransformJobName=name), "TransformJobStatus", JOB_PENDING
        )
        assert failed["TransformJobStatus"] == "Failed"
        result = _transform({"Transform": _transform_request(name, model, data_bucket)}).execute({})
        assert result["Transform"]["TransformJobName"].startswith(f"{name}-")
        assert result["Transform"]["TransformJobStatus"] == "Completed"

    def test_a_deferrable_retry_defers_to_the_running_job(
        self, wait_until, aws_connection, sagemaker, model_request, data_bucket, unique
    ) -> None:
        model, name = unique("tf-defer"), unique("tf-deferred")
        sagemaker.create_model(**model_request(model))
        sagemaker.create_transform_job(**_transform_request(name, model, data_bucket))
        operator = _transform({"Transform": _transform_request(name, model, data_bucket)}, deferrable=True)
        with pytest.raises(TaskDeferred) as deferred:  # the job's model server is still starting
            operator.execute({})
        assert isinstance(deferred.value.trigger, SageMakerTrigger)
        assert deferred.value.trigger.job_name == name
        assert deferred.value.method_name == "execute_complete"
        event = {"status": "success", "job_name": name}
        wait_until(
            lambda: sagemaker.describe_transform_job(TransformJobName=name), "TransformJobStatus", JOB_PENDING
        )
        assert operator.execute_complete({}, event)["Transform"]["TransformJobName"] == name


class TestDeploy:
    def test_model_and_endpoint_config_are_created_once(
        self, endpoint_config_request, aws_connection, sagemaker, model_request, unique
    ) -> None:
        model, config = unique("dp-model"), unique("dp-config")
        first = ResumableModelOperator(task_id="create_model", config=model_request(model)).execute({})
        again = ResumableModelOperator(task_id="create_model", config=model_request(model)).execute({})
        assert first["Model"]["ModelName"] == again["Model"]["ModelName"] == model
        assert first["Model"]["CreationTime"] == again["Model"]["CreationTime"]
        request = endpoint_config_request(config, model)
        made = ResumableEndpointConfigOperator(task_id="create_config", config=request).execute({})
        reused = ResumableEndpointConfigOperator(task_id="create_config", config=dict(request)).execute({})
        assert made["EndpointConfig"]["EndpointConfigName"] == reused["EndpointConfig"]["EndpointConfigName"]
        assert made["EndpointConfig"]["CreationTime"] == reused["EndpointConfig"]["CreationTime"]

    def test_a_retried_endpoint_waits_for_the_one_its_first_try_created(
        self, endpoint_config_request, aws_connection, sagemaker, model_request, unique
    ) -> None:
        name = unique("dp-endpoint")
        sagemaker.create_model(**model_request(name))
        sagemaker.create_endpoint_config(**endpoint_config_request(name, name))
        request = {"EndpointName": name, "EndpointConfigName": name}

        def operator(**kwargs) -> ResumableEndpointOperator:
            return ResumableEndpointOperator(
                task_id="create_endpoint", config=dict(request), check_interval=1, **kwargs
            )

        first = operator().execute({})
        assert first["Endpoint"]["EndpointStatus"] == "InService"
        retried = operator().execute({})  # no UpdateEndpoint: the endpoint is returned as it is
        assert retried["Endpoint"]["EndpointName"] == name
        assert retried["Endpoint"]["LastModifiedTime"] == first["Endpoint"]["LastModifiedTime"]
        assert retried["EndpointConfig"]["EndpointConfigName"] == name
        sagemaker.delete_endpoint(EndpointName=name)

    def test_a_deferrable_endpoint_defers_whether_new_or_retried(
        self, endpoint_config_request, wait_until, aws_connection, sagemaker, s3_client, unique
    ) -> None:
        name = unique("dp-deferred")
        # A model that takes 5 s to load keeps the endpoint Creating while the task is retried.
        register_tiny_algorithm()
        train_tiny_model(sagemaker, s3_client, name, {"TINY_LOAD_SECONDS": "5"})
        sagemaker.create_endpoint_config(**endpoint_config_request(name, name))
        request = {"EndpointName": name, "EndpointConfigName": name}

        def operator() -> ResumableEndpointOperator:
            return ResumableEndpointOperator(
                task_id="create_endpoint", config=dict(request), check_interval=1, deferrable=True
            )

        with pytest.raises(TaskDeferred) as new:
            operator().execute({})
        assert new.value.trigger.job_name == name
        assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Creating"
        with pytest.raises(TaskDeferred) as retried:  # a retry while it is still coming up defers to it
            operator().execute({})
        assert retried.value.trigger.job_name == name
        wait_until(lambda: sagemaker.describe_endpoint(EndpointName=name), "EndpointStatus", ("Creating",))
        result = operator().execute_complete({}, {"status": "success", "job_name": name})
        assert result["Endpoint"]["EndpointStatus"] == "InService"
        sagemaker.delete_endpoint(EndpointName=name)

    def test_an_endpoint_that_failed_fails_the_task_naming_its_reason(
        self, endpoint_config_request, aws_connection, sagemaker, model_request, model_artifact, unique
    ) -> None:
        name = unique("dp-failed")
        sagemaker.create_model(**model_request(name, artifact=model_artifact + ".gone"))
        sagemaker.create_endpoint_config(**endpoint_config_request(name, name))
        request = {"EndpointName": name, "EndpointConfigName": name}
        operator = ResumableEndpointOperator(task_id="create_endpoint", config=request, check_interval=1)
        with pytest.raises(AirflowFailException) as first_try:
            operator.execute({})
        reason = sagemaker.describe_endpoint(EndpointName=name)["FailureReason"]
        assert reason in str(first_try.value)
        retry = ResumableEndpointOperator(task_id="create_endpoint", config=dict(request), check_interval=1)
        with pytest.raises(AirflowFailException, match="from an earlier try is Failed") as second_try:
            retry.execute({})
        assert reason in str(second_try.value)
        sagemaker.delete_endpoint(EndpointName=name)
