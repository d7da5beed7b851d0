"""The SageMaker control plane (awsJson 1.1, ``X-Amz-Target: SageMaker.<Operation>``).

Training jobs, models, endpoint configs, endpoints and their tags, with the response fields, ARNs,
statuses and errors of the real service: an unknown name in ``Describe*`` is a 400
``ValidationException`` (the Airflow provider's "does this job exist" check depends on it), a
duplicate endpoint is ``Cannot create already existing endpoint ...`` (the provider then updates it).
Documents are stored shaped like the ``Describe*`` responses; keys starting with ``_`` are the
engine's own bookkeeping and never leave it.
"""

from __future__ import annotations

import time

from include.local_sagemaker.algorithms import registry
from include.local_sagemaker.api_support import page as _page
from include.local_sagemaker.api_support import public as _public
from include.local_sagemaker.api_support import require as _require
from include.local_sagemaker.api_support import tags_of as _tags
from include.local_sagemaker.api_support import time_filters as _time_filters
from include.local_sagemaker.errors import ServiceError, resource_in_use, validation
from include.local_sagemaker.hosting import Hosting
from include.local_sagemaker.names import (
    arn,
    check_channel_name,
    check_entity_name,
    check_model_name,
    split_s3_uri,
)
from include.local_sagemaker.state import ResourceStore
from include.local_sagemaker.training import TrainingRunner

_S3_DATA_TYPES = {"S3Prefix", "ManifestFile"}
_DISTRIBUTIONS = {"FullyReplicated", "ShardedByS3Key"}
_INPUT_MODES = {"File", "Pipe", "FastFile"}
_MAX_HYPERPARAMETERS = 100


