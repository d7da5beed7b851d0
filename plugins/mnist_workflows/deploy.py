"""``deploy``: serve a trained model as an endpoint for the length of a run, and always take it down."""

from __future__ import annotations

from dataclasses import dataclass

from airflow.sdk import BaseOperator, TaskGroup, task

from include.sagemaker_requests import configs
from mnist_workflows.training import CHECK_INTERVAL
from operators.sagemaker_cleanup import SageMakerCleanupOperator
from operators.sagemaker_resumable import (
    ResumableEndpointConfigOperator,
    ResumableEndpointOperator,
    ResumableModelOperator,
)


@dataclass(frozen=True)
class Deployed:
    """The tasks of one deployment: ``setups`` create the model, the endpoint config and the endpoint, in
    that order; ``teardown`` deletes them, as the teardown of those setups."""

    setups: list[BaseOperator]
    teardown: BaseOperator

    @property
    def model(self) -> BaseOperator:
        return self.setups[0]

    @property
    def endpoint(self) -> BaseOperator:
        return self.setups[-1]


@task
def deployment_requests(run: dict, train: dict, stage: str = "", params=None) -> dict:
    """CreateModel, CreateEndpointConfig and CreateEndpoint requests for the trained model."""
    prefix = f"{stage}_" if stage else ""
    return configs.deploy_requests(
        model_name=run[f"{prefix}model"],
        endpoint_config_name=run[f"{prefix}endpoint_config"],
        endpoint_name=run[f"{prefix}endpoint"],
        image=run[f"{prefix}image"],
        role_arn=run["role_arn"],
        model_data_url=train["Training"]["ModelArtifacts"]["S3ModelArtifacts"],
        instance_type=params["instance_type"],
    )


def deploy(run, train, stage: str = "") -> Deployed:
    """Deploy the model the training task ``train`` produced: requests → model → endpoint config →
    endpoint, each resumable, named in ``plan_run`` (under the keys of ``stage``, e.g. ``pca_model``).

    The teardown deletes all three whatever happened, unless the ``keep_endpoint`` param is set; wire the
    work that uses the endpoint before it (``work >> deployed.teardown``) so it waits for that work and a
    failed run still ends failed. Task ids are unprefixed (``create_model``; ``create_pca_model`` for a
    stage), so each reads as its step in the DAG's graph and logs.
    """
    prefix, suffix = (f"{stage}_", f"_{stage}") if stage else ("", "")
    with TaskGroup(group_id=f"deploy{suffix}", prefix_group_id=False, tooltip="Serve the trained model"):
        requests = deployment_requests.override(task_id=f"{prefix}deployment_requests")(
            run, train.output, stage=stage
        )
        model = ResumableModelOperator(task_id=f"create_{prefix}model", config=requests["model"])
        endpoint_config = ResumableEndpointConfigOperator(
            task_id=f"create_{prefix}endpoint_config", config=requests["endpoint_config"]
        )
        endpoint = ResumableEndpointOperator(
            task_id=f"create_{prefix}endpoint", config=requests["endpoint"], check_interval=CHECK_INTERVAL
        )
        model >> endpoint_config >> endpoint
        setups = [model, endpoint_config, endpoint]
        teardown = SageMakerCleanupOperator(
            task_id=f"teardown{suffix}",
            endpoint_name=run[f"{prefix}endpoint"],
            endpoint_config_name=run[f"{prefix}endpoint_config"],
            model_name=run[f"{prefix}model"],
            keep_endpoint="{{ params.keep_endpoint }}",
        ).as_teardown(setups=setups)
    return Deployed(setups=setups, teardown=teardown)
