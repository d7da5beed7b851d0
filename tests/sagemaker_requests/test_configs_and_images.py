from __future__ import annotations

from include.sagemaker_requests import configs
from include.sagemaker_requests.image_uris import image_uri


def test_training_job_request_shape() -> None:
    request = configs.training_job(
        name="job",
        image=image_uri("kmeans", "us-east-1"),
        role_arn="arn:aws:iam::123456789012:role/SageMakerRole",
        channels=[configs.s3_channel("train", "s3://b/train/", "application/x-recordio-protobuf")],
        output_path="s3://b/out",
        hyperparameters={"k": 10, "feature_dim": 784, "force_dense": True, "eval_metrics": ["msd", "ssd"]},
    )
    # As the SageMaker SDK's KMeans sends them (tests/parity compares whole requests with the SDK's).
    assert request["HyperParameters"] == {
        "k": "10",
        "feature_dim": "784",
        "force_dense": "True",
        "eval_metrics": '["msd", "ssd"]',
    }
    assert request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://b/train/"
    assert request["ResourceConfig"]["InstanceCount"] == 1


def test_deployment_requests_chain_model_config_and_endpoint() -> None:
    requests = configs.deploy_requests(
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
