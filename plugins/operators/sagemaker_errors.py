"""What SageMaker's error answers mean to an operator: "it does not exist" and "it will never be accepted".

SageMaker has no single "not found" code. Describe and Delete calls for a missing training job, model,
endpoint config, endpoint or transform job answer ``ValidationException`` with a message saying so
("Requested resource not found." for DescribeTrainingJob, see aws/aws-sdk#165 and boto/boto3#2808;
'Could not find model "<arn>".', 'Could not find endpoint "<arn>".'), while tuning and AutoML jobs answer
``ResourceNotFound`` ("Amazon SageMaker can't find a tuning job ..."). A ``ValidationException`` is
also what an invalid request gets, so that code alone does not say the resource is missing.
"""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import ClientError

__all__ = ["describe_or_none", "is_not_found", "is_refusal"]

NOT_FOUND_CODES = ("ResourceNotFound", "ResourceNotFoundException")
NOT_FOUND_MESSAGES = ("could not find", "not found", "does not exist", "can't find")


def is_not_found(error: ClientError) -> bool:
    """Whether SageMaker answered ``error`` because the resource named in the request does not exist."""
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "").lower()
    if code in NOT_FOUND_CODES:
        return True
    return code == "ValidationException" and any(phrase in message for phrase in NOT_FOUND_MESSAGES)


def is_refusal(error: ClientError) -> bool:
    """Whether SageMaker refused a create request as invalid, so that sending it again cannot help.

    "Cannot create already existing ..." is not one: a retry finds that resource and uses it."""
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    return code == "ValidationException" and "already existing" not in message


def describe_or_none(describe: Callable[[str], dict], name: str) -> dict | None:
    """``describe(name)``, or None when SageMaker says the resource does not exist."""
    try:
        return describe(name)
    except ClientError as error:
        if is_not_found(error):
            return None
        raise
