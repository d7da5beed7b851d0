"""The SageMaker control plane (awsJson 1.1, ``X-Amz-Target: SageMaker.<Operation>``).

Training jobs, models, endpoint configs, endpoints and their tags, with the response fields, ARNs,
statuses and errors of the real service. Every request is first checked against botocore's service
model (:mod:`~include.local_sagemaker.request_validation`); the handlers then check what AWS checks
beyond the model: an unknown name in ``Describe*`` is a 400 ``ValidationException`` (the Airflow
provider's "does this job exist" check depends on it), a duplicate endpoint is ``Cannot create already
existing endpoint ...`` (the provider then updates it). Documents are stored shaped like the
``Describe*`` responses; keys starting with ``_`` are the engine's own bookkeeping and never leave it.
"""

from __future__ import annotations

import time

from include.local_sagemaker.api_support import check_runnable_image
from include.local_sagemaker.api_support import page as _page
from include.local_sagemaker.api_support import public as _public
from include.local_sagemaker.api_support import require as _require
from include.local_sagemaker.api_support import tags_of as _tags
from include.local_sagemaker.api_support import time_filters as _time_filters
from include.local_sagemaker.errors import ServiceError, resource_in_use, validation
from include.local_sagemaker.hosting import Hosting
from include.local_sagemaker.names import arn
from include.local_sagemaker.request_validation import validate_request
from include.local_sagemaker.state import ResourceStore
from include.local_sagemaker.training import TrainingRunner

