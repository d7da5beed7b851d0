"""STS and IAM answered as a local account would, through boto3; other services get AWS-shaped errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from include.devstack.settings import local_connection
from tests.support.engine import ROLE_ARN


def test_get_caller_identity(client_factory):
    identity = client_factory("sts").get_caller_identity()
    assert identity["Account"] == "123456789012"
    assert identity["Arn"].startswith("arn:aws:iam::123456789012:")


def test_simulate_principal_policy_allows_the_local_role(client_factory):
    actions = ["s3:GetObject", "sagemaker:CreateTrainingJob"]
    result = client_factory("iam").simulate_principal_policy(PolicySourceArn=ROLE_ARN, ActionNames=actions)
    assert [(r["EvalActionName"], r["EvalDecision"]) for r in result["EvaluationResults"]] == [
        (action, "allowed") for action in actions
    ]


def test_a_principal_of_another_account_does_not_exist(client_factory):
    with pytest.raises(ClientError) as refused:
        client_factory("iam").simulate_principal_policy(
            PolicySourceArn="arn:aws:iam::999999999999:role/Other", ActionNames=["s3:GetObject"]
        )
    assert refused.value.response["Error"]["Code"] == "NoSuchEntity"


def test_get_role(client_factory):
    role = client_factory("iam").get_role(RoleName="SageMakerRole")["Role"]
    assert role["Arn"] == ROLE_ARN
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "sagemaker.amazonaws.com"
    }


def test_unsupported_actions_and_services_are_errors_not_another_services_answer(client_factory):
    with pytest.raises(ClientError) as refused:
        client_factory("sts").assume_role(RoleArn=ROLE_ARN, RoleSessionName="session")
    assert refused.value.response["Error"]["Code"] == "InvalidAction"
    with pytest.raises(ClientError) as refused:
        client_factory("sqs").list_queues()
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert refused.value.response["Error"]["Code"] == "UnknownOperationException"


def test_the_connection_test_button_passes_in_local_mode(engine, monkeypatch):
    # The button calls AwsGenericHook.test_connection: sts:GetCallerIdentity at the connection's STS
    # endpoint, which deliberately ignores the connection-wide endpoint_url.
    from airflow.providers.amazon.aws.hooks.base_aws import AwsGenericHook

    for variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_LOCAL_ENGINE", local_connection(engine.endpoint_url))
    passed, message = AwsGenericHook(aws_conn_id="local_engine").test_connection()
    assert passed, message
    assert "Account='123456789012'" in message
