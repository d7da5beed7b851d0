"""Batch transform steps: run a transform job and find what it wrote for each input object."""

from __future__ import annotations

from collections.abc import Iterable

from include.sagemaker_requests import batch_transform
from include.sagemaker_requests.names import RunNames
from mnist_workflows.training import CHECK_INTERVAL
from operators.sagemaker_resumable import ResumableTransformOperator


def transform_plan(names: RunNames, output: str) -> dict[str, str]:
    """``plan_run``'s keys of a transform of the model ``names`` trains: ``transform_job``, named after its
    training job, and ``transform_output``, the S3 prefix it writes its ``.out`` objects under."""
    return {"transform_job": f"{names.training_job}-transform", "transform_output": output}


def transform(config, task_id: str) -> ResumableTransformOperator:
    """Run the transform job ``config`` (with its model, if ``config`` holds a ``Model`` request); a retry
    attaches to the job its first try started."""
    return ResumableTransformOperator(task_id=task_id, config=config, check_interval=CHECK_INTERVAL)


def transform_outputs(transform: dict, bucket: str, keys: Iterable[str]) -> list[tuple[str, str]]:
    """``(input URI, output URI)`` of each input object ``keys`` in ``bucket``, from the transform task's
    result: SageMaker writes ``<input>.out`` under the output path, keeping the input's path below its
    input prefix."""
    job = transform["Transform"]
    input_prefix = job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    output_path = job["TransformOutput"]["S3OutputPath"]
    uris = [f"s3://{bucket}/{key}" for key in keys]
    return [(uri, batch_transform.output_uri(uri, input_prefix, output_path)) for uri in uris]
