from __future__ import annotations

import pytest

from include.sagemaker_requests import configs
from include.sagemaker_requests.image_uris import image_uri


def test_image_uris_of_the_seeds() -> None:
    assert image_uri("kmeans", "us-east-1") == "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
    assert image_uri("pca", "us-west-2") == "174872318107.dkr.ecr.us-west-2.amazonaws.com/pca:1"
    assert image_uri("xgboost", "us-east-1", "1.7-1") == (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    )


def test_unknown_algorithm_and_region_name_the_value() -> None:
    with pytest.raises(ValueError, match="'kmeanz'"):
        image_uri("kmeanz", "us-east-1")
    with pytest.raises(ValueError, match="'mars-1'"):
        image_uri("kmeans", "mars-1")


def test_training_job_request_shape() -> None:
    request = configs.training_job(
        name="job",
        image=image_uri("kmeans", "us-east-1"),
        role_arn="arn:aws:iam::123456789012:role/SageMakerRole",
        channels=[configs.s3_channel("train", "s3://b/train/", "application/x-recordio-protobuf")],
        output_path="s3://b/out",
        hyperparameters={"k": 10, "feature_dim": 784, "force_dense": True},
    )
    assert request["HyperParameters"] == {"k": "10", "feature_dim": "784", "force_dense": "true"}
    assert request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://b/train/"
    assert request["ResourceConfig"]["InstanceCount"] == 1
    assert configs.model_artifact("s3://b/out/", "job") == "s3://b/out/job/output/model.tar.gz"


def test_scikit_learn_framework_image_shares_the_xgboost_registries() -> None:
    assert image_uri("sklearn", "us-east-1") == (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )
    assert image_uri("sklearn", "eu-west-1", "1.0-1-cpu-py3") == (
        "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.0-1-cpu-py3"
    )


def test_deployment_requests_chain_model_config_and_endpoint() -> None:
    requests = configs.deployment(
        model_name="m",
        endpoint_config_name="c",
        endpoint_name="e",
        image="img",
        role_arn="arn:aws:iam::1:role/r",
        model_data_url="s3://b/model.tar.gz",
        instance_type="ml.c5.xlarge",
    )
    assert requests["model"]["PrimaryContainer"] == {"Image": "img", "ModelDataUrl": "s3://b/model.tar.gz"}
    variant = requests["endpoint_config"]["ProductionVariants"][0]
    assert (variant["ModelName"], variant["InstanceType"]) == ("m", "ml.c5.xlarge")
    assert requests["endpoint"] == {"EndpointName": "e", "EndpointConfigName": "c"}
