"""Fixtures for operator tests against the local SageMaker engine: clients, names, a k-means model."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import boto3
import numpy as np
import pytest
from botocore.config import Config

ROLE_ARN = "arn:aws:iam::123456789012:role/SageMakerRole"
KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
DATA_BUCKET = "operator-tests"
CSV = "text/csv;label_size=0"


def _client(endpoint_url: str, service: str):
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )


@pytest.fixture(scope="session")
def sagemaker(s3_endpoint: str):
    return _client(s3_endpoint, "sagemaker")


@pytest.fixture(scope="session")
def s3_client(s3_endpoint: str):
    return _client(s3_endpoint, "s3")


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Per-test resource names that are valid SageMaker names."""
    token = uuid.uuid4().hex[:8]
    return lambda prefix: f"{prefix}-{token}"


@pytest.fixture(scope="session")
def data_bucket(s3_client) -> str:
    """Two well-separated blobs of 2-D points as CSV under ``train/``, and a few under ``batch/``."""
    rows = np.random.default_rng(1).normal(scale=0.3, size=(60, 2)) + np.repeat([[0, 0], [10, 10]], 30, 0)
    body = "".join(f"{x:.4f},{y:.4f}\n" for x, y in rows).encode()
    s3_client.create_bucket(Bucket=DATA_BUCKET)
    s3_client.put_object(Bucket=DATA_BUCKET, Key="train/rows.csv", Body=body)
    s3_client.put_object(Bucket=DATA_BUCKET, Key="batch/rows.csv", Body=b"0,0\n10,10\n")
    return DATA_BUCKET


@pytest.fixture(scope="session")
def training_request(data_bucket: str) -> Callable[..., dict]:
    """``training_request(name, **hyperparameters)``: CreateTrainingJob for k-means on the blobs."""

    def request(name: str, **hyperparameters: str) -> dict:
        return {
            "TrainingJobName": name,
            "AlgorithmSpecification": {"TrainingImage": KMEANS_IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE_ARN,
            "HyperParameters": {"feature_dim": "2", "mini_batch_size": "30", **hyperparameters},
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": f"s3://{data_bucket}/train/",
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                    "ContentType": CSV,
                }
            ],
            "OutputDataConfig": {"S3OutputPath": f"s3://{data_bucket}/output"},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 300},
        }

    return request


def _wait_until(
    describe: Callable[[], dict], key: str, pending: tuple[str, ...], timeout: float = 120
) -> dict:
    """``describe()`` until its ``key`` leaves the ``pending`` statuses."""
    deadline = time.monotonic() + timeout
    while (description := describe())[key] in pending:
        assert time.monotonic() < deadline, f"still {description[key]} after {timeout} s"
        time.sleep(0.5)
    return description


@pytest.fixture(scope="session")
def wait_until() -> Callable[..., dict]:
    """``wait_until(describe, key, pending)``: ``describe()`` until its ``key`` leaves ``pending``."""
    return _wait_until


@pytest.fixture(scope="session")
def model_artifact(sagemaker, training_request) -> str:
    """The ``model.tar.gz`` of a k-means job (k=2) trained once for the session."""
    name = f"operator-tests-{uuid.uuid4().hex[:8]}"
    sagemaker.create_training_job(**training_request(name, k="2"))
    job = _wait_until(
        lambda: sagemaker.describe_training_job(TrainingJobName=name),
        "TrainingJobStatus",
        ("InProgress", "Stopping"),
    )
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    return job["ModelArtifacts"]["S3ModelArtifacts"]


@pytest.fixture(scope="session")
def model_request(model_artifact: str) -> Callable[..., dict]:
    """``model_request(name, artifact=...)``: CreateModel serving the session's k-means model."""

    def request(name: str, artifact: str = model_artifact) -> dict:
        container = {"Image": KMEANS_IMAGE, "ModelDataUrl": artifact}
        return {"ModelName": name, "PrimaryContainer": container, "ExecutionRoleArn": ROLE_ARN}

    return request


@pytest.fixture(scope="session")
def endpoint_config_request() -> Callable[[str, str], dict]:
    """``endpoint_config_request(name, model)``: CreateEndpointConfig serving ``model`` on one instance."""
    return _endpoint_config_request


def _endpoint_config_request(name: str, model: str) -> dict:
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": model,
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large",
    }
    return {"EndpointConfigName": name, "ProductionVariants": [variant]}
