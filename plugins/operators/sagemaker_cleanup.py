"""``SageMakerCleanupOperator``: delete the endpoint, endpoint config and model a run created."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError

from operators.sagemaker_errors import is_not_found


class SageMakerCleanupOperator(AwsBaseOperator[SageMakerHook]):
    """Delete a run's endpoint, then its endpoint config, then its model — whichever of them exist.

    Meant as the teardown task of a DAG (``.as_teardown(setups=...)``): it runs whether the work
    succeeded or failed, a resource that is already gone is not an error, and one failed deletion does
    not stop the others (the task fails at the end, naming every resource it could not delete).

    :param endpoint_name: endpoint to delete (waits until it is gone, so its config can go too).
    :param endpoint_config_name: endpoint config to delete.
    :param model_name: model to delete.
    :param keep_endpoint: leave the endpoint, its config and its model in place (e.g. to serve the model
        after the run); a templated ``"True"``/``"False"`` string is accepted.
    """

    aws_hook_class = SageMakerHook
    template_fields: Sequence[str] = aws_template_fields(
        "endpoint_name", "endpoint_config_name", "model_name", "keep_endpoint"
    )
    ui_color = "#f8d7d3"

    def __init__(
        self,
        *,
        endpoint_name: str | None = None,
        endpoint_config_name: str | None = None,
        model_name: str | None = None,
        keep_endpoint: bool | str = False,
        check_interval: int = 5,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.endpoint_name = endpoint_name
        self.endpoint_config_name = endpoint_config_name
        self.model_name = model_name
        self.keep_endpoint = keep_endpoint
        self.check_interval = check_interval

    def execute(self, context: Any) -> dict[str, list[str]]:
        if str(self.keep_endpoint).lower() == "true":
            self.log.info("keep_endpoint is set: leaving %s in service.", self.endpoint_name)
            return {"deleted": [], "missing": [], "kept": [self.endpoint_name or ""]}
        client = self.hook.conn
        steps = [
            ("endpoint", self.endpoint_name, lambda n: self._delete_endpoint(n)),
            (
                "endpoint config",
                self.endpoint_config_name,
                lambda n: client.delete_endpoint_config(EndpointConfigName=n),
            ),
            ("model", self.model_name, lambda n: client.delete_model(ModelName=n)),
        ]
        deleted, missing, failed = [], [], []
        for kind, name, delete in steps:
            if not name:
                continue
            try:
                delete(name)
                deleted.append(name)
                self.log.info("Deleted %s %s.", kind, name)
            except ClientError as error:
                if is_not_found(error):
                    missing.append(name)
                    self.log.info("%s %s does not exist; nothing to delete.", kind.capitalize(), name)
                else:
                    failed.append(f"{kind} {name}: {error}")
        if failed:
            raise AirflowException("Could not delete " + "; ".join(failed))
        return {"deleted": deleted, "missing": missing, "kept": []}

    def _delete_endpoint(self, name: str) -> None:
        self.hook.conn.delete_endpoint(EndpointName=name)
        waiter = self.hook.conn.get_waiter("endpoint_deleted")
        waiter.wait(EndpointName=name, WaiterConfig={"Delay": self.check_interval, "MaxAttempts": 120})
