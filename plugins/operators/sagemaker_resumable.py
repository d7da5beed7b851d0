"""The provider's SageMaker create operators, made safe to retry.

A retried task must not start a second training job or fail because its model already exists. Resource
names are fixed per DAG run, so a retry finds what its first try created and carries on from there.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.amazon.aws.hooks.logs import AwsLogsHook
from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerEndpointConfigOperator,
    SageMakerEndpointOperator,
    SageMakerModelOperator,
    SageMakerTrainingOperator,
    SageMakerTuningOperator,
    serialize,
)
from airflow.providers.amazon.aws.triggers.sagemaker import SageMakerTrigger
from botocore.exceptions import ClientError

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
# A job in one of these states is the one a previous try started: wait for it rather than start another.
ATTACHABLE = ("InProgress", "Stopping", "Completed")
# An endpoint in one of these states is the one a previous try created: wait for it.
ENDPOINT_ATTACHABLE = ("Creating", "Updating", "SystemUpdating", "InService")
# SageMaker answers an unknown training job or model with ValidationException, an unknown tuning job
# with ResourceNotFound.
NOT_FOUND_CODES = ("ValidationException", "ResourceNotFound")


def describe_or_none(describe, name: str) -> dict | None:
    """``describe(name)``, or None when SageMaker says the resource does not exist."""
    try:
        return describe(name)
    except ClientError as error:
        if error.response["Error"]["Code"] in NOT_FOUND_CODES:
            return None
        raise


class ResumableTrainingOperator(SageMakerTrainingOperator):
    """``SageMakerTrainingOperator`` that, on a retry, attaches to the job an earlier try started.

    A job that exists and is running or completed is waited for and returned; one that failed or was
    stopped is left alone and a new job is started under a timestamped name (the provider's
    ``action_if_job_exists="timestamp"``). When the job ends, its CloudWatch log is copied into the task
    log, so ``print_log=False`` (which polls every ``check_interval`` instead of every 30 s) loses nothing.

    With ``deferrable=True`` both a new job and one an earlier try started are waited for in the
    triggerer, so a running job holds no worker slot; the log is copied when the task resumes.
    """

    def execute(self, context: Any) -> dict:
        name = self.config["TrainingJobName"]
        existing = describe_or_none(self.hook.describe_training_job, name)
        if existing and existing["TrainingJobStatus"] in ATTACHABLE:
            self.log.info(
                "Training job %s already exists (%s): waiting for it instead of starting another.",
                name,
                existing["TrainingJobStatus"],
            )
            if self.deferrable and existing["TrainingJobStatus"] != "Completed":
                self._defer_until_done(name)
            self.hook.check_status(
                name,
                "TrainingJobStatus",
                self.hook.describe_training_job,
                self.check_interval,
                self.max_ingestion_time,
            )
            result = self.serialize_result(name)
        else:
            # With deferrable=True this raises TaskDeferred; execute_complete finishes the task.
            result = super().execute(context)
        return self._with_job_log(result)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict:
        return self._with_job_log(super().execute_complete(context, event))

    def _defer_until_done(self, name: str) -> None:
        self.defer(
            trigger=SageMakerTrigger(
                job_name=name,
                job_type="Training",
                waiter_delay=self.check_interval,
                waiter_max_attempts=self.max_attempts,
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                verify=self.verify,
                botocore_config=self.botocore_config,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.max_ingestion_time) if self.max_ingestion_time else None,
        )

    def _with_job_log(self, result: dict) -> dict:
        if not self.print_log:
            self._copy_job_log(result["Training"]["TrainingJobName"])
        return result

    def _copy_job_log(self, job_name: str) -> None:
        logs = AwsLogsHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name)
        try:
            streams = logs.conn.describe_log_streams(
                logGroupName=TRAINING_LOG_GROUP, logStreamNamePrefix=f"{job_name}/"
            )["logStreams"]
            for stream in streams:
                for event in logs.get_log_events(TRAINING_LOG_GROUP, stream["logStreamName"]):
                    self.log.info("[%s] %s", stream["logStreamName"], event["message"])
        except ClientError as error:
            self.log.warning("Could not read the log of training job %s: %s", job_name, error)


class ResumableModelOperator(SageMakerModelOperator):
    """``SageMakerModelOperator`` that returns the model an earlier try created instead of failing."""

    def execute(self, context: Any) -> dict:
        existing = describe_or_none(self.hook.describe_model, self.config["ModelName"])
        if existing:
            self.log.info("Model %s already exists; reusing it.", self.config["ModelName"])
            return {"Model": serialize(existing)}
        return super().execute(context)


class ResumableEndpointConfigOperator(SageMakerEndpointConfigOperator):
    """``SageMakerEndpointConfigOperator`` that returns the config an earlier try created."""

    def execute(self, context: Any) -> dict:
        existing = describe_or_none(self.hook.describe_endpoint_config, self.config["EndpointConfigName"])
        if existing:
            self.log.info("Endpoint config %s already exists; reusing it.", self.config["EndpointConfigName"])
            return {"EndpointConfig": serialize(existing)}
        return super().execute(context)


class ResumableEndpointOperator(SageMakerEndpointOperator):
    """``SageMakerEndpointOperator`` that, on a retry, waits for the endpoint an earlier try created.

    The provider's operator answers "already existing" with UpdateEndpoint, which SageMaker refuses while
    the endpoint is still Creating and which redeploys one already InService. Here an endpoint of this
    name that is Creating, Updating or InService is waited for and returned; a Failed one fails the task
    with its FailureReason (the run's teardown deletes it).
    """

    def execute(self, context: Any) -> dict:
        name = self.config.get("Endpoint", self.config)["EndpointName"]
        existing = describe_or_none(self.hook.describe_endpoint, name)
        if existing is None:
            return super().execute(context)
        status = existing["EndpointStatus"]
        if status not in ENDPOINT_ATTACHABLE:
            raise RuntimeError(
                f"Endpoint {name} from an earlier try is {status}: "
                f"{existing.get('FailureReason', 'no reason given')}"
            )
        self.log.info("Endpoint %s already exists (%s); waiting for it instead of creating it.", name, status)
        if self.wait_for_completion:
            self.hook.get_waiter("endpoint_in_service").wait(
                EndpointName=name,
                WaiterConfig={
                    "Delay": self.check_interval,
                    "MaxAttempts": max(1, self.max_ingestion_time // self.check_interval),
                },
            )
        described = self.hook.describe_endpoint(name)
        return {
            "EndpointConfig": serialize(self.hook.describe_endpoint_config(described["EndpointConfigName"])),
            "Endpoint": serialize(described),
        }


class ResumableTuningOperator(SageMakerTuningOperator):
    """``SageMakerTuningOperator`` that, on a retry, waits for the tuning job an earlier try started.

    A tuning job that is running or completed is waited for (in the triggerer with ``deferrable=True``)
    and returned. One that failed or was stopped fails the task with its reason: tuning job names have
    no room for a new suffix, so the run has to be started again.
    """

    def execute(self, context: Any) -> dict:
        name = self.config["HyperParameterTuningJobName"]
        existing = describe_or_none(self.hook.describe_tuning_job, name)
        if existing is None:
            return super().execute(context)
        status = existing["HyperParameterTuningJobStatus"]
        if status not in ATTACHABLE:
            raise RuntimeError(
                f"Tuning job {name} from an earlier try ended {status}: "
                f"{existing.get('FailureReason', 'no reason given')}. Start a new DAG run to tune again."
            )
        self.log.info(
            "Tuning job %s already exists (%s): waiting for it instead of starting another.", name, status
        )
        if status != "Completed" and self.deferrable:
            self.defer(
                trigger=SageMakerTrigger(
                    job_name=name,
                    job_type="tuning",
                    waiter_delay=self.check_interval,
                    aws_conn_id=self.aws_conn_id,
                    region_name=self.region_name,
                    verify=self.verify,
                    botocore_config=self.botocore_config,
                ),
                method_name="execute_complete",
                timeout=timedelta(seconds=self.max_ingestion_time) if self.max_ingestion_time else None,
            )
        description = self.hook.check_status(
            name,
            "HyperParameterTuningJobStatus",
            self.hook.describe_tuning_job,
            self.check_interval,
            self.max_ingestion_time,
        )
        return {"Tuning": serialize(description)}
