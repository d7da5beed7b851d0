"""``SageMakerTransformOperator`` made safe to retry, like the operators in ``sagemaker_resumable``."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTransformOperator

from operators.sagemaker_resumable import ATTACHABLE, describe_or_none


class ResumableTransformOperator(SageMakerTransformOperator):
    """``SageMakerTransformOperator`` that, on a retry, reuses what an earlier try created.

    With ``config={"Model": ..., "Transform": ...}`` the provider would create the model under a
    timestamped name when it already exists, leaving the first one behind for nobody to delete. Here an
    existing model of that name is used as it is, and a transform job that exists and is running or
    completed is waited for and returned. A job that failed or was stopped is left alone and a new one
    starts under a timestamped name (the provider's ``action_if_job_exists="timestamp"``).
    """

    def execute(self, context: Any) -> dict:
        transform = self.config.get("Transform", self.config)
        model = self.config.get("Model")
        if model and describe_or_none(self.hook.describe_model, model["ModelName"]):
            self.log.info("Model %s already exists; reusing it.", model["ModelName"])
            self.config = {key: value for key, value in self.config.items() if key != "Model"}
        name = transform["TransformJobName"]
        existing = describe_or_none(self.hook.describe_transform_job, name)
        if existing and existing["TransformJobStatus"] in ATTACHABLE:
            self.log.info(
                "Transform job %s already exists (%s): waiting for it instead of starting another.",
                name,
                existing["TransformJobStatus"],
            )
            self.hook.check_status(
                name,
                "TransformJobStatus",
                self.hook.describe_transform_job,
                self.check_interval,
                self.max_ingestion_time,
            )
            return self.serialize_result(name)
        return super().execute(context)
