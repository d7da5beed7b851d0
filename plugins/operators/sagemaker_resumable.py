"""The provider's SageMaker create operators, made safe to retry (see :class:`operators.resumable.Resumable`).

A retried task must not start a second training job or fail because its model already exists. Resource
names are fixed per DAG run, so a retry finds what its first try created and carries on from there.
"""

from __future__ import annotations

import time
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
    SageMakerTransformOperator,
    SageMakerTuningOperator,
    serialize,
)
from botocore.exceptions import ClientError

from operators.resumable import ENDPOINT_RUNNING, Resumable
from operators.sagemaker_errors import describe_or_none


class ResumableTrainingOperator(Resumable, SageMakerTrainingOperator):
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

    kind = "training job"
    name_key = "TrainingJobName"
    describe = "describe_training_job"
    status_key = "TrainingJobStatus"
    trigger_type = "Training"
    replace_failed = True

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict:
        # The job's log first, so that a failed job's lines are in the task log above the failure.
        if self.print_log and event and event.get("job_name"):
            self._log_new_lines(event["job_name"], {})
        return super().execute_complete(context, event)

    def _result(self, name: str) -> dict:
        return self.serialize_result(name)

    def _poll(self, name: str) -> None:
        self._log_positions: dict = {}
        super()._poll(name)

    def _on_poll(self, name: str, description: dict, previous: dict | None) -> None:
        """Log the job's new status transitions and (with ``print_log``) its new log lines."""
        if secondary_training_status_changed(description, previous):
            self.log.info("%s", secondary_training_status_message(description, previous))
        if self.print_log:
            self._log_new_lines(name, self._log_positions, description)

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


class ResumableTransformOperator(Resumable, SageMakerTransformOperator):
    """``SageMakerTransformOperator`` that, on a retry, reuses what an earlier try created.

    With ``config={"Model": ..., "Transform": ...}`` the provider would create the model under a
    timestamped name when it already exists, leaving the first one behind for nobody to delete. Here an
    existing model of that name is used as it is, and a transform job that exists and is running or
    completed is waited for and returned. A job that failed or was stopped is left alone and a new one
    starts under a timestamped name (the provider's ``action_if_job_exists="timestamp"``).
    """

    kind = "transform job"
    name_key = "TransformJobName"
    section = "Transform"
    describe = "describe_transform_job"
    status_key = "TransformJobStatus"
    trigger_type = "Transform"
    replace_failed = True

    def execute(self, context: Any) -> dict:
        model = self.config.get("Model")
        if model and describe_or_none(self.hook.describe_model, model["ModelName"]):
            self.log.info("Model %s already exists; reusing it.", model["ModelName"])
            self.config = {key: value for key, value in self.config.items() if key != "Model"}
        return super().execute(context)

    def _result(self, name: str) -> dict:
        return self.serialize_result(name)


class ResumableModelOperator(Resumable, SageMakerModelOperator):
    """``SageMakerModelOperator`` that returns the model an earlier try created instead of failing."""

    kind = "model"
    name_key = "ModelName"
    describe = "describe_model"
    result_key = "Model"


class ResumableEndpointConfigOperator(Resumable, SageMakerEndpointConfigOperator):
    """``SageMakerEndpointConfigOperator`` that returns the config an earlier try created."""

    kind = "endpoint config"
    name_key = "EndpointConfigName"
    describe = "describe_endpoint_config"
    result_key = "EndpointConfig"


class ResumableEndpointOperator(Resumable, SageMakerEndpointOperator):
    """``SageMakerEndpointOperator`` that, on a retry, waits for the endpoint an earlier try created.

    The provider's operator answers "already existing" with UpdateEndpoint, which SageMaker refuses while
    the endpoint is still Creating and which redeploys one already InService. Here an endpoint of this
    name that is Creating, Updating or InService is waited for and returned; a Failed one fails the task
    with its FailureReason (the run's teardown deletes it).
    """

    kind = "endpoint"
    name_key = "EndpointName"
    section = "Endpoint"
    describe = "describe_endpoint"
    status_key = "EndpointStatus"
    running = ENDPOINT_RUNNING
    done = "InService"
    trigger_type = "endpoint"

    def _result(self, name: str) -> dict:
        described = self.hook.describe_endpoint(name)
        return {
            "EndpointConfig": serialize(self.hook.describe_endpoint_config(described["EndpointConfigName"])),
            "Endpoint": serialize(described),
        }


class ResumableTuningOperator(Resumable, SageMakerTuningOperator):
    """``SageMakerTuningOperator`` that, on a retry, waits for the tuning job an earlier try started.

    A tuning job that is running or completed is waited for (in the triggerer with ``deferrable=True``)
    and returned. One that failed or was stopped fails the task with its reason: tuning job names have
    no room for a new suffix, so the run has to be started again.
    """

    kind = "tuning job"
    name_key = "HyperParameterTuningJobName"
    describe = "describe_tuning_job"
    status_key = "HyperParameterTuningJobStatus"
    trigger_type = "tuning"
    result_key = "Tuning"
