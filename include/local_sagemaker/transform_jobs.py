"""The control plane of batch transform: ``Create/Describe/Stop/ListTransformJobs``.

Requests reach these handlers checked against the service model (types, enums, patterns); the
handlers add SageMaker's rules beyond it (the 100 MB limit on ``MaxPayloadInMB`` and on
``MaxConcurrentTransforms x MaxPayloadInMB``, an existing model) and the engine's own limits, and store
the job shaped like ``DescribeTransformJob``; the
:class:`~include.local_sagemaker.transform.TransformRunner` does the work.
"""

from __future__ import annotations

import time

from include.local_sagemaker.api_support import page, public, tags_of, time_filters
from include.local_sagemaker.errors import resource_in_use, validation
from include.local_sagemaker.names import arn
from include.local_sagemaker.state import ResourceStore
from include.local_sagemaker.transform import TransformRunner

# What the engine's runner implements, out of what the model admits.
_SPLIT_TYPES = ("None", "Line", "RecordIO")
_S3_DATA_TYPES = ("S3Prefix", "ManifestFile")
_DEFAULT_MAX_PAYLOAD_MB = 6
_MAX_PAYLOAD_MB = 100


def _supported(field: str, value: str, supported: tuple[str, ...]) -> str:
    if value not in supported:
        raise validation(
            f"{field} {value!r} is not supported by the local engine; use one of {list(supported)}"
        )
    return value


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
        name = request["TransformJobName"]
        transform_input = dict(request["TransformInput"])
        source = transform_input["DataSource"]["S3DataSource"]
        _supported("S3DataType", source["S3DataType"], _S3_DATA_TYPES)
        transform_input["SplitType"] = _supported(
            "SplitType", transform_input.get("SplitType", "None"), _SPLIT_TYPES
        )
        transform_input.setdefault("CompressionType", "None")
        transform_output = dict(request["TransformOutput"])
        transform_output.setdefault("AssembleWith", "None")
        resources = dict(request["TransformResources"])
        strategy = request.get("BatchStrategy", "MultiRecord")
        max_payload = request.get("MaxPayloadInMB", _DEFAULT_MAX_PAYLOAD_MB)
        if max_payload > _MAX_PAYLOAD_MB:
            raise validation(f"MaxPayloadInMB ({max_payload}) must not be greater than {_MAX_PAYLOAD_MB}")
        if max_payload == 0:
            raise validation(
                "MaxPayloadInMB=0 asks for chunked (streaming) transfer, which the local engine's "
                "containers do not support; use a limit between 1 and 100"
            )
        # 0, like leaving it out, lets SageMaker choose; without an execution-parameters endpoint
        # it chooses 1.
        concurrency = request.get("MaxConcurrentTransforms") or 1
        if concurrency * max_payload > _MAX_PAYLOAD_MB:
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

    def _job(self, name: str) -> dict:
        job = self.jobs.get(name)
        if job is None:
            raise validation(f"Could not find requested job with name {name}")
        return job

    def _op_DescribeTransformJob(self, request: dict) -> dict:
        return public(self._job(request["TransformJobName"]))

    def _op_StopTransformJob(self, request: dict) -> dict:
        name = request["TransformJobName"]
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
