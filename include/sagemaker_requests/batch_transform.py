"""Batch transform: the ``CreateTransformJob`` request and where SageMaker writes each input's result.

SageMaker writes the result of the input object ``<input prefix>/<relative key>`` to
``<S3OutputPath>/<relative key>.out``, only when every record of that object succeeded, with the
predictions in the order of the records.
"""

from __future__ import annotations

SPLIT_TYPES = ("None", "Line", "RecordIO", "TFRecord")
BATCH_STRATEGIES = ("MultiRecord", "SingleRecord")
ASSEMBLE_WITH = ("None", "Line")
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
    accept: str = "text/csv",
    split_type: str = "Line",
    assemble_with: str = "Line",
    batch_strategy: str = "MultiRecord",
    max_payload_mb: int = 6,
    max_concurrent_transforms: int = 1,
    instance_type: str = "ml.m5.large",
    instance_count: int = 1,
) -> dict:
    """A ``CreateTransformJob`` request transforming every object under the ``input_uri`` prefix."""
    _one_of("SplitType", split_type, SPLIT_TYPES)
    _one_of("AssembleWith", assemble_with, ASSEMBLE_WITH)
    _one_of("BatchStrategy", batch_strategy, BATCH_STRATEGIES)
    if max_concurrent_transforms < 1:
        raise ValueError(f"MaxConcurrentTransforms must be at least 1, got {max_concurrent_transforms}")
    if not 1 <= max_payload_mb * max_concurrent_transforms <= MAX_TOTAL_PAYLOAD_MB:
        raise ValueError(
            f"MaxPayloadInMB {max_payload_mb} x MaxConcurrentTransforms {max_concurrent_transforms} must be "
            f"between 1 and {MAX_TOTAL_PAYLOAD_MB}"
        )
    for label, uri in (("input", input_uri), ("output", output_path)):
        if not uri.startswith("s3://"):
            raise ValueError(f"The transform {label} must be an s3:// URI, got {uri!r}")
    return {
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
