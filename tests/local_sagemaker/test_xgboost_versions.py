"""The XGBoost image's tag reaches the algorithm through the engine: in the training container (validation)
and in the serving container (how answers are written). The per-version facts themselves are tested in
``algorithms/test_xgboost.py``."""

from __future__ import annotations

from include.sagemaker_requests.image_uris import image_uri
from tests.support.engine import ROLE_ARN, tiny_training_job, wait_for_job

LEGACY_IMAGE = image_uri("xgboost", "us-east-1", "1")
CURRENT_IMAGE = image_uri("xgboost", "us-east-1", "1.7-1")
ROWS = b"1,0.5,0.2\n0,0.1,0.9\n1,0.6,0.1\n0,0.2,0.8\n"


def _train(sagemaker, name: str, bucket: str, image: str) -> dict:
    request = tiny_training_job(
        name, bucket, {"num_round": "2", "silent": "1", "objective": "binary:logistic"}
    )
    request["AlgorithmSpecification"]["TrainingImage"] = image
    sagemaker.create_training_job(**request)
    return wait_for_job(sagemaker, name)


def test_legacy_image_takes_silent_and_answers_comma_joined(sagemaker, s3, runtime, unique):
    bucket = unique("xgb-versions")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="train/rows.csv", Body=ROWS)

    current = _train(sagemaker, unique("xgb-current"), bucket, CURRENT_IMAGE)
    assert current["TrainingJobStatus"] == "Failed"
    assert current["FailureReason"] == "ClientError: Extraneous hyperparameter found: silent"

    legacy = _train(sagemaker, unique("xgb-legacy"), bucket, LEGACY_IMAGE)
    assert legacy["TrainingJobStatus"] == "Completed", legacy.get("FailureReason")

    name = unique("xgb-legacy-endpoint")
    sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={
            "Image": LEGACY_IMAGE,
            "ModelDataUrl": legacy["ModelArtifacts"]["S3ModelArtifacts"],
        },
        ExecutionRoleArn=ROLE_ARN,
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    try:
        sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        response = runtime.invoke_endpoint(
            EndpointName=name, ContentType="text/csv", Accept="application/json", Body=b"0.5,0.2\n0.1,0.9\n"
        )
        answer = response["Body"].read().decode()
        assert response["ContentType"] == "text/csv"  # the legacy image does not read Accept
        assert "\n" not in answer
        assert len([float(value) for value in answer.split(",")]) == 2
    finally:
        sagemaker.delete_endpoint(EndpointName=name)
        sagemaker.delete_endpoint_config(EndpointConfigName=name)
        sagemaker.delete_model(ModelName=name)
