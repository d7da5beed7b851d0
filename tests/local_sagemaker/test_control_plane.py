"""The SageMaker, Logs and S3 APIs answer with AWS's shapes, error codes and HTTP statuses."""

from __future__ import annotations

import json
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tests.support.engine import ROLE_ARN, TINY_IMAGE, tiny_training_job, wait_for_job


def _error(raised: pytest.ExceptionInfo) -> tuple[str, int, str]:
    response = raised.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


@pytest.mark.parametrize(
    ("call", "kwargs", "message"),
    [
        ("describe_training_job", {"TrainingJobName": "nope"}, "Requested resource not found."),
        (
            "describe_model",
            {"ModelName": "nope"},
            'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/nope".',
        ),
        ("describe_endpoint_config", {"EndpointConfigName": "nope"}, "Could not find endpoint configuration"),
        ("describe_endpoint", {"EndpointName": "nope"}, "Could not find endpoint"),
        ("delete_endpoint", {"EndpointName": "nope"}, "Could not find endpoint"),
        ("delete_model", {"ModelName": "nope"}, "Could not find model"),
        ("stop_training_job", {"TrainingJobName": "nope"}, "Requested resource not found."),
    ],
)
def test_unknown_resources_are_validation_exceptions(sagemaker, call, kwargs, message):
    with pytest.raises(ClientError) as raised:
        getattr(sagemaker, call)(**kwargs)
    code, status, text = _error(raised)
    assert (code, status) == ("ValidationException", 400)
    assert text.startswith(message)


def test_invalid_names_are_rejected_with_the_offending_value(sagemaker, tiny_bucket):
    with pytest.raises(ClientError) as raised:
        sagemaker.create_training_job(**tiny_training_job("bad_name", tiny_bucket))
    code, status, text = _error(raised)
    assert (code, status) == ("ValidationException", 400)
    assert "Value 'bad_name' at 'trainingJobName'" in text
    with pytest.raises(ClientError, match="'x-'"):
        sagemaker.create_model(ModelName="x-", PrimaryContainer={"Image": TINY_IMAGE})


def test_bad_requests_name_the_problem(sagemaker, tiny_bucket, unique):
    request = tiny_training_job(unique("badimage"), tiny_bucket)
    request["AlgorithmSpecification"]["TrainingImage"] = "1.dkr.ecr.us-east-1.amazonaws.com/nosuchalgo:1"
    with pytest.raises(ClientError, match="repository nosuchalgo"):
        sagemaker.create_training_job(**request)
    request = tiny_training_job(unique("badchannel"), tiny_bucket)
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataType"] = "Converse"
    with pytest.raises(ClientError, match="S3DataType 'Converse'"):
        sagemaker.create_training_job(**request)
    # What the SageMaker SDK v3's ModelTrainer(source_code=...) sends to run its drivers in the image.
    request = tiny_training_job(unique("entrypoint"), tiny_bucket)
    request["AlgorithmSpecification"]["ContainerEntrypoint"] = ["/bin/bash"]
    request["AlgorithmSpecification"]["ContainerArguments"] = ["/opt/ml/input/data/sm_drivers/sm_train.sh"]
    with pytest.raises(ClientError, match="ContainerEntrypoint and ContainerArguments are not supported"):
        sagemaker.create_training_job(**request)
    with pytest.raises(ClientError) as raised:
        sagemaker.create_endpoint_config(
            EndpointConfigName=unique("cfg"),
            ProductionVariants=[
                {"VariantName": "v", "ModelName": "missing-model", "InstanceType": "ml.m5.large"}
            ],
        )
    assert "Could not find model" in _error(raised)[2]


def test_duplicates_answer_as_aws_does(sagemaker, tiny_bucket, unique):
    job = unique("dup")
    sagemaker.create_training_job(**tiny_training_job(job, tiny_bucket))
    with pytest.raises(ClientError) as raised:
        sagemaker.create_training_job(**tiny_training_job(job, tiny_bucket))
    assert _error(raised)[:2] == ("ResourceInUse", 400)
    model = unique("dup-model")
    sagemaker.create_model(ModelName=model, PrimaryContainer={"Image": TINY_IMAGE}, ExecutionRoleArn=ROLE_ARN)
    with pytest.raises(ClientError, match="Cannot create already existing model"):
        sagemaker.create_model(
            ModelName=model, PrimaryContainer={"Image": TINY_IMAGE}, ExecutionRoleArn=ROLE_ARN
        )
    wait_for_job(sagemaker, job)


