"""SageMaker's name rules and ARNs. botocore does not check patterns client side, so the engine does."""

from __future__ import annotations

import re

from include.local_sagemaker.errors import validation

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"

# From the SageMaker service model: job, endpoint and endpoint-config names allow single hyphens between
# alphanumerics (``a-b``, ``a--b``), model names any hyphen run that does not end the name.
_ENTITY_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_MODEL_NAME = re.compile(r"[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?")
_CHANNEL_NAME = re.compile(r"[A-Za-z0-9.\-_]{1,64}")
_S3_URI = re.compile(r"(https|s3)://([^/]+)/?(.*)")

# The resource type segment of each kind's ARN.
_ARN_TYPES = {
    "TrainingJob": "training-job",
    "Model": "model",
    "EndpointConfig": "endpoint-config",
    "Endpoint": "endpoint",
    "ModelPackageGroup": "model-package-group",
    "ModelPackage": "model-package",
    "TransformJob": "transform-job",
    "HyperParameterTuningJob": "hyper-parameter-tuning-job",
}


def _check(pattern: re.Pattern, field: str, value, limit: int = 63) -> str:
    if not isinstance(value, str) or len(value) > limit or not pattern.fullmatch(value):
        raise validation(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {pattern.pattern} "
            f"and have length less than or equal to {limit}"
        )
    return value


def check_entity_name(field: str, value) -> str:
    """Validate a training job, endpoint, endpoint config or variant name."""
    return _check(_ENTITY_NAME, field, value)


def check_model_name(field: str, value) -> str:
    return _check(_MODEL_NAME, field, value)


def check_channel_name(value) -> str:
    return _check(_CHANNEL_NAME, "channelName", value, limit=64)


def split_s3_uri(uri: str, field: str = "S3Uri") -> tuple[str, str]:
    """``s3://bucket/some/key`` -> ``("bucket", "some/key")``; a ValidationException names a bad URI."""
    match = _S3_URI.fullmatch(uri or "") if isinstance(uri, str) else None
    if not match or len(uri) > 1024:
        raise validation(
            f"1 validation error detected: Value '{uri}' at '{field}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {_S3_URI.pattern}"
        )
    return match.group(2), match.group(3)


def arn(kind: str, name: str) -> str:
    """``arn:aws:sagemaker:us-east-1:123456789012:training-job/<name>``. AWS lower-cases the name part."""
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:{_ARN_TYPES[kind]}/{name.lower()}"
