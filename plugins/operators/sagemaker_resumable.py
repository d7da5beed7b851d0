"""The provider's SageMaker create operators, made safe to retry.

A retried task must not start a second training job or fail because its model already exists. Resource
names are fixed per DAG run, so a retry finds what its first try created and carries on from there.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from airflow.providers.amazon.aws.hooks.sagemaker import (
    LogState,
    secondary_training_status_changed,
    secondary_training_status_message,
)
from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerEndpointConfigOperator,
    SageMakerEndpointOperator,
    SageMakerModelOperator,
    SageMakerTrainingOperator,
    SageMakerTuningOperator,
    serialize,
)
from airflow.providers.amazon.aws.triggers.sagemaker import SageMakerTrigger
from airflow.providers.common.compat.sdk import AirflowException
from botocore.exceptions import ClientError

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
    """``SageMakerTrainingOperator`` that, on a retry, attaches to the job an earlier try started, and
    streams the job's CloudWatch log into the task log at ``check_interval``.

    A job that exists and is running or completed is waited for and returned; one that failed or was
    stopped is left alone and a new job is started under a timestamped name (the provider's
    ``action_if_job_exists="timestamp"``).

    The wait describes the job every ``check_interval`` seconds and, with ``print_log=True``, then logs
    the lines its containers wrote since the previous poll (the provider's own log tail describes the job
    at most every 30 s, whatever ``check_interval`` is). With ``deferrable=True`` both a new job and one an
    earlier try started are waited for in the triggerer, so a running job holds no worker slot; the log is
    written to the task log when the task resumes.
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
        else:
            name = self._start_job(context)
        if not self.wait_for_completion:
            return self.serialize_result(name)
        if self.deferrable and self.hook.describe_training_job(name)["TrainingJobStatus"] != "Completed":
            self._defer_until_done(name)
        self._wait_with_log(name)
        return self.serialize_result(name)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict:
        # The job's log first, so that a failed job's lines are in the task log above the failure.
        if self.print_log and event and event.get("job_name"):
            self._log_new_lines(event["job_name"], {})
        return super().execute_complete(context, event)

    def _start_job(self, context: Any) -> str:
        """The provider's ``execute`` up to CreateTrainingJob (config checks, S3 set-up, a unique name),
        without its wait; returns the job's name."""
        # With print_log=True the provider's create reads the log once after a check_interval sleep, even
        # when it does not wait.
        settings = self.wait_for_completion, self.deferrable, self.print_log
        self.wait_for_completion = self.deferrable = self.print_log = False
        try:
            super().execute(context)
        finally:
            self.wait_for_completion, self.deferrable, self.print_log = settings
        return self.config["TrainingJobName"]

    def _wait_with_log(self, name: str) -> None:
        """Describe the job every ``check_interval`` seconds until it ends, each time logging its new status
        transitions and (with ``print_log``) its new log lines; fail the task if it failed or was stopped."""
        positions: dict = {}
        previous = None
        waited = 0
        while True:
            description = self.hook.describe_training_job(name)
            if secondary_training_status_changed(description, previous):
                self.log.info("%s", secondary_training_status_message(description, previous))
            previous = description
            if self.print_log:
                self._log_new_lines(name, positions, description)
            status = description["TrainingJobStatus"]
            if status not in self.hook.non_terminal_states:
                break
            if self.max_ingestion_time and waited > self.max_ingestion_time:
                raise AirflowException(f"SageMaker job took more than {self.max_ingestion_time} seconds")
            time.sleep(self.check_interval)
            waited += self.check_interval
        if status in self.hook.training_failed_states:
            reason = description.get("FailureReason") or f"the job ended {status}"
            raise AirflowException(f"SageMaker resource failed because {reason}")

    def _log_new_lines(self, name: str, positions: dict, description: dict | None = None) -> None:
        """Log the job's CloudWatch lines after ``positions`` (stream name -> the provider's ``Position``,
        updated here), finding the job's streams until there is one per instance.

        The provider's ``describe_training_job_with_log`` in its final state does exactly this read, without
        describing the job again."""
        description = description or self.hook.describe_training_job(name)
        try:
            self.hook.describe_training_job_with_log(
                name,
                positions,
                list(positions),
                description["ResourceConfig"]["InstanceCount"],
                LogState.COMPLETE,
                description,
                time.monotonic(),
            )
        except ClientError as error:
            self.log.warning("Could not read the log of training job %s: %s", name, error)

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
