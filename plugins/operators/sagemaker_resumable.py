"""The provider's SageMaker create operators, made safe to retry.

A retried task must not start a second training job or fail because its model already exists. Resource
names are fixed per DAG run, so a retry finds what its first try created and carries on from there.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.hooks.logs import AwsLogsHook
from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerEndpointConfigOperator,
    SageMakerModelOperator,
    SageMakerTrainingOperator,
    serialize,
)
from botocore.exceptions import ClientError

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
# A job in one of these states is the one a previous try started: wait for it rather than start another.
ATTACHABLE = ("InProgress", "Stopping", "Completed")


def describe_or_none(describe, name: str) -> dict | None:
    """``describe(name)``, or None when SageMaker says the resource does not exist."""
    try:
        return describe(name)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ValidationException":
            return None
        raise


class ResumableTrainingOperator(SageMakerTrainingOperator):
    """``SageMakerTrainingOperator`` that, on a retry, attaches to the job an earlier try started.

    A job that exists and is running or completed is waited for and returned; one that failed or was
    stopped is left alone and a new job is started under a timestamped name (the provider's
    ``action_if_job_exists="timestamp"``). When the job ends, its CloudWatch log is copied into the task
    log, so ``print_log=False`` (which polls every ``check_interval`` instead of every 30 s) loses nothing.
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
            self.hook.check_status(
                name,
                "TrainingJobStatus",
                self.hook.describe_training_job,
                self.check_interval,
                self.max_ingestion_time,
            )
            result = self.serialize_result(name)
        else:
            result = super().execute(context)
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
