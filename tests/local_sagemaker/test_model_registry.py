"""The model registry through boto3 and through the provider's SageMakerRegisterModelVersionOperator."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.support.engine import KMEANS_IMAGE

MODEL_URL = "s3://registry-models/kmeans/model.tar.gz"


def _inference_specification() -> dict:
    return {
        "Containers": [{"Image": KMEANS_IMAGE, "ModelDataUrl": MODEL_URL}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["application/json"],
    }


def test_versions_are_numbered_per_group_and_never_reused(sagemaker, unique):
    group, other = unique("group-a"), unique("group-b")
    created = sagemaker.create_model_package_group(
        ModelPackageGroupName=group, ModelPackageGroupDescription="digits"
    )
    assert created["ModelPackageGroupArn"] == (
        f"arn:aws:sagemaker:us-east-1:123456789012:model-package-group/{group}"
    )
    sagemaker.create_model_package_group(ModelPackageGroupName=other)

    arns = [
        sagemaker.create_model_package(
            ModelPackageGroupName=group, InferenceSpecification=_inference_specification()
        )["ModelPackageArn"]
        for _ in range(2)
    ]
    other_arn = sagemaker.create_model_package(
        ModelPackageGroupName=other, InferenceSpecification=_inference_specification()
    )["ModelPackageArn"]
    prefix = "arn:aws:sagemaker:us-east-1:123456789012:model-package"
    assert arns == [f"{prefix}/{group}/1", f"{prefix}/{group}/2"]
    assert other_arn == f"{prefix}/{other}/1"

    described = sagemaker.describe_model_package(ModelPackageName=arns[1])
    assert described["ModelPackageGroupName"] == group
    assert described["ModelPackageVersion"] == 2
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert described["ModelPackageStatus"] == "Completed"
    assert described["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == MODEL_URL

    sagemaker.delete_model_package(ModelPackageName=arns[1])
    third = sagemaker.create_model_package(
        ModelPackageGroupName=group, InferenceSpecification=_inference_specification()
    )["ModelPackageArn"]
    assert third == f"{prefix}/{group}/3"
    group_described = sagemaker.describe_model_package_group(ModelPackageGroupName=group)
    assert group_described["ModelPackageGroupDescription"] == "digits"
    assert group_described["ModelPackageGroupStatus"] == "Completed"


def test_approval_filter_sort_and_update(sagemaker, unique):
    group = unique("approvals")
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    arns = [
        sagemaker.create_model_package(
            ModelPackageGroupName=group,
            InferenceSpecification=_inference_specification(),
            ModelApprovalStatus=status,
        )["ModelPackageArn"]
        for status in ("Approved", "PendingManualApproval", "Rejected")
    ]
    listed = sagemaker.list_model_packages(ModelPackageGroupName=group, SortOrder="Ascending")
    assert [p["ModelPackageVersion"] for p in listed["ModelPackageSummaryList"]] == [1, 2, 3]
    newest_first = sagemaker.list_model_packages(ModelPackageGroupName=group, SortBy="CreationTime")
    assert [p["ModelPackageVersion"] for p in newest_first["ModelPackageSummaryList"]] == [3, 2, 1]

    sagemaker.update_model_package(
        ModelPackageArn=arns[1], ModelApprovalStatus="Approved", ApprovalDescription="accuracy 0.9"
    )
    approved = sagemaker.list_model_packages(
        ModelPackageGroupName=group, ModelApprovalStatus="Approved", SortOrder="Ascending"
    )
    assert [p["ModelPackageArn"] for p in approved["ModelPackageSummaryList"]] == arns[:2]
    described = sagemaker.describe_model_package(ModelPackageName=arns[1])
    assert described["ApprovalDescription"] == "accuracy 0.9"
    assert described["LastModifiedTime"] >= described["CreationTime"]

    with pytest.raises(ClientError) as bad_status:
        sagemaker.update_model_package(ModelPackageArn=arns[0], ModelApprovalStatus="Maybe")
    assert "Maybe" in bad_status.value.response["Error"]["Message"]

    page = sagemaker.list_model_packages(ModelPackageGroupName=group, MaxResults=2, SortOrder="Ascending")
    rest = sagemaker.list_model_packages(
        ModelPackageGroupName=group, MaxResults=2, SortOrder="Ascending", NextToken=page["NextToken"]
    )
    assert len(page["ModelPackageSummaryList"]) == 2
    assert len(rest["ModelPackageSummaryList"]) == 1


def test_unversioned_packages_and_group_listing(sagemaker, unique):
    name = unique("standalone")
    created = sagemaker.create_model_package(
        ModelPackageName=name, InferenceSpecification=_inference_specification()
    )
    assert created["ModelPackageArn"].endswith(f":model-package/{name}")
    described = sagemaker.describe_model_package(ModelPackageName=name)
    assert "ModelPackageVersion" not in described
    assert "ModelApprovalStatus" not in described
    unversioned = sagemaker.list_model_packages(NameContains=name)["ModelPackageSummaryList"]
    assert [p["ModelPackageName"] for p in unversioned] == [name]

    with pytest.raises(ClientError) as duplicate:
        sagemaker.create_model_package(
            ModelPackageName=name, InferenceSpecification=_inference_specification()
        )
    assert duplicate.value.response["Error"]["Code"] == "ConflictException"

    groups = sagemaker.list_model_package_groups(NameContains="group-a")["ModelPackageGroupSummaryList"]
    assert all("group-a" in g["ModelPackageGroupName"] for g in groups)
    sagemaker.delete_model_package(ModelPackageName=name)
    with pytest.raises(ClientError) as gone:
        sagemaker.describe_model_package(ModelPackageName=name)
    assert gone.value.response["Error"]["Code"] == "ValidationException"


def test_errors_the_provider_depends_on(sagemaker, unique):
    group = unique("dupes")
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    with pytest.raises(ClientError) as again:
        sagemaker.create_model_package_group(ModelPackageGroupName=group)
    assert again.value.response["Error"]["Code"] == "ValidationException"
    assert again.value.response["Error"]["Message"].startswith("Model Package Group already exists")

    with pytest.raises(ClientError) as missing:
        sagemaker.describe_model_package_group(ModelPackageGroupName=unique("nope"))
    assert missing.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as no_group:
        sagemaker.create_model_package(
            ModelPackageGroupName=unique("nope"), InferenceSpecification=_inference_specification()
        )
    assert "does not exist" in no_group.value.response["Error"]["Message"]

    version = sagemaker.create_model_package(
        ModelPackageGroupName=group, InferenceSpecification=_inference_specification()
    )["ModelPackageArn"]
    with pytest.raises(ClientError) as not_empty:
        sagemaker.delete_model_package_group(ModelPackageGroupName=group)
    assert not_empty.value.response["Error"]["Code"] == "ConflictException"
    sagemaker.delete_model_package(ModelPackageName=version)
    sagemaker.delete_model_package_group(ModelPackageGroupName=group)
    assert not sagemaker.list_model_package_groups(NameContains=group)["ModelPackageGroupSummaryList"]


def test_retried_create_with_the_same_client_token_creates_one_version(sagemaker, unique):
    group = unique("idempotent")
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    first, second = (
        sagemaker.create_model_package(
            ModelPackageGroupName=group, InferenceSpecification=_inference_specification(), ClientToken="t-1"
        )["ModelPackageArn"]
        for _ in range(2)
    )
    assert first == second
    assert len(sagemaker.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]) == 1


def test_tags_on_groups_and_versions(sagemaker, unique):
    group = unique("tagged")
    group_arn = sagemaker.create_model_package_group(
        ModelPackageGroupName=group, Tags=[{"Key": "team", "Value": "digits"}]
    )["ModelPackageGroupArn"]
    assert sagemaker.list_tags(ResourceArn=group_arn)["Tags"] == [{"Key": "team", "Value": "digits"}]
    version = sagemaker.create_model_package(
        ModelPackageGroupName=group, InferenceSpecification=_inference_specification()
    )["ModelPackageArn"]
    sagemaker.add_tags(ResourceArn=version, Tags=[{"Key": "stage", "Value": "dev"}])
    assert sagemaker.list_tags(ResourceArn=version)["Tags"] == [{"Key": "stage", "Value": "dev"}]


def test_register_model_version_operator(engine, sagemaker, unique, monkeypatch):
    """The provider's operator, executed in-process against the engine, registers versions 1 and 2."""
    from airflow.providers.amazon.aws.operators.sagemaker import (
        ApprovalStatus,
        SageMakerRegisterModelVersionOperator,
    )

    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {"region_name": "us-east-1", "endpoint_url": engine.endpoint_url},
            }
        ),
    )
    group = unique("provider-group")
    results = []
    for attempt, approval in enumerate((ApprovalStatus.PENDING_MANUAL_APPROVAL, ApprovalStatus.APPROVED)):
        operator = SageMakerRegisterModelVersionOperator(
            task_id=f"register_{attempt}",
            image_uri=KMEANS_IMAGE,
            model_url=MODEL_URL,
            package_group_name=group,
            package_desc="k-means on MNIST",
            model_approval=approval,
        )
        results.append(operator.execute({}))
    assert results == [
        f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/{version}" for version in (1, 2)
    ]
    latest = sagemaker.describe_model_package(ModelPackageName=results[1])
    assert latest["ModelApprovalStatus"] == "Approved"
    assert latest["ModelPackageDescription"] == "k-means on MNIST"
    assert latest["InferenceSpecification"]["SupportedContentTypes"] == ["text/csv"]


def test_registry_survives_a_restart(tmp_path):
    """Groups, versions and the next version number are durable state."""
    import boto3

    from include.local_sagemaker.engine import LocalSageMaker

    def client(engine):
        return boto3.client(
            "sagemaker",
            endpoint_url=engine.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    with LocalSageMaker(tmp_path) as engine:
        sm = client(engine)
        sm.create_model_package_group(ModelPackageGroupName="durable")
        sm.create_model_package(
            ModelPackageGroupName="durable", InferenceSpecification=_inference_specification()
        )
    with LocalSageMaker(tmp_path) as engine:
        sm = client(engine)
        assert sm.describe_model_package_group(ModelPackageGroupName="durable")["ModelPackageGroupName"]
        second = sm.create_model_package(
            ModelPackageGroupName="durable", InferenceSpecification=_inference_specification()
        )
        assert second["ModelPackageArn"].endswith("model-package/durable/2")
