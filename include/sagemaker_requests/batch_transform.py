"""Batch transform: the ``CreateTransformJob`` request and where SageMaker writes each input's result.

SageMaker writes the result of the input object ``<input prefix>/<relative key>`` to
``<S3OutputPath>/<relative key>.out``, only when every record of that object succeeded, with the
predictions in the order of the records.
"""

from __future__ import annotations

SPLIT_TYPES = ("None", "Line", "RecordIO", "TFRecord")
BATCH_STRATEGIES = ("MultiRecord", "SingleRecord")
ASSEMBLE_WITH = ("None", "Line")
# The settings a request may leave to AWS, all left out: what the SageMaker SDK's
# ``transformer(...).transform(data, content_type=...)`` sends when given none of them.
AWS_DEFAULTS = dict.fromkeys(
    ("accept", "split_type", "assemble_with", "batch_strategy", "max_payload_mb", "max_concurrent_transforms")
)
# SageMaker's bound on MaxPayloadInMB x MaxConcurrentTransforms.
MAX_TOTAL_PAYLOAD_MB = 100
OUTPUT_SUFFIX = ".out"


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} {value!r} must be one of {list(allowed)}")


def transform_job(
    *,
    name: str,
    model_name: str,
    input_uri: str,
    output_path: str,
    content_type: str = "text/csv",
    accept: str | None = "text/csv",
    split_type: str | None = "Line",
    assemble_with: str | None = "Line",
    batch_strategy: str | None = "MultiRecord",
    max_payload_mb: int | None = 6,
    max_concurrent_transforms: int | None = 1,
    instance_type: str = "ml.m5.large",
    instance_count: int = 1,
) -> dict:
    """A ``CreateTransformJob`` request transforming every object under the ``input_uri`` prefix.

    A setting given as None is left out of the request, so AWS's default applies (no split: each object
    is one request; what the SageMaker SDK's ``Transformer.transform(data, content_type=...)`` sends).
    """
    for setting, value, allowed in (
        ("SplitType", split_type, SPLIT_TYPES),
        ("AssembleWith", assemble_with, ASSEMBLE_WITH),
        ("BatchStrategy", batch_strategy, BATCH_STRATEGIES),
    ):
        if value is not None:
            _one_of(setting, value, allowed)
    if max_concurrent_transforms is not None and max_concurrent_transforms < 1:
        raise ValueError(f"MaxConcurrentTransforms must be at least 1, got {max_concurrent_transforms}")
    if max_payload_mb is not None and not 1 <= max_payload_mb * (max_concurrent_transforms or 1) <= (
        MAX_TOTAL_PAYLOAD_MB
    ):
        raise ValueError(
            f"MaxPayloadInMB {max_payload_mb} x MaxConcurrentTransforms {max_concurrent_transforms} must be "
            f"between 1 and {MAX_TOTAL_PAYLOAD_MB}"
        )
    for label, uri in (("input", input_uri), ("output", output_path)):
        if not uri.startswith("s3://"):
            raise ValueError(f"The transform {label} must be an s3:// URI, got {uri!r}")
    request = {
        "TransformJobName": name,
        "ModelName": model_name,
        "BatchStrategy": batch_strategy,
        "MaxPayloadInMB": max_payload_mb,
        "MaxConcurrentTransforms": max_concurrent_transforms,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            "ContentType": content_type,
            "SplitType": split_type,
            "CompressionType": "None",
        },
        "TransformOutput": {"S3OutputPath": output_path, "Accept": accept, "AssembleWith": assemble_with},
        "TransformResources": {"InstanceType": instance_type, "InstanceCount": instance_count},
    }
    return _without_none(request)


def _without_none(request: dict) -> dict:
    return {
        key: _without_none(value) if isinstance(value, dict) else value
        for key, value in request.items()
        if value is not None
    }


def output_uri(input_object_uri: str, input_uri: str, output_path: str) -> str:
    """Where the transform writes the result of ``input_object_uri``, an object under ``input_uri``.

    ``output_uri("s3://b/in/part-0.csv", "s3://b/in/", "s3://b/out") == "s3://b/out/part-0.csv.out"``
    """
    if input_object_uri == input_uri:
        relative = input_object_uri.rsplit("/", 1)[-1]
    else:
        prefix = input_uri if input_uri.endswith("/") else input_uri + "/"
        if not input_object_uri.startswith(prefix):
            raise ValueError(
                f"Input object {input_object_uri!r} is not under the transform input {input_uri!r}"
            )
        relative = input_object_uri[len(prefix) :]
    return f"{output_path.rstrip('/')}/{relative}{OUTPUT_SUFFIX}"
