"""SageMaker's ARNs and S3 URIs. Name rules are the service model's, checked before any handler runs."""

from __future__ import annotations

import re

from include.local_sagemaker.errors import validation_errors, violation

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"

# The service model's S3Uri pattern, with groups for the bucket and the key.
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


def split_s3_uri(uri: str, field: str = "S3Uri") -> tuple[str, str]:
    """``s3://bucket/some/key`` -> ``("bucket", "some/key")``; a ValidationException names a bad URI.

    Request members that are S3 URIs are checked by the service model; this check is for URIs the
    model does not see (an environment variable, a hyperparameter, a manifest's prefix).
    """
    match = _S3_URI.fullmatch(uri or "") if isinstance(uri, str) else None
    if not match or len(uri) > 1024:
        raise validation_errors(
            [violation(field, f"Member must satisfy regular expression pattern: {_S3_URI.pattern}", str(uri))]
        )
    return match.group(2), match.group(3)


def arn(kind: str, name: str) -> str:
    """``arn:aws:sagemaker:us-east-1:123456789012:training-job/<name>``. AWS lower-cases the name part."""
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:{_ARN_TYPES[kind]}/{name.lower()}"
