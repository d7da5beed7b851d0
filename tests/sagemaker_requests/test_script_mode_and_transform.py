from __future__ import annotations

import json

import pytest

from include.sagemaker_requests import batch_transform, script_mode

SOURCE_DIR = "s3://bucket/run/code/sourcedir.tar.gz"
ROLE_ARN = "arn:aws:iam::123456789012:role/SageMakerRole"


def _hyperparameters(user: dict, source_dir: str = SOURCE_DIR) -> dict:
    return script_mode.hyperparameters("train.py", source_dir, user, region="eu-west-1", job_name="job-1")


def test_script_mode_hyperparameters_are_json_encoded_as_the_sdk_sends_them() -> None:
    encoded = _hyperparameters({"hidden-units": 64, "alpha": 0.5, "solver": "adam"})
    assert encoded == {
        "hidden-units": "64",
        "alpha": "0.5",
        "solver": '"adam"',
        "sagemaker_program": '"train.py"',
        "sagemaker_submit_directory": json.dumps(SOURCE_DIR),
        "sagemaker_container_log_level": "20",
        "sagemaker_job_name": '"job-1"',
        "sagemaker_region": '"eu-west-1"',
    }


def test_script_mode_rejects_reserved_names_and_non_archive_sources() -> None:
    with pytest.raises(ValueError, match="sagemaker_program"):
        _hyperparameters({"sagemaker_program": "other.py"})
    with pytest.raises(ValueError, match="'s3://bucket/run/code/'"):
        _hyperparameters({}, source_dir="s3://bucket/run/code/")
    with pytest.raises(ValueError, match="'s3://bucket/run/code/'"):
        script_mode.serving_environment("train.py", "s3://bucket/run/code/", "eu-west-1")


def test_transform_job_request_shape() -> None:
    request = batch_transform.transform_job(
        name="job",
        model_name="m",
        input_uri="s3://bucket/in/",
        output_path="s3://bucket/out",
        max_payload_mb=10,
        batch_strategy="SingleRecord",
    )
    assert request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://bucket/in/"
    assert request["TransformInput"]["SplitType"] == "Line"
    assert request["TransformOutput"] == {
        "S3OutputPath": "s3://bucket/out",
        "Accept": "text/csv",
        "AssembleWith": "Line",
    }
    assert request["MaxPayloadInMB"] == 10
    assert request["BatchStrategy"] == "SingleRecord"


def test_transform_job_leaves_out_what_aws_defaults_as_the_sdk_transformer_does() -> None:
    request = batch_transform.transform_job(
        name="job",
        model_name="m",
        input_uri="s3://bucket/in/",
        output_path="s3://bucket/out",
        content_type="text/csv",
        **batch_transform.AWS_DEFAULTS,
    )
    assert request == {
        "TransformJobName": "job",
        "ModelName": "m",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/in/"}},
            "ContentType": "text/csv",
            "CompressionType": "None",
        },
        "TransformOutput": {"S3OutputPath": "s3://bucket/out"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"split_type": "Lines"}, "SplitType 'Lines'"),
        ({"batch_strategy": "Multi"}, "BatchStrategy 'Multi'"),
        ({"max_payload_mb": 60, "max_concurrent_transforms": 2}, "60 x MaxConcurrentTransforms 2"),
        ({"input_uri": "/tmp/in"}, "'/tmp/in'"),
    ],
)
def test_transform_job_settings_are_checked(settings: dict, message: str) -> None:
    arguments = {"name": "job", "model_name": "m", "input_uri": "s3://b/in/", "output_path": "s3://b/out"}
    with pytest.raises(ValueError, match=message):
        batch_transform.transform_job(**{**arguments, **settings})


def test_output_uri_follows_the_relative_key_of_each_input() -> None:
    output = batch_transform.output_uri
    assert output("s3://b/in/part-00000.csv", "s3://b/in/", "s3://b/out") == "s3://b/out/part-00000.csv.out"
    assert output("s3://b/in/day/1.csv", "s3://b/in", "s3://b/out/") == "s3://b/out/day/1.csv.out"
    assert output("s3://b/in/one.csv", "s3://b/in/one.csv", "s3://b/out") == "s3://b/out/one.csv.out"
    with pytest.raises(ValueError, match=r"'s3://b/other/x\.csv'"):
        output("s3://b/other/x.csv", "s3://b/in/", "s3://b/out")


@pytest.mark.parametrize(
    ("framework", "version", "enabled"),
    [
        ("mxnet", "1.6.0", True),
        ("mxnet", "1.4.1", False),
        ("pytorch", "2.6.0", True),
        ("sklearn", "1.2-1", False),
    ],
)
def test_metrics_time_series_as_the_sdk_estimators_ask_for_it(
    framework: str, version: str, enabled: bool
) -> None:
    assert script_mode.metrics_time_series(framework, version) is enabled
