"""The seed "End-to-End Example #1" (k-means, low-level boto3) against the engine.

The calls and parameters are the notebook's, with only ``endpoint_url`` and dummy credentials added;
the data are small well-separated blobs instead of MNIST, so that the clustering can be checked.
"""

from __future__ import annotations

import io
import json

import boto3
import numpy as np
import pytest
from botocore.config import Config

from include.recordio import write_numpy_to_dense_tensor

pytestmark = pytest.mark.slow

BLOB_CENTRES = np.array([[0.0] * 8, [10.0] * 8, [-10.0] * 4 + [10.0] * 4], dtype=np.float32)


def _blobs(rows_per_blob: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(BLOB_CENTRES)), rows_per_blob)
    features = BLOB_CENTRES[labels] + rng.normal(scale=0.5, size=(len(labels), 8)).astype(np.float32)
    return features.astype(np.float32), labels


def test_end_to_end_example_1(engine):
    clients = {
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "region_name": "us-east-1",
        "endpoint_url": engine.endpoint_url,
        "config": Config(retries={"mode": "standard", "max_attempts": 1}),
    }
    s3 = boto3.client("s3", **clients)
    sagemaker = boto3.client("sagemaker", **clients)
    runtime = boto3.client("sagemaker-runtime", **clients)
    role = "arn:aws:iam::123456789012:role/SageMakerRole"
    bucket = "seed-kmeans-example"
    prefix = "sagemaker/DEMO-kmeans-byom"
    s3.create_bucket(Bucket=bucket)

    train_set = _blobs(200, seed=1)
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, train_set[0], train_set[1])
    buffer.seek(0)
    key = "MNIST-train-data"  # the notebook's key name, kept verbatim
    s3.upload_fileobj(buffer, bucket, f"{prefix}/train/{key}")

    # -- training, with the notebook's exact parameters -----------------------------------------
    image = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
    job_name = "kmeans-lowlevel-2024-01-01-00-00-00"
    data_location = f"s3://{bucket}/{prefix}/train/"
    output_location = f"s3://{bucket}/{prefix}/output"
    create_training_params = {
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": role,
        "OutputDataConfig": {"S3OutputPath": output_location},
        "ResourceConfig": {"InstanceCount": 2, "InstanceType": "ml.c4.8xlarge", "VolumeSizeInGB": 50},
        "TrainingJobName": job_name,
        "HyperParameters": {"k": "3", "feature_dim": "8", "mini_batch_size": "500", "force_dense": "True"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60 * 60},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": data_location,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "CompressionType": "None",
                "RecordWrapperType": "None",
            }
        ],
    }
    sagemaker.create_training_job(**create_training_params)
    status = sagemaker.describe_training_job(TrainingJobName=job_name)["TrainingJobStatus"]
    assert status == "InProgress"
    sagemaker.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName=job_name, WaiterConfig={"Delay": 1, "MaxAttempts": 180}
    )
    described = sagemaker.describe_training_job(TrainingJobName=job_name)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")

    # -- hosting ------------------------------------------------------------------------------
    model_name = job_name
    primary_container = {"Image": image, "ModelDataUrl": described["ModelArtifacts"]["S3ModelArtifacts"]}
    create_model_response = sagemaker.create_model(
        ModelName=model_name, ExecutionRoleArn=role, PrimaryContainer=primary_container
    )
    assert create_model_response["ModelArn"].endswith(f":model/{model_name}")

    endpoint_config_name = "KMeansEndpointConfig-2024-01-01-00-00-00"
    sagemaker.create_endpoint_config(
        EndpointConfigName=endpoint_config_name,
        ProductionVariants=[
            {
                "InstanceType": "ml.m4.xlarge",
                "InitialInstanceCount": 1,
                "ModelName": model_name,
                "VariantName": "AllTraffic",
            }
        ],
    )
    endpoint_name = "KMeansEndpoint-2024-01-01-00-00-00"
    sagemaker.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=endpoint_config_name)
    sagemaker.get_waiter("endpoint_in_service").wait(
        EndpointName=endpoint_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    assert sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointStatus"] == "InService"

    # -- validation: the notebook sends CSV rows and reads closest_cluster -----------------------
    valid_set = _blobs(10, seed=2)
    payload = "\n".join(",".join(str(value) for value in row) for row in valid_set[0])
    response = runtime.invoke_endpoint(EndpointName=endpoint_name, ContentType="text/csv", Body=payload)
    result = json.loads(response["Body"].read().decode())
    clusters = [int(result["predictions"][i]["closest_cluster"]) for i in range(len(valid_set[0]))]
    # Each true blob maps to exactly one cluster, and different blobs to different clusters.
    mapping = {
        label: {c for c, lab in zip(clusters, valid_set[1], strict=True) if lab == label}
        for label in range(3)
    }
    assert all(len(found) == 1 for found in mapping.values())
    assert len(set.union(*mapping.values())) == 3
    assert all(prediction["distance_to_cluster"] < 4.0 for prediction in result["predictions"])

    sagemaker.delete_endpoint(EndpointName=endpoint_name)
    sagemaker.get_waiter("endpoint_deleted").wait(EndpointName=endpoint_name, WaiterConfig={"Delay": 1})
