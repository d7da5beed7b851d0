"""The SageMaker Python SDK v3's own workflow against the local engine, with role validation on.

``ModelTrainer`` trains the built-in k-means on a local CSV file (the SDK uploads it), then the
``sagemaker.core`` resources create a ``Model``, an ``EndpointConfig`` and an ``Endpoint``, ``invoke`` it
and delete all three. Run by ``test_sdk_v3.py`` with the SDK's own virtualenv (``make sdk3``), boto3 sent
to the engine by ``AWS_ENDPOINT_URL`` and dummy credentials; it imports nothing from this project.

Usage: ``python sdk_v3_workflow.py REPORT.json``. What each step saw is written to REPORT.json as soon
as the step ends, so a failure shows how far the workflow got; the test asserts on it.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from sagemaker.core.helper.iam_role_resolver import RoleValidationError
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.resources import Endpoint, EndpointConfig, Model
from sagemaker.core.shapes import ContainerDefinition, ProductionVariant
from sagemaker.train import ModelTrainer
from sagemaker.train.configs import Compute, InputData, StoppingCondition

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
KMEANS = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
BUCKET = "sdk-v3-workflow"
CENTRES = [(0.0, 0.0), (10.0, 10.0), (-10.0, 10.0)]
# Twelve points around each centre, spread on a small square, the centres taking turns (k-means seeds
# its centres from the first mini-batch, which should see every cluster, as unsorted data does).
OFFSETS = [(dx / 10, dy / 10) for dx in (-3, -1, 1, 3) for dy in (-2, 0, 2)]


def training_rows() -> str:
    return "".join(f"{x + dx:.2f},{y + dy:.2f}\n" for dx, dy in OFFSETS for x, y in CENTRES)


def main(report_path: Path) -> None:
    report: dict[str, dict] = {}

    def record(step: str, **facts) -> None:
        report[step] = facts
        report_path.write_text(json.dumps(report, indent=2, default=str))

    # The SDK names its default bucket after sts:GetCallerIdentity sent to sts.<region>.amazonaws.com,
    # whatever AWS_ENDPOINT_URL says; naming the bucket keeps every call at the engine.
    session = Session(default_bucket=BUCKET)

    # Role validation (iam:SimulatePrincipalPolicy, then the role's trust policy by iam:GetRole) refuses
    # a role the account does not have...
    try:
        ModelTrainer(
            sagemaker_session=session, role="arn:aws:iam::999999999999:role/Elsewhere", training_image=KMEANS
        )
        record("foreign_role", refused=False)
    except RoleValidationError as refused:
        record("foreign_role", refused=True, message=str(refused).splitlines()[0])

    # ...and accepts the local account's.
    trainer = ModelTrainer(
        sagemaker_session=session,
        role=ROLE,
        training_image=KMEANS,
        base_job_name="sdk-v3-kmeans",
        compute=Compute(instance_type="ml.m5.large", instance_count=1),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=600),
        hyperparameters={"k": 3, "feature_dim": 2, "mini_batch_size": 12},
    )
    record("trainer", role=trainer.role, output_path=trainer.output_data_config.s3_output_path)

    with tempfile.TemporaryDirectory() as data:  # the SDK uploads it to S3 before the job starts
        (Path(data) / "train.csv").write_text(training_rows())
        trainer.train(
            input_data_config=[
                InputData(channel_name="train", data_source=data, content_type="text/csv;label_size=0")
            ],
            logs=True,
        )
    job = trainer._latest_training_job  # ModelTrainer's documented handle on the job it ran
    record(
        "train",
        name=job.training_job_name,
        status=job.training_job_status,
        channel=job.input_data_config[0].data_source.s3_data_source.s3_uri,
        artifact=job.model_artifacts.s3_model_artifacts,
    )

    name, artifact = job.training_job_name, job.model_artifacts.s3_model_artifacts
    model = Model.create(
        model_name=name,
        primary_container=ContainerDefinition(image=KMEANS, model_data_url=artifact),
        execution_role_arn=ROLE,
    )
    record("model", arn=model.model_arn)

    config = EndpointConfig.create(
        endpoint_config_name=name,
        production_variants=[
            ProductionVariant(
                variant_name="AllTraffic",
                model_name=name,
                initial_instance_count=1,
                instance_type="ml.m5.large",
            )
        ],
    )
    record("endpoint_config", arn=config.endpoint_config_arn)

    endpoint = Endpoint.create(endpoint_name=name, endpoint_config_name=name)
    endpoint.wait_for_status("InService", poll=1, timeout=180)
    record("endpoint", status=endpoint.endpoint_status, arn=endpoint.endpoint_arn)

    body = "".join(f"{x},{y}\n" for x, y in CENTRES)
    answer = endpoint.invoke(body=body, content_type="text/csv", accept="application/json")
    record(
        "invoke",
        variant=answer.invoked_production_variant,
        content_type=answer.content_type,
        predictions=json.loads(answer.body.read())["predictions"],
    )

    endpoint.delete()
    endpoint.wait_for_delete(poll=1, timeout=60)
    config.delete()
    model.delete()
    record("delete", endpoint=name, endpoint_config=name, model=name)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
