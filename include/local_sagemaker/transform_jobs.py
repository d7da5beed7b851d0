"""The control plane of batch transform: ``Create/Describe/Stop/ListTransformJobs``.

Requests reach these handlers checked against the service model (types, enums, patterns); the
handlers add SageMaker's rules beyond it (the 100 MB limit on ``MaxPayloadInMB`` and on
``MaxConcurrentTransforms x MaxPayloadInMB``, an existing model) and the engine's own limits, and store
the job shaped like ``DescribeTransformJob``; the
:class:`~include.local_sagemaker.transform.TransformRunner` does the work.
"""

from __future__ import annotations

import time

from include.local_sagemaker.api_support import Listing, ResourceFamily, copied, tags_of
from include.local_sagemaker.errors import validation
from include.local_sagemaker.models import Models
from include.local_sagemaker.names import arn
from include.local_sagemaker.state import ResourceStore
from include.local_sagemaker.transform import TransformRunner

# What the engine's runner implements, out of what the model admits.
_SPLIT_TYPES = ("None", "Line", "RecordIO")
_S3_DATA_TYPES = ("S3Prefix", "ManifestFile")
_DEFAULT_MAX_PAYLOAD_MB = 6
_MAX_PAYLOAD_MB = 100
_LISTING = Listing(
    "TransformJobSummaries",
    "TransformJobName",
    (
        "TransformJobName",
        "TransformJobArn",
        "CreationTime",
        "TransformEndTime",
        "LastModifiedTime",
        "TransformJobStatus",
        "FailureReason",
    ),
    status_field="TransformJobStatus",
)


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


class TransformJobs(ResourceFamily):
    """``*TransformJob*`` operations over the ``transform-jobs`` store."""

    listing = _LISTING
    missing = "Could not find requested job with name {name}"
    duplicate = (
        "Job name must be unique within an AWS account and region, and a job with this name already "
        "exists ({arn})"
    )
    duplicate_code = "ResourceInUse"
    stop_refusal = "The request was rejected because the transform job is in status {TransformJobStatus}."

    def __init__(self, jobs: ResourceStore, models: Models, runner: TransformRunner):
        super().__init__(jobs, runner)
        self.models = models

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
        self.models.get(request["ModelName"])

        now = time.time()
        document = {
            "TransformJobName": name,
            "TransformJobArn": arn("TransformJob", name),
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
        document.update(
            copied(
                request,
                ("ModelClientConfig", "ExperimentConfig", "DataCaptureConfig", "BatchDataCaptureConfig"),
            )
        )
        return self.create(document)

    _op_DescribeTransformJob = ResourceFamily.describe
    _op_StopTransformJob = ResourceFamily.stop
    _op_ListTransformJobs = ResourceFamily.list
