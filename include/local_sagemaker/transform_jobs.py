"""The control plane of batch transform: ``Create/Describe/Stop/ListTransformJobs``.

Requests are validated the way SageMaker validates them (enums, the 100 MB limit on
``MaxConcurrentTransforms x MaxPayloadInMB``, an existing model) and stored shaped like
``DescribeTransformJob``; the :class:`~include.local_sagemaker.transform.TransformRunner` does the work.
"""

from __future__ import annotations

import time

from include.local_sagemaker.api_support import page, public, require, tags_of, time_filters
from include.local_sagemaker.errors import resource_in_use, validation
from include.local_sagemaker.names import arn, check_entity_name, check_model_name, split_s3_uri
from include.local_sagemaker.state import ResourceStore
from include.local_sagemaker.transform import TransformRunner

_SPLIT_TYPES = ("None", "Line", "RecordIO")
_BATCH_STRATEGIES = ("MultiRecord", "SingleRecord")
_ASSEMBLE_WITH = ("None", "Line")
_COMPRESSION_TYPES = ("None", "Gzip")
_S3_DATA_TYPES = ("S3Prefix", "ManifestFile")
_DEFAULT_MAX_PAYLOAD_MB = 6


def _enum(field: str, value, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise validation(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: {list(allowed)}"
        )
    return value


def _bounded_int(field: str, value, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        raise validation(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
            f"Member must have value between {low} and {high}"
        )
    return number


def _check_data_processing(processing: dict | None) -> dict | None:
    # JSONPath filtering and joining are not implemented; the identity settings are accepted.
    if not processing:
        return processing
    for field, identity in (("InputFilter", "$"), ("OutputFilter", "$"), ("JoinSource", "None")):
        value = processing.get(field, identity)
        if value != identity:
            raise validation(
                f"DataProcessing.{field}={value!r} is not supported by the local engine; only {identity!r} "
                "(no filtering or joining) is"
            )
    return processing


class TransformJobs:
    """``*TransformJob*`` operations over the ``transform-jobs`` store."""

    def __init__(self, jobs: ResourceStore, models: ResourceStore, runner: TransformRunner):
        self.jobs = jobs
        self.models = models
        self.runner = runner

    def tagged_stores(self) -> list[tuple[ResourceStore, str, str]]:
        return [(self.jobs, "TransformJobName", "TransformJobArn")]

    def _op_CreateTransformJob(self, request: dict) -> dict:
        name = check_entity_name("transformJobName", request.get("TransformJobName"))
        require(request, "ModelName", "TransformInput", "TransformOutput", "TransformResources")
        check_model_name("modelName", request["ModelName"])
        transform_input = dict(request["TransformInput"])
        require(transform_input, "DataSource")
        source = (transform_input["DataSource"] or {}).get("S3DataSource")
        if not source:
            raise validation("TransformInput.DataSource.S3DataSource is required")
        require(source, "S3DataType", "S3Uri")
        _enum("transformInput.dataSource.s3DataSource.s3DataType", source["S3DataType"], _S3_DATA_TYPES)
        split_s3_uri(source["S3Uri"], "transformInput.dataSource.s3DataSource.s3Uri")
        transform_input["SplitType"] = _enum(
            "transformInput.splitType", transform_input.get("SplitType", "None"), _SPLIT_TYPES
        )
        transform_input["CompressionType"] = _enum(
            "transformInput.compressionType",
            transform_input.get("CompressionType", "None"),
            _COMPRESSION_TYPES,
        )
        transform_output = dict(request["TransformOutput"])
        require(transform_output, "S3OutputPath")
        split_s3_uri(transform_output["S3OutputPath"], "transformOutput.s3OutputPath")
        transform_output["AssembleWith"] = _enum(
            "transformOutput.assembleWith", transform_output.get("AssembleWith", "None"), _ASSEMBLE_WITH
        )
        resources = dict(request["TransformResources"])
        require(resources, "InstanceType")
        resources["InstanceCount"] = _bounded_int(
            "transformResources.instanceCount", resources.get("InstanceCount", 1), 1, 100
        )
        strategy = _enum("batchStrategy", request.get("BatchStrategy", "MultiRecord"), _BATCH_STRATEGIES)
        max_payload = _bounded_int(
            "maxPayloadInMB", request.get("MaxPayloadInMB", _DEFAULT_MAX_PAYLOAD_MB), 0, 100
        )
        if max_payload == 0:
            raise validation(
                "MaxPayloadInMB=0 asks for chunked (streaming) transfer, which the local engine's "
                "containers do not support; use a limit between 1 and 100"
            )
        concurrency = _bounded_int(
            "maxConcurrentTransforms", request.get("MaxConcurrentTransforms", 1), 1, 100
        )
        if concurrency * max_payload > 100:
            raise validation(
                f"MaxConcurrentTransforms ({concurrency}) x MaxPayloadInMB ({max_payload}) "
                "must not exceed 100"
            )
        if request["ModelName"] not in self.models:
            raise validation(f'Could not find model "{arn("Model", request["ModelName"])}".')

        now = time.time()
        job_arn = arn("TransformJob", name)
        document = {
            "TransformJobName": name,
            "TransformJobArn": job_arn,
            "TransformJobStatus": "InProgress",
            "ModelName": request["ModelName"],
            "MaxConcurrentTransforms": concurrency,
            "MaxPayloadInMB": max_payload,
            "BatchStrategy": strategy,
            "Environment": request.get("Environment") or {},
            "TransformInput": transform_input,
            "TransformOutput": transform_output,
            "TransformResources": resources,
            "CreationTime": now,
            "LastModifiedTime": now,
            "_Tags": tags_of(request),
        }
        processing = _check_data_processing(request.get("DataProcessing"))
        if processing:
            document["DataProcessing"] = processing
        for optional in (
            "ModelClientConfig",
            "ExperimentConfig",
            "DataCaptureConfig",
            "BatchDataCaptureConfig",
        ):
            if optional in request:
                document[optional] = request[optional]
        with self.jobs.lock:
            if name in self.jobs:
                raise resource_in_use(
                    f"Job name must be unique within an AWS account and region, and a job "
                    f"with this name already exists ({job_arn})"
                )
            self.jobs.put(name, document)
        self.runner.start(name)
        return {"TransformJobArn": job_arn}

    def _job(self, name) -> dict:
        job = self.jobs.get(name) if isinstance(name, str) else None
        if job is None:
            raise validation(f"Could not find requested job with name {name}")
        return job

    def _op_DescribeTransformJob(self, request: dict) -> dict:
        return public(self._job(request.get("TransformJobName")))

    def _op_StopTransformJob(self, request: dict) -> dict:
        name = request.get("TransformJobName")
        with self.jobs.lock:
            job = self._job(name)
            if job["TransformJobStatus"] != "InProgress":
                raise validation(
                    "The request was rejected because the transform job is in status "
                    f"{job['TransformJobStatus']}."
                )
            self.jobs.update(name, TransformJobStatus="Stopping", LastModifiedTime=time.time())
        self.runner.request_stop(name)
        return {}

    def _op_ListTransformJobs(self, request: dict) -> dict:
        contains = request.get("NameContains", "")
        status = request.get("StatusEquals")
        items = [
            job
            for job in self.jobs.all()
            if contains in job["TransformJobName"]
            and (not status or job["TransformJobStatus"] == status)
            and time_filters(job, request)
        ]
        found, token = page(
            items,
            request,
            {"Name": "TransformJobName", "CreationTime": "CreationTime", "Status": "TransformJobStatus"},
            "CreationTime",
        )
        fields = (
            "TransformJobName",
            "TransformJobArn",
            "CreationTime",
            "TransformEndTime",
            "LastModifiedTime",
            "TransformJobStatus",
            "FailureReason",
        )
        summaries = [{key: job[key] for key in fields if key in job} for job in found]
        return {"TransformJobSummaries": summaries, **({"NextToken": token} if token else {})}
