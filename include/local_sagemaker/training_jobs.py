"""The control plane of training jobs: ``Create/Describe/Stop/ListTrainingJobs``.

Requests reach these handlers checked against the service model; the handlers add what SageMaker checks
beyond it (an image whose algorithm the engine runs, unique channel names, S3 data sources) and store the
job shaped like ``DescribeTrainingJob``; the :class:`~include.local_sagemaker.training.TrainingRunner`
does the work.
"""

from __future__ import annotations

import time

from include.local_sagemaker.api_support import (
    Listing,
    ResourceFamily,
    check_runnable_image,
    copied,
    require,
    tags_of,
)
from include.local_sagemaker.errors import validation
from include.local_sagemaker.names import arn

__all__ = ["TrainingJobs"]

# The data types the engine's channels read; the model also admits AugmentedManifestFile and Converse.
_S3_DATA_TYPES = {"S3Prefix", "ManifestFile"}
_LISTING = Listing(
    "TrainingJobSummaries",
    "TrainingJobName",
    (
        "TrainingJobName",
        "TrainingJobArn",
        "CreationTime",
        "TrainingEndTime",
        "LastModifiedTime",
        "TrainingJobStatus",
        "SecondaryStatus",
    ),
    status_field="TrainingJobStatus",
)


def _checked_channel(channel: dict) -> dict:
    source = channel["DataSource"].get("S3DataSource")
    if not source:
        raise validation(f"Channel {channel['ChannelName']}: only DataSource.S3DataSource is supported")
    if source["S3DataType"] not in _S3_DATA_TYPES:
        raise validation(
            f"Channel {channel['ChannelName']}: S3DataType {source['S3DataType']!r} is not supported by "
            f"the local engine; use one of {sorted(_S3_DATA_TYPES)}"
        )
    distribution = source.get("S3DataDistributionType", "FullyReplicated")
    return {
        "CompressionType": "None",
        "RecordWrapperType": "None",
        **channel,
        "DataSource": {"S3DataSource": {**source, "S3DataDistributionType": distribution}},
    }


def _checked_algorithm(request: dict) -> dict:
    algorithm = request["AlgorithmSpecification"]
    if algorithm.get("AlgorithmName") and not algorithm.get("TrainingImage"):
        raise validation(
            "AlgorithmName (marketplace algorithms) is not supported by the local engine; pass TrainingImage"
        )
    if algorithm.get("ContainerEntrypoint") or algorithm.get("ContainerArguments"):
        # AWS runs this command in the image instead of the image's own entry point. The SageMaker SDK
        # v3's ModelTrainer(source_code=...) sends one (bash running its sm_train.sh driver from
        # /opt/ml/input/data/sm_drivers); without the image there is nothing to run it in, and the job
        # would otherwise fail later for a reason that does not name the cause.
        raise validation(
            "AlgorithmSpecification.ContainerEntrypoint and ContainerArguments are not supported by the "
            "local engine, which runs no container image. For script mode, name the entry point in the "
            "sagemaker_program and sagemaker_submit_directory hyperparameters (as the SageMaker SDK v2's "
            "framework estimators do)."
        )
    require(algorithm, "TrainingImage", path="algorithmSpecification")
    check_runnable_image(algorithm["TrainingImage"])
    return algorithm


class TrainingJobs(ResourceFamily):
    """``*TrainingJob*`` operations over the ``training-jobs`` store."""

    listing = _LISTING
    missing = "Requested resource not found."
    duplicate = (
        "Training job names must be unique within an AWS account and region, and a training job "
        "with this name already exists ({arn})"
    )
    duplicate_code = "ResourceInUse"
    stop_refusal = "The request was rejected because the training job is in status {TrainingJobStatus}."

    def _op_CreateTrainingJob(self, request: dict) -> dict:
        name = request["TrainingJobName"]
        # The model makes these optional for serverless jobs and instance groups, which the engine
        # does not run.
        require(request, "AlgorithmSpecification", "ResourceConfig", "StoppingCondition")
        algorithm = _checked_algorithm(request)
        resources = dict(request["ResourceConfig"])
        require(resources, "InstanceType", "VolumeSizeInGB", path="resourceConfig")
        resources.setdefault("InstanceCount", 1)
        if resources["InstanceCount"] < 1:
            # The model admits 0 for jobs on instance groups.
            raise validation(
                f"ResourceConfig.InstanceCount must be at least 1, got {resources['InstanceCount']}"
            )
        stopping = dict(request["StoppingCondition"])
        stopping.setdefault("MaxRuntimeInSeconds", 86400)
        channels = [_checked_channel(channel) for channel in request.get("InputDataConfig") or []]
        names = [channel["ChannelName"] for channel in channels]
        if len(set(names)) != len(names):
            raise validation(f"Channel names must be unique within a training job: {names}")

        now = time.time()
        document = {
            "TrainingJobName": name,
            "TrainingJobArn": arn("TrainingJob", name),
            "TrainingJobStatus": "InProgress",
            "SecondaryStatus": "Starting",
            "SecondaryStatusTransitions": [
                {"Status": "Starting", "StartTime": now, "StatusMessage": "Launching requested ML instances"}
            ],
            "AlgorithmSpecification": {"EnableSageMakerMetricsTimeSeries": False, **algorithm},
            "RoleArn": request["RoleArn"],
            "HyperParameters": request.get("HyperParameters") or {},
            "InputDataConfig": channels,
            "OutputDataConfig": request["OutputDataConfig"],
            "ResourceConfig": resources,
            "StoppingCondition": stopping,
            "CreationTime": now,
            "LastModifiedTime": now,
            "EnableNetworkIsolation": bool(request.get("EnableNetworkIsolation", False)),
            "EnableInterContainerTrafficEncryption": bool(
                request.get("EnableInterContainerTrafficEncryption", False)
            ),
            "EnableManagedSpotTraining": bool(request.get("EnableManagedSpotTraining", False)),
            "_Tags": tags_of(request),
            **copied(
                request,
                ("VpcConfig", "CheckpointConfig", "Environment", "DebugHookConfig", "ExperimentConfig"),
            ),
        }
        return self.create(document)

    _op_DescribeTrainingJob = ResourceFamily.describe
    _op_StopTrainingJob = ResourceFamily.stop
    _op_ListTrainingJobs = ResourceFamily.list

    def _stopping(self, job: dict, now: float) -> dict:
        transitions = job["SecondaryStatusTransitions"]
        transitions[-1].setdefault("EndTime", now)
        transitions.append(
            {"Status": "Stopping", "StartTime": now, "StatusMessage": "Stopping the training job"}
        )
        return {"SecondaryStatus": "Stopping", "SecondaryStatusTransitions": transitions}
