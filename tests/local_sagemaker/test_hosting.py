"""Endpoints deploy models into serving containers and answer InvokeEndpoint through the engine."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from tests.support.engine import ROLE_ARN, TINY_IMAGE, deploy, in_service, train_tiny_model, wait_for


@pytest.fixture(scope="module")
def tiny_model(sagemaker, s3) -> str:
    """A model trained by the tiny algorithm on rows whose mean is (3, 4)."""
    return train_tiny_model(sagemaker, s3, "tiny-hosting-model")


def test_endpoint_lifecycle_and_invocation(sagemaker, runtime, tiny_model, unique):
    name = unique("ep-life")
    deploy(sagemaker, name, tiny_model)
    assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] in {"Creating", "InService"}
    described = in_service(sagemaker, name)
    assert described["EndpointArn"].endswith(f":endpoint/{name}")
    assert described["ProductionVariants"][0]["VariantName"] == "AllTraffic"
    assert described["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"] == TINY_IMAGE

    response = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"3,4\n6,8\n")
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert json.loads(response["Body"].read()) == {"predictions": [{"distance": 0.0}, {"distance": 5.0}]}

    with pytest.raises(ClientError, match="Cannot create already existing endpoint"):
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sagemaker.delete_endpoint(EndpointName=name)
    sagemaker.get_waiter("endpoint_deleted").wait(
        EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 10}
    )
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"3,4\n")
    assert raised.value.response["Error"]["Code"] == "ValidationError"


def test_malformed_and_oversized_payloads(sagemaker, runtime, tiny_model, unique):
    name = unique("ep-bad")
    deploy(sagemaker, name, tiny_model)
    in_service(sagemaker, name)

    with pytest.raises(runtime.exceptions.ModelError) as raised:
        runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"3,four\n")
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 400
    assert "could not convert string to float: 'four'" in error["OriginalMessage"]
    assert error["Error"]["Message"].startswith("Received client error (400) from primary with message")

    with pytest.raises(runtime.exceptions.ModelError) as raised:
        runtime.invoke_endpoint(EndpointName=name, ContentType="application/x-image", Body=b"\x89PNG")
    assert raised.value.response["OriginalStatusCode"] == 415

    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(
            EndpointName=name, ContentType="text/csv", Body=b"1,2\n" * (6 * 1024 * 1024 // 4 + 1)
        )
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert "exceeds the InvokeEndpoint limit of 6291456 bytes" in raised.value.response["Error"]["Message"]

    # The endpoint still serves after the bad requests.
    body = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"3,4\n")["Body"].read()
    assert json.loads(body) == {"predictions": [{"distance": 0.0}]}
    sagemaker.delete_endpoint(EndpointName=name)


def test_a_model_that_cannot_load_fails_the_endpoint(sagemaker, s3, unique):
    bucket = unique("broken-model")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="model.tar.gz", Body=b"this is not a tarball")
    model = unique("broken")
    sagemaker.create_model(
        ModelName=model,
        PrimaryContainer={"Image": TINY_IMAGE, "ModelDataUrl": f"s3://{bucket}/model.tar.gz"},
        ExecutionRoleArn=ROLE_ARN,
    )
    deploy(sagemaker, model, model)
    described = wait_for(
        lambda: (
            d
            if (d := sagemaker.describe_endpoint(EndpointName=model))["EndpointStatus"] != "Creating"
            else None
        )
    )
    assert described["EndpointStatus"] == "Failed"
    assert "Failed to extract model data archive" in described["FailureReason"]

    # A valid archive without the model file: the container starts, cannot load, and says why.
    import io
    import tarfile

    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("unrelated.txt")
        tar.addfile(info, io.BytesIO(b""))
    s3.put_object(Bucket=bucket, Key="empty.tar.gz", Body=archive.getvalue())
    model2 = unique("empty")
    sagemaker.create_model(
        ModelName=model2,
        PrimaryContainer={"Image": TINY_IMAGE, "ModelDataUrl": f"s3://{bucket}/empty.tar.gz"},
        ExecutionRoleArn=ROLE_ARN,
    )
    deploy(sagemaker, model2, model2)
    with pytest.raises(Exception, match="Failed"):
        in_service(sagemaker, model2)
    reason = sagemaker.describe_endpoint(EndpointName=model2)["FailureReason"]
    assert "did not pass the ping health check" in reason
    assert "mean.json" in reason
    sagemaker.delete_endpoint(EndpointName=model)
    sagemaker.delete_endpoint(EndpointName=model2)


def test_concurrent_invocations_across_variants_and_update(sagemaker, runtime, tiny_model, unique):
    name = unique("ep-conc")
    deploy(sagemaker, name, tiny_model, variants=("Blue", "Green"))
    in_service(sagemaker, name)

    def call(i: int) -> tuple[str, float]:
        response = runtime.invoke_endpoint(
            EndpointName=name, ContentType="text/csv", Body=f"{3 + i},4\n".encode()
        )
        return response["InvokedProductionVariant"], json.loads(response["Body"].read())["predictions"][0][
            "distance"
        ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, range(40)))
    assert [distance for _, distance in results] == [float(i) for i in range(40)]
    assert {variant for variant, _ in results} == {"Blue", "Green"}
    targeted = runtime.invoke_endpoint(
        EndpointName=name, ContentType="text/csv", Body=b"3,4\n", TargetVariant="Green"
    )
    assert targeted["InvokedProductionVariant"] == "Green"

    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-v2",
        ProductionVariants=[
            {
                "VariantName": "Solo",
                "ModelName": tiny_model,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=f"{name}-v2")
    with ThreadPoolExecutor(max_workers=4) as pool:  # invocations keep working during the update
        assert all(distance == 0.0 for _, distance in pool.map(lambda _: call(0), range(8)))
    described = in_service(sagemaker, name)
    wait_for(lambda: sagemaker.describe_endpoint(EndpointName=name)["EndpointConfigName"] == f"{name}-v2")
    assert [
        v["VariantName"] for v in sagemaker.describe_endpoint(EndpointName=name)["ProductionVariants"]
    ] == ["Solo"]
    assert described["EndpointStatus"] == "InService"
    assert call(0)[0] == "Solo"
    sagemaker.delete_endpoint(EndpointName=name)