class SageMakerApi:
    """Dispatches SageMaker operations to handlers named ``_op_<Operation>``."""

    def __init__(
        self,
        jobs: ResourceStore,
        models: ResourceStore,
        endpoint_configs: ResourceStore,
        endpoints: ResourceStore,
        training: TrainingRunner,
        hosting: Hosting,
        extensions: tuple = (),
    ):
        self.jobs = jobs
        self.models = models
        self.endpoint_configs = endpoint_configs
        self.endpoints = endpoints
        self.training = training
        self.hosting = hosting
        # Further services (model registry, transform, tuning) with their own ``_op_<Operation>``
        # handlers and ``tagged_stores()``; kept in their own modules so each stays one idea.
        self.extensions = tuple(extensions)

    def _handler(self, operation: str):
        for owner in (self, *self.extensions):
            handler = getattr(owner, f"_op_{operation}", None)
            if handler is not None:
                return handler
        return None

    def handle(self, operation: str, request: dict) -> dict:
        handler = self._handler(operation)
        if handler is None:
            raise ServiceError(
                "UnknownOperationException", f"The local SageMaker engine does not implement {operation}."
            )
        if not isinstance(request, dict):
            raise ServiceError("SerializationException", "The request body must be a JSON object")
        try:
            return handler(request)
        except (KeyError, TypeError, ValueError) as error:
            raise validation(f"Malformed {operation} request: {type(error).__name__}: {error}") from error

    # -- training jobs ------------------------------------------------------------------------
    def _op_CreateTrainingJob(self, request: dict) -> dict:
        name = check_entity_name("trainingJobName", request.get("TrainingJobName"))
        _require(
            request,
            "AlgorithmSpecification",
            "RoleArn",
            "OutputDataConfig",
            "ResourceConfig",
            "StoppingCondition",
        )
        algorithm = request["AlgorithmSpecification"]
        _require(algorithm, "TrainingInputMode")
        if algorithm.get("AlgorithmName") and not algorithm.get("TrainingImage"):
            raise validation(
                "AlgorithmName (marketplace algorithms) is not supported by the local engine; "
                "pass TrainingImage"
            )
        _require(algorithm, "TrainingImage")
        repository = registry.repository_of(algorithm["TrainingImage"])
        if repository not in registry._MODULES:
            raise validation(
                f"Image {algorithm['TrainingImage']} (repository {repository}) is not an algorithm the local "
                f"engine runs; known repositories: {', '.join(sorted(registry._MODULES))}"
            )
        if algorithm["TrainingInputMode"] not in _INPUT_MODES:
            raise validation(
                f"TrainingInputMode {algorithm['TrainingInputMode']!r} must be one of {sorted(_INPUT_MODES)}"
            )
        _require(request["OutputDataConfig"], "S3OutputPath")
        split_s3_uri(request["OutputDataConfig"]["S3OutputPath"], "outputDataConfig.s3OutputPath")
        resources = dict(request["ResourceConfig"])
        _require(resources, "InstanceType", "VolumeSizeInGB")
        resources["InstanceCount"] = int(resources.get("InstanceCount", 1))
        if resources["InstanceCount"] < 1:
            raise validation(
                f"ResourceConfig.InstanceCount must be at least 1, got {resources['InstanceCount']}"
            )
        stopping = dict(request["StoppingCondition"])
        stopping["MaxRuntimeInSeconds"] = int(stopping.get("MaxRuntimeInSeconds", 86400))
        if stopping["MaxRuntimeInSeconds"] < 1:
            raise validation(
                "StoppingCondition.MaxRuntimeInSeconds must be at least 1, "
                f"got {stopping['MaxRuntimeInSeconds']}"
            )
        hyperparameters = request.get("HyperParameters") or {}
        if len(hyperparameters) > _MAX_HYPERPARAMETERS:
            raise validation(f"HyperParameters has {len(hyperparameters)} entries; at most 100 are allowed")
        for key, value in hyperparameters.items():
            if not isinstance(value, str) or len(value) > 2500 or len(key) > 256:
                raise validation(
                    f"Hyperparameter {key!r}: value {value!r} must be a string of at most 2500 characters"
                )
        channels = [self._checked_channel(channel) for channel in request.get("InputDataConfig") or []]
        names = [channel["ChannelName"] for channel in channels]
        if len(set(names)) != len(names):
            raise validation(f"Channel names must be unique within a training job: {names}")

        now = time.time()
        job_arn = arn("TrainingJob", name)
        document = {
            "TrainingJobName": name,
            "TrainingJobArn": job_arn,
            "TrainingJobStatus": "InProgress",
            "SecondaryStatus": "Starting",
            "SecondaryStatusTransitions": [
                {"Status": "Starting", "StartTime": now, "StatusMessage": "Launching requested ML instances"}
            ],
            "AlgorithmSpecification": {"EnableSageMakerMetricsTimeSeries": False, **algorithm},
            "RoleArn": request["RoleArn"],
            "HyperParameters": hyperparameters,
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
            "_Tags": _tags(request),
        }
        for optional in (
            "VpcConfig",
            "CheckpointConfig",
            "Environment",
            "DebugHookConfig",
            "ExperimentConfig",
        ):
            if optional in request:
                document[optional] = request[optional]
        with self.jobs.lock:
            if name in self.jobs:
                raise resource_in_use(
                    "Training job names must be unique within an AWS account and region, and a training job "
                    f"with this name already exists ({job_arn})"
                )
            self.jobs.put(name, document)
        self.training.start(name)
        return {"TrainingJobArn": job_arn}

    @staticmethod
    def _checked_channel(channel: dict) -> dict:
        check_channel_name(channel.get("ChannelName"))
        source = (channel.get("DataSource") or {}).get("S3DataSource")
        if not source:
            raise validation(f"Channel {channel['ChannelName']}: only DataSource.S3DataSource is supported")
        _require(source, "S3DataType", "S3Uri")
        if source["S3DataType"] not in _S3_DATA_TYPES:
            raise validation(
                f"Channel {channel['ChannelName']}: S3DataType {source['S3DataType']!r} "
                f"must be one of {sorted(_S3_DATA_TYPES)}"
            )
        split_s3_uri(source["S3Uri"], "inputDataConfig.dataSource.s3DataSource.s3Uri")
        distribution = source.get("S3DataDistributionType", "FullyReplicated")
        if distribution not in _DISTRIBUTIONS:
            raise validation(
                f"Channel {channel['ChannelName']}: S3DataDistributionType {distribution!r} "
                f"must be one of {sorted(_DISTRIBUTIONS)}"
            )
        return {
            "CompressionType": "None",
            "RecordWrapperType": "None",
            **channel,
            "DataSource": {"S3DataSource": {**source, "S3DataDistributionType": distribution}},
        }

    def _job(self, name: str) -> dict:
        job = self.jobs.get(name) if isinstance(name, str) else None
        if job is None:
            raise validation("Requested resource not found.")
        return job

    def _op_DescribeTrainingJob(self, request: dict) -> dict:
        return _public(self._job(request.get("TrainingJobName")))

    def _op_StopTrainingJob(self, request: dict) -> dict:
        name = request.get("TrainingJobName")
        with self.jobs.lock:
            job = self._job(name)
            if job["TrainingJobStatus"] != "InProgress":
                raise validation(
                    "The request was rejected because the training job is in status "
                    f"{job['TrainingJobStatus']}."
                )
            now = time.time()
            transitions = job["SecondaryStatusTransitions"]
            transitions[-1].setdefault("EndTime", now)
            transitions.append(
                {"Status": "Stopping", "StartTime": now, "StatusMessage": "Stopping the training job"}
            )
            self.jobs.update(
                name,
                TrainingJobStatus="Stopping",
                SecondaryStatus="Stopping",
                SecondaryStatusTransitions=transitions,
                LastModifiedTime=now,
            )
        self.training.request_stop(name)
        return {}

    def _op_ListTrainingJobs(self, request: dict) -> dict:
        contains = request.get("NameContains", "")
        status = request.get("StatusEquals")
        items = [
            job
            for job in self.jobs.all()
            if contains in job["TrainingJobName"]
            and (not status or job["TrainingJobStatus"] == status)
            and _time_filters(job, request)
        ]
        page, token = _page(
            items,
            request,
            {"Name": "TrainingJobName", "CreationTime": "CreationTime", "Status": "TrainingJobStatus"},
            "CreationTime",
        )
        summaries = [
            {
                key: job[key]
                for key in (
                    "TrainingJobName",
                    "TrainingJobArn",
                    "CreationTime",
                    "TrainingEndTime",
                    "LastModifiedTime",
                    "TrainingJobStatus",
                    "SecondaryStatus",
                )
                if key in job
            }
            for job in page
        ]
        return {"TrainingJobSummaries": summaries, **({"NextToken": token} if token else {})}

    # -- models -------------------------------------------------------------------------------
    def _op_CreateModel(self, request: dict) -> dict:
        name = check_model_name("modelName", request.get("ModelName"))
        containers = (
            [request["PrimaryContainer"]]
            if request.get("PrimaryContainer")
            else request.get("Containers") or []
        )
        if not containers:
            raise validation("A model needs PrimaryContainer or Containers")
        for container in containers:
            _require(container, "Image")
            if container.get("ModelDataUrl"):
                split_s3_uri(container["ModelDataUrl"], "primaryContainer.modelDataUrl")
        model_arn = arn("Model", name)
        document = {
            "ModelName": name,
            "ModelArn": model_arn,
            "CreationTime": time.time(),
            "EnableNetworkIsolation": bool(request.get("EnableNetworkIsolation", False)),
            "_Tags": _tags(request),
        }
        for optional in (
            "PrimaryContainer",
            "Containers",
            "ExecutionRoleArn",
            "VpcConfig",
            "InferenceExecutionConfig",
        ):
            if optional in request:
                document[optional] = request[optional]
        with self.models.lock:
            if name in self.models:
                raise validation(f'Cannot create already existing model "{model_arn}".')
            self.models.put(name, document)
        return {"ModelArn": model_arn}

    def _model(self, name: str) -> dict:
        model = self.models.get(name) if isinstance(name, str) else None
        if model is None:
            raise validation(f'Could not find model "{arn("Model", str(name))}".')
        return model

    def _op_DescribeModel(self, request: dict) -> dict:
        return _public(self._model(request.get("ModelName")))

    def _op_DeleteModel(self, request: dict) -> dict:
        with self.models.lock:
            self._model(request.get("ModelName"))
            self.models.delete(request["ModelName"])
        return {}

    def _op_ListModels(self, request: dict) -> dict:
        contains = request.get("NameContains", "")
        items = [
            model
            for model in self.models.all()
            if contains in model["ModelName"] and _time_filters(model, request)
        ]
        page, token = _page(
            items, request, {"Name": "ModelName", "CreationTime": "CreationTime"}, "CreationTime"
        )
        summaries = [{key: model[key] for key in ("ModelName", "ModelArn", "CreationTime")} for model in page]
        return {"Models": summaries, **({"NextToken": token} if token else {})}

    # -- endpoint configs ---------------------------------------------------------------------
    def _op_CreateEndpointConfig(self, request: dict) -> dict:
        name = check_entity_name("endpointConfigName", request.get("EndpointConfigName"))
        _require(request, "ProductionVariants")
        variants = []
        seen = set()
        for variant in request["ProductionVariants"]:
            check_entity_name("productionVariants.variantName", variant.get("VariantName"))
            if variant["VariantName"] in seen:
                raise validation(
                    f"Variant names must be unique within an endpoint configuration: {variant['VariantName']}"
                )
            seen.add(variant["VariantName"])
            _require(variant, "ModelName")
            self._model(variant["ModelName"])
            weight = float(variant.get("InitialVariantWeight", 1.0))
            if weight < 0:
                raise validation(f"InitialVariantWeight must not be negative, got {weight}")
            variants.append(
                {
                    **variant,
                    "InitialVariantWeight": weight,
                    "InitialInstanceCount": int(variant.get("InitialInstanceCount", 1)),
                }
            )
        config_arn = arn("EndpointConfig", name)
        document = {
            "EndpointConfigName": name,
            "EndpointConfigArn": config_arn,
            "ProductionVariants": variants,
            "CreationTime": time.time(),
            "_Tags": _tags(request),
        }
        for optional in ("DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig"):
            if optional in request:
                document[optional] = request[optional]
        with self.endpoint_configs.lock:
            if name in self.endpoint_configs:
                raise validation(f'Cannot create already existing endpoint configuration "{config_arn}".')
            self.endpoint_configs.put(name, document)
        return {"EndpointConfigArn": config_arn}

    def _endpoint_config(self, name: str) -> dict:
        config = self.endpoint_configs.get(name) if isinstance(name, str) else None
        if config is None:
            raise validation(f'Could not find endpoint configuration "{arn("EndpointConfig", str(name))}".')
        return config

    def _op_DescribeEndpointConfig(self, request: dict) -> dict:
        return _public(self._endpoint_config(request.get("EndpointConfigName")))

    def _op_DeleteEndpointConfig(self, request: dict) -> dict:
        with self.endpoint_configs.lock:
            self._endpoint_config(request.get("EndpointConfigName"))
            self.endpoint_configs.delete(request["EndpointConfigName"])
        return {}

    def _op_ListEndpointConfigs(self, request: dict) -> dict:
        contains = request.get("NameContains", "")
        items = [
            c
            for c in self.endpoint_configs.all()
            if contains in c["EndpointConfigName"] and _time_filters(c, request)
        ]
        page, token = _page(
            items, request, {"Name": "EndpointConfigName", "CreationTime": "CreationTime"}, "CreationTime"
        )
        summaries = [
            {key: c[key] for key in ("EndpointConfigName", "EndpointConfigArn", "CreationTime")} for c in page
        ]
        return {"EndpointConfigs": summaries, **({"NextToken": token} if token else {})}

    # -- endpoints ----------------------------------------------------------------------------
    def _op_CreateEndpoint(self, request: dict) -> dict:
        name = check_entity_name("endpointName", request.get("EndpointName"))
        _require(request, "EndpointConfigName")
        endpoint_arn = arn("Endpoint", name)
        with self.endpoints.lock:
            if name in self.endpoints:
                raise validation(f'Cannot create already existing endpoint "{endpoint_arn}".')
            self._endpoint_config(request["EndpointConfigName"])
            now = time.time()
            self.endpoints.put(
                name,
                {
                    "EndpointName": name,
                    "EndpointArn": endpoint_arn,
                    "EndpointConfigName": request["EndpointConfigName"],
                    "EndpointStatus": "Creating",
                    "CreationTime": now,
                    "LastModifiedTime": now,
                    "_Tags": _tags(request),
                },
            )
        self.hosting.create(name)
        return {"EndpointArn": endpoint_arn}

    def _endpoint(self, name: str) -> dict:
        endpoint = self.endpoints.get(name) if isinstance(name, str) else None
        if endpoint is None:
            raise validation(f'Could not find endpoint "{arn("Endpoint", str(name))}".')
        return endpoint

    def _op_DescribeEndpoint(self, request: dict) -> dict:
        return _public(self._endpoint(request.get("EndpointName")))

    def _op_UpdateEndpoint(self, request: dict) -> dict:
        name = request.get("EndpointName")
        _require(request, "EndpointName", "EndpointConfigName")
        with self.endpoints.lock:
            endpoint = self._endpoint(name)
            self._endpoint_config(request["EndpointConfigName"])
            if endpoint["EndpointStatus"] != "InService":
                raise validation(
                    f'Cannot update in-progress endpoint "{endpoint["EndpointArn"]}".'
                    if endpoint["EndpointStatus"] in {"Creating", "Updating", "Deleting"}
                    else f"Endpoint {name} is {endpoint['EndpointStatus']}; only InService endpoints can be "
                    "updated."
                )
            endpoint.pop("FailureReason", None)
            endpoint.update(
                EndpointStatus="Updating",
                LastModifiedTime=time.time(),
                _PendingEndpointConfigName=request["EndpointConfigName"],
            )
            self.endpoints.put(name, endpoint)
        self.hosting.update(name)
        return {"EndpointArn": endpoint["EndpointArn"]}

    def _op_DeleteEndpoint(self, request: dict) -> dict:
        with self.endpoints.lock:
            self._endpoint(request.get("EndpointName"))
            self.endpoints.update(
                request["EndpointName"], EndpointStatus="Deleting", LastModifiedTime=time.time()
            )
        self.hosting.delete(request["EndpointName"])
        return {}

    def _op_ListEndpoints(self, request: dict) -> dict:
        contains = request.get("NameContains", "")
        status = request.get("StatusEquals")
        items = [
            e
            for e in self.endpoints.all()
            if contains in e["EndpointName"]
            and (not status or e["EndpointStatus"] == status)
            and _time_filters(e, request)
        ]
        page, token = _page(
            items,
            request,
            {"Name": "EndpointName", "CreationTime": "CreationTime", "Status": "EndpointStatus"},
            "CreationTime",
        )
        summaries = [
            {
                key: e[key]
                for key in (
                    "EndpointName",
                    "EndpointArn",
                    "CreationTime",
                    "LastModifiedTime",
                    "EndpointStatus",
                )
            }
            for e in page
        ]
        return {"Endpoints": summaries, **({"NextToken": token} if token else {})}

    # -- tags ---------------------------------------------------------------------------------
    def _store_for_arn(self, resource_arn: str) -> tuple[ResourceStore, str]:
        for store, name_field, arn_field in (
            (self.jobs, "TrainingJobName", "TrainingJobArn"),
            (self.models, "ModelName", "ModelArn"),
            (self.endpoint_configs, "EndpointConfigName", "EndpointConfigArn"),
            (self.endpoints, "EndpointName", "EndpointArn"),
            *(entry for extension in self.extensions for entry in extension.tagged_stores()),
        ):
            for document in store.all():
                if document[arn_field] == resource_arn:
                    return store, document[name_field]
        raise validation(f"Resource {resource_arn} does not exist.")

    def _op_AddTags(self, request: dict) -> dict:
        store, name = self._store_for_arn(request.get("ResourceArn"))
        with store.lock:
            tags = {tag["Key"]: tag for tag in store.get(name).get("_Tags", [])}
            tags.update({tag["Key"]: tag for tag in _tags(request)})
            store.update(name, _Tags=list(tags.values()))
        return {"Tags": list(tags.values())}

    def _op_DeleteTags(self, request: dict) -> dict:
        store, name = self._store_for_arn(request.get("ResourceArn"))
        doomed = set(request.get("TagKeys") or [])
        with store.lock:
            store.update(
                name, _Tags=[tag for tag in store.get(name).get("_Tags", []) if tag["Key"] not in doomed]
            )
        return {}

    def _op_ListTags(self, request: dict) -> dict:
        store, name = self._store_for_arn(request.get("ResourceArn"))
        return {"Tags": store.get(name).get("_Tags", [])}
