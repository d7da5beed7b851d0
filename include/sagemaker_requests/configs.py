"""Request dicts for the Amazon provider's SageMaker operators (the boto3 ``Create*`` shapes)."""

from __future__ import annotations

import json
from collections.abc import Mapping


def s3_channel(
    name: str,
    s3_uri: str,
    content_type: str | None,
    *,
    data_type: str = "S3Prefix",
    distribution: str = "FullyReplicated",
    record_wrapper: str | None = None,
) -> dict:
    """One ``InputDataConfig`` entry. ``distribution="ShardedByS3Key"`` gives each instance its own shards;
    ``content_type=None`` names none (the SDK's ``fit({"train": "s3://..."})`` names none either)."""
    channel = {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {"S3DataType": data_type, "S3Uri": s3_uri, "S3DataDistributionType": distribution}
        },
        "ContentType": content_type,
        "CompressionType": "None",
    }
    if content_type is None:
        del channel["ContentType"]
    if record_wrapper:
        channel["RecordWrapperType"] = record_wrapper
    return channel


def training_job(
    *,
    name: str,
    image: str,
    role_arn: str,
    channels: list[dict],
    output_path: str,
    hyperparameters: Mapping[str, object],
    instance_type: str = "ml.m5.large",
    instance_count: int = 1,
    volume_gb: int = 10,
    max_runtime_seconds: int = 3600,
) -> dict:
    """A ``CreateTrainingJob`` request; hyperparameters are sent as strings (:func:`hyperparameter_value`)."""
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": role_arn,
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": output_path},
        "ResourceConfig": {
            "InstanceCount": instance_count,
            "InstanceType": instance_type,
            "VolumeSizeInGB": volume_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime_seconds},
        "HyperParameters": {key: hyperparameter_value(value) for key, value in hyperparameters.items()},
    }


def model(*, name: str, image: str, model_data_url: str, role_arn: str) -> dict:
    """A ``CreateModel`` request serving ``model_data_url`` (a ``model.tar.gz``) with ``image``."""
    return {
        "ModelName": name,
        "PrimaryContainer": {"Image": image, "ModelDataUrl": model_data_url},
        "ExecutionRoleArn": role_arn,
    }


def endpoint_config(*, name: str, model_name: str, instance_type: str = "ml.m5.large") -> dict:
    """A ``CreateEndpointConfig`` request with one production variant."""
    return {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": model_name,
                "InitialInstanceCount": 1,
                "InstanceType": instance_type,
                "InitialVariantWeight": 1.0,
            }
        ],
    }


def endpoint(*, name: str, config_name: str) -> dict:
    """A ``CreateEndpoint`` request."""
    return {"EndpointName": name, "EndpointConfigName": config_name}


def deploy_requests(
    *,
    model_name: str,
    endpoint_config_name: str,
    endpoint_name: str,
    image: str,
    role_arn: str,
    model_data_url: str,
    instance_type: str = "ml.m5.large",
) -> dict:
    """The ``model``, ``endpoint_config`` and ``endpoint`` requests that deploy one trained model."""
    return {
        "model": model(name=model_name, image=image, model_data_url=model_data_url, role_arn=role_arn),
        "endpoint_config": endpoint_config(
            name=endpoint_config_name, model_name=model_name, instance_type=instance_type
        ),
        "endpoint": endpoint(name=endpoint_name, config_name=endpoint_config_name),
    }


def hyperparameter_value(value: object) -> str:
    """A built-in algorithm's hyperparameter as the SageMaker Python SDK sends it: a string, a list as
    JSON (``'["msd", "ssd"]'``), anything else as Python spells it (``"True"``, ``"0.2"``).

    That is ``Hyperparameter.serialize_all`` of the SDK's first-party estimators
    (``sagemaker/amazon/hyperparameter.py`` in sagemaker 2.x), which every built-in algorithm reads.
    """
    if isinstance(value, list | tuple):
        return json.dumps(list(value))
    return str(value)