# The data types the engine's channels read; the model also admits AugmentedManifestFile and Converse.
_S3_DATA_TYPES = {"S3Prefix", "ManifestFile"}


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
        """Answer ``operation``: AWS's error for a request the service model refuses, else the handler's.

        Past validation, any exception but a ``ServiceError`` is an engine bug: it propagates, and the
        front door logs it with its traceback and answers 500 ``InternalFailure``.
        """
        handler = self._handler(operation)
        if handler is None:
            raise ServiceError(
                "UnknownOperationException", f"The local SageMaker engine does not implement {operation}."
            )
        validate_request(operation, request)
        return handler(request)

    # -- training jobs ------------------------------------------------------------------------
    def _op_CreateTrainingJob(self, request: dict) -> dict:
        name = request["TrainingJobName"]
        # The model makes these optional for serverless jobs and instance groups, which the engine
        # does not run.
        _require(request, "AlgorithmSpecification", "ResourceConfig", "StoppingCondition")
        algorithm = request["AlgorithmSpecification"]
        if algorithm.get("AlgorithmName") and not algorithm.get("TrainingImage"):
            raise validation(
                "AlgorithmName (marketplace algorithms) is not supported by the local engine; "
                "pass TrainingImage"
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
        _require(algorithm, "TrainingImage", path="algorithmSpecification")
        check_runnable_image(algorithm["TrainingImage"])
        resources = dict(request["ResourceConfig"])
        _require(resources, "InstanceType", "VolumeSizeInGB", path="resourceConfig")
        resources.setdefault("InstanceCount", 1)
        if resources["InstanceCount"] < 1:
            # The model admits 0 for jobs on instance groups.
            raise validation(
                f"ResourceConfig.InstanceCount must be at least 1, got {resources['InstanceCount']}"
            )
        stopping = dict(request["StoppingCondition"])
        stopping.setdefault("MaxRuntimeInSeconds", 86400)
        hyperparameters = request.get("HyperParameters") or {}
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

    def _job(self, name: str) -> dict:
        job = self.jobs.get(name)
        if job is None:
            raise validation("Requested resource not found.")
        return job

    def _op_DescribeTrainingJob(self, request: dict) -> dict:
        return _public(self._job(request["TrainingJobName"]))

    def _op_StopTrainingJob(self, request: dict) -> dict:
        name = request["TrainingJobName"]
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
        name = request["ModelName"]
        if request.get("PrimaryContainer"):
            containers = {"primaryContainer": request["PrimaryContainer"]}
        else:
            containers = {
                f"containers.{i}.member": c for i, c in enumerate(request.get("Containers") or [], 1)
            }
        if not containers:
            raise validation("A model needs PrimaryContainer or Containers")
        for path, container in containers.items():
            # The model makes Image optional for containers taken from a model package.
            if not container.get("ModelPackageName"):
                _require(container, "Image", path=path)
        model_arn = arn("Model", name)
        document = {
            "ModelName": name,
            "ModelArn": model_arn,
            "CreationTime": time.time(),
            "EnableNetworkIsolation": bool(request.get("EnableNetworkIsolation", False)),
            "_Tags": _tags(request),
        }
        first = next(iter(containers.values()))
        if first.get("ModelPackageName"):
            document["_ServingContainer"] = self._package_container(first)
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

    def _package_container(self, container: dict) -> dict:
        """What a container taken from a model package serves: the package's image, model data and
        environment, with the container's own ``Environment`` (the SDK's ``ModelPackage`` sends one beside
        ``ModelPackageName`` when given) laid over the package's."""
        for extension in self.extensions:
            inference_container = getattr(extension, "inference_container", None)
            if inference_container is not None:
                served = dict(inference_container(container["ModelPackageName"]))
                break
        else:
            raise validation("ModelPackageName needs the model registry, which this engine does not run")
        environment = {**(served.get("Environment") or {}), **(container.get("Environment") or {})}
        if environment:
            served["Environment"] = environment
        return served

    def _model(self, name: str) -> dict:
        model = self.models.get(name)
        if model is None:
            raise validation(f'Could not find model "{arn("Model", name)}".')
        return model

    def _op_DescribeModel(self, request: dict) -> dict:
        return _public(self._model(request["ModelName"]))

    def _op_DeleteModel(self, request: dict) -> dict:
        with self.models.lock:
            self._model(request["ModelName"])
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
        name = request["EndpointConfigName"]
        variants = []
        seen = set()
        for index, variant in enumerate(request["ProductionVariants"], 1):
            if variant["VariantName"] in seen:
                raise validation(
                    f"Variant names must be unique within an endpoint configuration: {variant['VariantName']}"
                )
            seen.add(variant["VariantName"])
            # The model makes ModelName optional for endpoints of inference components.
            _require(variant, "ModelName", path=f"productionVariants.{index}.member")
            self._model(variant["ModelName"])
            variants.append(
                {
                    **variant,
                    "InitialVariantWeight": float(variant.get("InitialVariantWeight", 1.0)),
                    "InitialInstanceCount": variant.get("InitialInstanceCount", 1),
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
        config = self.endpoint_configs.get(name)
        if config is None:
            raise validation(f'Could not find endpoint configuration "{arn("EndpointConfig", name)}".')
        return config

    def _op_DescribeEndpointConfig(self, request: dict) -> dict:
        return _public(self._endpoint_config(request["EndpointConfigName"]))

    def _op_DeleteEndpointConfig(self, request: dict) -> dict:
        with self.endpoint_configs.lock:
            self._endpoint_config(request["EndpointConfigName"])
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
        name = request["EndpointName"]
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
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            raise validation(f'Could not find endpoint "{arn("Endpoint", name)}".')
        return endpoint

    def _op_DescribeEndpoint(self, request: dict) -> dict:
        return _public(self._endpoint(request["EndpointName"]))

    def _op_UpdateEndpoint(self, request: dict) -> dict:
        name = request["EndpointName"]
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
            self._endpoint(request["EndpointName"])
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
        store, name = self._store_for_arn(request["ResourceArn"])
        with store.lock:
            tags = {tag["Key"]: tag for tag in store.get(name).get("_Tags", [])}
            tags.update({tag["Key"]: tag for tag in _tags(request)})
            store.update(name, _Tags=list(tags.values()))
        return {"Tags": list(tags.values())}

    def _op_DeleteTags(self, request: dict) -> dict:
        store, name = self._store_for_arn(request["ResourceArn"])
        doomed = set(request["TagKeys"])
        with store.lock:
            store.update(
                name, _Tags=[tag for tag in store.get(name).get("_Tags", []) if tag["Key"] not in doomed]
            )
        return {}

    def _op_ListTags(self, request: dict) -> dict:
        store, name = self._store_for_arn(request["ResourceArn"])
        return {"Tags": store.get(name).get("_Tags", [])}