def test_describe_list_and_tags(sagemaker, tiny_bucket, unique):
    job = unique("listed")
    created = sagemaker.create_training_job(
        **tiny_training_job(job, tiny_bucket, Tags=[{"Key": "team", "Value": "ml"}])
    )
    assert created["TrainingJobArn"] == f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{job}"
    described = wait_for_job(sagemaker, job)
    assert described["TrainingJobStatus"] == "Completed"
    for field in (
        "CreationTime",
        "LastModifiedTime",
        "TrainingStartTime",
        "TrainingEndTime",
        "ResourceConfig",
        "RoleArn",
    ):
        assert field in described
    assert described["TrainingEndTime"] >= described["TrainingStartTime"] >= described["CreationTime"]
    names = [
        s["TrainingJobName"] for s in sagemaker.list_training_jobs(NameContains=job)["TrainingJobSummaries"]
    ]
    assert names == [job]
    assert sagemaker.list_training_jobs(NameContains=job, StatusEquals="Failed")["TrainingJobSummaries"] == []
    arn = created["TrainingJobArn"]
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "dev"}])
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=["team"])
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "stage", "Value": "dev"}]
    paginator = sagemaker.get_paginator("list_training_jobs")
    assert job in [
        s["TrainingJobName"]
        for page in paginator.paginate(NameContains=job)
        for s in page["TrainingJobSummaries"]
    ]


def test_raw_requests_get_json_errors(engine):
    def post(target: str, body: bytes) -> tuple[int, dict]:
        request = urllib.request.Request(
            engine.endpoint_url,
            data=body,
            method="POST",
            headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
        )
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    assert post("SageMaker.CreateTrainingJob", b"{not json")[1]["__type"] == "SerializationException"
    status, body = post("SageMaker.DescribeNotebookInstance", b"{}")
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, body = post("SageMaker.CreateTrainingJob", json.dumps({"TrainingJobName": "ok-name"}).encode())
    assert (status, body["__type"]) == (400, "ValidationException")
    assert body["message"] == (
        "2 validation errors detected: "
        "Value null at 'roleArn' failed to satisfy constraint: Member must not be null; "
        "Value null at 'outputDataConfig' failed to satisfy constraint: Member must not be null"
    )


def test_s3_head_errors_are_bare_and_listing_has_common_prefixes(s3, tiny_bucket):
    with pytest.raises(ClientError) as raised:
        s3.head_bucket(Bucket="no-such-bucket-here")
    assert raised.value.response["Error"]["Code"] == "404"
    with pytest.raises(ClientError) as raised:
        s3.head_object(Bucket=tiny_bucket, Key="train")
    assert raised.value.response["Error"]["Code"] == "404"
    listing = s3.list_objects_v2(Bucket=tiny_bucket, Prefix="", Delimiter="/")
    assert [p["Prefix"] for p in listing["CommonPrefixes"]] == ["train/"]


def test_logs_api_tokens_and_missing_groups(logs, unique):
    group = f"/test/{unique('group')}"
    with pytest.raises(ClientError) as raised:
        logs.describe_log_streams(logGroupName=group)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s/1")
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s/1",
        logEvents=[
            {"timestamp": 1000, "message": "a"},
            {"timestamp": 2000, "message": "b"},
            {"timestamp": 3000, "message": "c"},
        ],
    )
    first = logs.get_log_events(logGroupName=group, logStreamName="s/1", startTime=2000, startFromHead=True)
    assert [e["message"] for e in first["events"]] == ["b", "c"]
    again = logs.get_log_events(
        logGroupName=group, logStreamName="s/1", startFromHead=True, nextToken=first["nextForwardToken"]
    )
    assert again["events"] == []
    assert again["nextForwardToken"] == first["nextForwardToken"]
    streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="s/", orderBy="LogStreamName")
    assert [s["logStreamName"] for s in streams["logStreams"]] == ["s/1"]
