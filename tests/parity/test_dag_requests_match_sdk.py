"""Every DAG's SageMaker requests equal the SageMaker Python SDK v2's for the same jobs, field by field,
wherever AWS acts on them.

Each test runs its DAG once against the local engine, recording the ``Create*`` requests its tasks send
(``conftest.py``), then has the SDK build the same estimator, model, transformer, tuner and ``register()``
from the DAG's own inputs: its params' defaults and constants (hyperparameters, instance type,
framework versions, transform settings) and the per-run values of the recorded requests (names, S3
locations, the role, volume size and run time limit, model data). Images are the SDK's own choice for
the region. Every field the two requests disagree on must be one listed below with the reason AWS does
the same either way; a listed difference that no longer occurs fails too, so the list stays true.
"""

from __future__ import annotations

import base64
import io
import tarfile
from pathlib import PurePosixPath

import boto3
import pytest

from include.sagemaker_requests.image_uris import DEFAULT_VERSIONS
from include.sagemaker_requests.names import run_names
from include.sagemaker_requests.source_dir import ARCHIVE_NAME
from include.sagemaker_requests.target import LOCAL_BUCKET
from include.sweeps.grid import expand
from include.training_scripts import MNIST_ENTRY_POINTS
from tests.support.request_comparison import ABSENT, Allowed, Renamed, compare, same_number

pytestmark = pytest.mark.slow

RECORDIO = "application/x-recordio-protobuf"
CSV = "text/csv"
# The pixels of an MNIST digit: the feature_dim of the recordIO data.
MNIST_FEATURES = 784
SDK_SOURCE = "sagemaker 2.x"

# -- the differences AWS does not act on ------------------------------------------------------------
SDK_OBSERVERS = (
    Allowed(
        "CreateTrainingJob",
        "DebugHookConfig.*",
        "The SDK turns on SageMaker Debugger's hook (no collections named: the container's defaults, saved "
        "under the output path; Estimator._prepare_debugger_for_training in sagemaker/estimator.py). It "
        "observes the job; the algorithm, data, hyperparameters and model are the same without it.",
        dag=ABSENT,
    ),
    Allowed(
        "CreateTrainingJob",
        "ProfilerConfig.*",
        "The SDK turns on SageMaker Profiler's system monitoring (_prepare_profiler_for_training): "
        "instance metrics written beside the output, nothing the job computes.",
        dag=ABSENT,
    ),
)


def _default_compression(operation: str, path: str) -> Allowed:
    return Allowed(
        operation,
        path,
        'The DAG spells out CompressionType "None", AWS\'s default when it is absent (CreateTrainingJob '
        "and CreateTransformJob API references), which the SDK leaves out.",
        dag="None",
        sdk=ABSENT,
    )


def _single_instance(request: dict) -> bool:
    definition = request.get("TrainingJobDefinition", request)
    return definition["ResourceConfig"]["InstanceCount"] == 1


def _record_set_channels(operation: str, prefix: str = "", sharded: bool = False) -> tuple[Allowed, ...]:
    """The channels of the SDK's RecordSet, against the DAG's explicit recordIO channels (``sharded``: which
    shard their objects as the RecordSet does)."""
    allowed = (
        Allowed(
            operation,
            f"{prefix}InputDataConfig[*].ContentType",
            "The SDK's RecordSet channel names no ContentType (RecordSet.records_s3_input in "
            "sagemaker/amazon/amazon_estimator.py): its data is recordIO-protobuf, the built-in "
            "algorithms' default; the DAG names that type.",
            dag=RECORDIO,
            sdk=ABSENT,
        ),
        Allowed(
            operation,
            f"{prefix}InputDataConfig[*].DataSource.S3DataSource.S3DataDistributionType",
            "The SDK's RecordSet shards its objects across instances (ShardedByS3Key), a one-instance DAG "
            "replicates them; on one instance both give it every object (kmeans_mnist, on the seed's two "
            "instances, shards as the SDK does).",
            dag="FullyReplicated",
            sdk="ShardedByS3Key",
            when=_single_instance,
        ),
        _default_compression(operation, f"{prefix}InputDataConfig[*].CompressionType"),
    )
    return tuple(a for a in allowed if not (sharded and a.path.endswith("S3DataDistributionType")))


def _endpoint_config_names() -> tuple[Allowed, ...]:
    reason = (
        "A name: the SDK's Model.deploy names the endpoint config after the endpoint, the DAG names each "
        "resource of a run after the run; the config's content is compared field by field."
    )
    return (
        Allowed("CreateEndpointConfig", "EndpointConfigName", reason),
        Allowed("CreateEndpoint", "EndpointConfigName", reason),
    )


SDK_PACKAGE_DEFAULTS = (
    Allowed(
        "CreateModelPackage",
        "ClientToken",
        "botocore fills ClientToken (a fresh idempotency UUID) into every CreateModelPackage call, the "
        "DAG's too; whether the recording sees it depends on the order of botocore's event handlers.",
    ),
    Allowed(
        "CreateModelPackage",
        "CertifyForMarketplace",
        "The SDK sends false, AWS's default for a package not listed on AWS Marketplace.",
        dag=ABSENT,
        sdk=False,
    ),
    Allowed(
        "CreateModelPackage",
        "SkipModelValidation",
        'The SDK sends "None", AWS\'s default (validate the model as usual).',
        dag=ABSENT,
        sdk="None",
    ),
)


def _framework_metadata(framework: str, version: str) -> tuple[Allowed, ...]:
    reason = (
        "A framework model's register() labels the container with its framework and version; the labels "
        "are metadata (model cards, Inference Recommender), serving runs the image with the environment."
    )
    return tuple(
        Allowed(
            "CreateModelPackage",
            f"InferenceSpecification.Containers[0].{field}",
            reason,
            dag=ABSENT,
            sdk=value,
        )
        for field, value in (("Framework", framework), ("FrameworkVersion", version))
    )


TUNING_RESOURCES = Renamed(
    "CreateHyperParameterTuningJob",
    "TrainingJobDefinition.HyperParameterTuningResourceConfig.",
    "TrainingJobDefinition.ResourceConfig.",
    "The SDK states a tuning job's instances in HyperParameterTuningResourceConfig, which AWS accepts in "
    "place of ResourceConfig with the same InstanceCount, InstanceType and VolumeSizeInGB; the values are "
    "compared under the DAG's name.",
)


# -- helpers --------------------------------------------------------------------------------------
def _resources(training: dict) -> dict:
    """The estimator arguments the SDK takes from the DAG's request: where and how long the job runs."""
    definition = training.get("TrainingJobDefinition", training)
    resources = definition["ResourceConfig"]
    return {
        "role": definition["RoleArn"],
        "instance_count": resources["InstanceCount"],
        "instance_type": resources["InstanceType"],
        "volume_size": resources["VolumeSizeInGB"],
        "max_run": definition["StoppingCondition"]["MaxRuntimeInSeconds"],
        "output_path": definition["OutputDataConfig"]["S3OutputPath"],
    }


def _record_sets(training: dict, feature_dim: int) -> list[dict]:
    """The DAG's channels as the SDK's RecordSets (``num_records`` is never sent)."""
    definition = training.get("TrainingJobDefinition", training)
    return [
        {
            "s3_data": channel["DataSource"]["S3DataSource"]["S3Uri"],
            "num_records": 1,
            "feature_dim": feature_dim,
            "s3_data_type": channel["DataSource"]["S3DataSource"]["S3DataType"],
            "channel": channel["ChannelName"],
        }
        for channel in definition["InputDataConfig"]
    ]


def _training_inputs(training: dict) -> dict:
    """The DAG's channels as the SDK's TrainingInputs, with their content types."""
    return {
        channel["ChannelName"]: {
            "s3_data": channel["DataSource"]["S3DataSource"]["S3Uri"],
            "content_type": channel["ContentType"],
        }
        for channel in training["InputDataConfig"]
    }


def _model(model_class: str, model: dict, **arguments) -> dict:
    container = model["PrimaryContainer"]
    return {
        "class": model_class,
        "arguments": {
            "model_data": container["ModelDataUrl"],
            "role": model["ExecutionRoleArn"],
            "name": model["ModelName"],
            **arguments,
        },
    }


def _deployed(model_spec: dict, endpoint: dict, config: dict) -> dict:
    variant = config["ProductionVariants"][0]
    deploy = {
        "initial_instance_count": variant["InitialInstanceCount"],
        "instance_type": variant["InstanceType"],
        "endpoint_name": endpoint["EndpointName"],
    }
    return {"builder": "model_deploy", "arguments": {"model": model_spec, "deploy": deploy}}


def _registered(model_spec: dict, package: dict) -> dict:
    """``register()`` with what the DAG declares of the package: its group, description, content types."""
    specification = package["InferenceSpecification"]
    register = {
        "model_package_group_name": package["ModelPackageGroupName"],
        "description": package["ModelPackageDescription"],
        "content_types": specification["SupportedContentTypes"],
        "response_types": specification["SupportedResponseMIMETypes"],
        "approval_status": package["ModelApprovalStatus"],
    }
    return {"builder": "model_register", "arguments": {"model": model_spec, "register": register}}


def _sdk_request(calls: list, operation: str) -> dict:
    found = [params for name, params in calls if name == operation]
    assert len(found) == 1, f"the SDK sent {len(found)} {operation} requests: {calls}"
    return found[0]


def assert_same_where_aws_acts(
    pairs: list[tuple[str, dict, dict]], allowed: tuple[Allowed, ...], renamed: tuple[Renamed, ...] = ()
) -> None:
    """Each ``(operation, DAG's request, SDK's request)`` differs only where ``allowed`` says, and every
    entry of ``allowed`` explains some difference."""
    unexplained, used = [], set()
    for operation, ours, theirs in pairs:
        comparison = compare(operation, ours, theirs, allowed, renamed)
        unexplained += comparison.unexplained
        used |= comparison.explained.keys()
    assert not unexplained, "differences AWS acts on:\n" + "\n".join(unexplained)
    stale = [f"{entry.operation} {entry.path}" for entry in allowed if entry not in used]
    assert not stale, f"listed differences that no longer occur (remove them): {stale}"


def _assert_trained_deployed_registered(
    sdk_requests, fit_step: dict, model_spec: dict, dag: dict[str, dict], allowed: tuple[Allowed, ...]
) -> None:
    """The SDK's fit, deploy and register of one model against the DAG's five requests for the same
    (``dag``: its ``training``, ``model``, ``config``, ``endpoint`` and ``package`` requests)."""
    sdk = sdk_requests(
        [
            fit_step,
            _deployed(model_spec, dag["endpoint"], dag["config"]),
            _registered(model_spec, dag["package"]),
        ]
    )
    assert_same_where_aws_acts(
        [
            ("CreateTrainingJob", dag["training"], _sdk_request(sdk[0], "CreateTrainingJob")),
            ("CreateModel", dag["model"], _sdk_request(sdk[1], "CreateModel")),
            ("CreateEndpointConfig", dag["config"], _sdk_request(sdk[1], "CreateEndpointConfig")),
            ("CreateEndpoint", dag["endpoint"], _sdk_request(sdk[1], "CreateEndpoint")),
            ("CreateModelPackage", dag["package"], _sdk_request(sdk[2], "CreateModelPackage")),
        ],
        (*SDK_OBSERVERS, *allowed, *_endpoint_config_names(), *SDK_PACKAGE_DEFAULTS),
    )


# -- the DAGs -------------------------------------------------------------------------------------
def test_kmeans_mnist(dag_run, dag_params, sdk_requests) -> None:
    params = dag_params("kmeans_mnist")
    run = dag_run("kmeans_mnist")
    names = run_names("kmeans_mnist", run.run_id)
    training = run.request("CreateTrainingJob", TrainingJobName=names.training_job)
    model = run.request("CreateModel", ModelName=names.model)
    config = run.request("CreateEndpointConfig", EndpointConfigName=names.endpoint_config)
    endpoint = run.request("CreateEndpoint", EndpointName=names.endpoint)
    package = run.request("CreateModelPackage", ModelPackageGroupName="kmeans-mnist")

    kmeans = {
        **_resources(training),
        "k": params["k"],
        "init_method": params["init_method"],
        "epochs": params["epochs"],
        "eval_metrics": ["msd", "ssd"],
    }
    fit = {
        "algorithm": "KMeans",
        "estimator": kmeans,
        "records": _record_sets(training, MNIST_FEATURES),
        "mini_batch_size": params["mini_batch_size"],
        "job_name": names.training_job,
    }
    kmeans_model = _model("KMeansModel", model)
    dag = {"training": training, "model": model, "config": config, "endpoint": endpoint, "package": package}
    _assert_trained_deployed_registered(
        sdk_requests,
        {"builder": "algorithm_fit", "arguments": fit},
        kmeans_model,
        dag,
        _record_set_channels("CreateTrainingJob", sharded=True),
    )


def test_pca_kmeans_mnist(dag_run, dag_params, sdk_requests) -> None:
    params = dag_params("pca_kmeans_mnist")
    run = dag_run("pca_kmeans_mnist")
    pca = run_names("pca_kmeans_mnist", run.run_id, stage="pca")
    kmeans = run_names("pca_kmeans_mnist", run.run_id, stage="kmeans")
    stages = {}
    for stage, names in (("pca", pca), ("kmeans", kmeans)):
        stages[stage] = {
            "training": run.request("CreateTrainingJob", TrainingJobName=names.training_job),
            "model": run.request("CreateModel", ModelName=names.model),
            "config": run.request("CreateEndpointConfig", EndpointConfigName=names.endpoint_config),
            "endpoint": run.request("CreateEndpoint", EndpointName=names.endpoint),
        }
    transform = run.request("CreateTransformJob", TransformJobName=f"{pca.training_job}-transform")
    pca_package = run.request("CreateModelPackage", ModelPackageGroupName="pca-mnist")
    kmeans_package = run.request("CreateModelPackage", ModelPackageGroupName="pca-kmeans-mnist")

    pca_fit = {
        "algorithm": "PCA",
        "estimator": {**_resources(stages["pca"]["training"]), "num_components": params["num_components"]},
        "records": _record_sets(stages["pca"]["training"], MNIST_FEATURES),
        "mini_batch_size": params["mini_batch_size"],
        "job_name": pca.training_job,
    }
    kmeans_fit = {
        "algorithm": "KMeans",
        "estimator": {
            **_resources(stages["kmeans"]["training"]),
            "k": params["k"],
            "epochs": params["epochs"],
        },
        # k-means clusters the projections: as many features as PCA kept components.
        "records": _record_sets(stages["kmeans"]["training"], params["num_components"]),
        "mini_batch_size": params["mini_batch_size"],
        "job_name": kmeans.training_job,
    }
    pca_model = _model("PCAModel", stages["pca"]["model"])
    kmeans_model = _model("KMeansModel", stages["kmeans"]["model"])
    project = {
        "model": pca_model,
        # The DAG projects every training record through PCA: recordIO in and out, record by record.
        "transformer": {
            "instance_count": 1,
            "instance_type": params["instance_type"],
            "strategy": "MultiRecord",
            "assemble_with": "None",
            "output_path": transform["TransformOutput"]["S3OutputPath"],
            "accept": RECORDIO,
            "max_payload": 6,
            "max_concurrent_transforms": 1,
        },
        "transform": {
            "data": transform["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"],
            "content_type": RECORDIO,
            "split_type": "RecordIO",
            "job_name": transform["TransformJobName"],
        },
    }
    sdk = sdk_requests(
        [
            {"builder": "algorithm_fit", "arguments": pca_fit},
            _deployed(pca_model, stages["pca"]["endpoint"], stages["pca"]["config"]),
            {"builder": "model_transform", "arguments": project},
            _registered(pca_model, pca_package),
            {"builder": "algorithm_fit", "arguments": kmeans_fit},
            _deployed(kmeans_model, stages["kmeans"]["endpoint"], stages["kmeans"]["config"]),
            _registered(kmeans_model, kmeans_package),
        ]
    )
    pairs = [("CreateTransformJob", transform, _sdk_request(sdk[2], "CreateTransformJob"))]
    for stage, (fit, deployed, registered, package) in {
        "pca": (sdk[0], sdk[1], sdk[3], pca_package),
        "kmeans": (sdk[4], sdk[5], sdk[6], kmeans_package),
    }.items():
        ours = stages[stage]
        pairs += [
            ("CreateTrainingJob", ours["training"], _sdk_request(fit, "CreateTrainingJob")),
            ("CreateModel", ours["model"], _sdk_request(deployed, "CreateModel")),
            ("CreateEndpointConfig", ours["config"], _sdk_request(deployed, "CreateEndpointConfig")),
            ("CreateEndpoint", ours["endpoint"], _sdk_request(deployed, "CreateEndpoint")),
            ("CreateModelPackage", package, _sdk_request(registered, "CreateModelPackage")),
        ]
    assert_same_where_aws_acts(
        pairs,
        (
            *SDK_OBSERVERS,
            *_record_set_channels("CreateTrainingJob"),
            _default_compression("CreateTransformJob", "TransformInput.CompressionType"),
            *_endpoint_config_names(),
            *SDK_PACKAGE_DEFAULTS,
        ),
    )


def test_xgboost_mnist(dag_run, dag_params, sdk_requests) -> None:
    params = dag_params("xgboost_mnist")
    run = dag_run("xgboost_mnist")
    names = run_names("xgboost_mnist", run.run_id)
    training = run.request("CreateTrainingJob", TrainingJobName=names.training_job)
    model = run.request("CreateModel", ModelName=names.model)
    config = run.request("CreateEndpointConfig", EndpointConfigName=names.endpoint_config)
    endpoint = run.request("CreateEndpoint", EndpointName=names.endpoint)
    package = run.request("CreateModelPackage", ModelPackageGroupName="xgboost-mnist")

    image = {"framework": "xgboost", "version": DEFAULT_VERSIONS["xgboost"]}
    hyperparameters = {
        name: params[name]
        for name in ("objective", "num_class", "eta", "gamma", "min_child_weight", "num_round", "max_depth")
    }
    assert params["nthread"] is None  # so the DAG leaves nthread out, as the SDK does here
    fit = {
        "image": image,
        "estimator": _resources(training),
        "hyperparameters": hyperparameters,
        "inputs": _training_inputs(training),
        "job_name": names.training_job,
    }
    xgboost_model = _model("Model", model, image=image)
    dag = {"training": training, "model": model, "config": config, "endpoint": endpoint, "package": package}
    _assert_trained_deployed_registered(
        sdk_requests,
        {"builder": "estimator_fit", "arguments": fit},
        xgboost_model,
        dag,
        (
            _default_compression("CreateTrainingJob", "InputDataConfig[*].CompressionType"),
            *[
                Allowed(
                    "CreateTrainingJob",
                    f"HyperParameters.{name}",
                    "The DAG's number params are floats, so a sweep grid may give fractions "
                    "(mnist_workflows/sweep_params.py run_sweep), and send '4.0' where the SDK, given the "
                    "seed's 4, sends '4'. XGBoost reads both as the float 4.0 (continuous hyperparameters in "
                    "aws/sagemaker-xgboost-container algorithm_mode/hyperparameter_validation.py).",
                    equal=same_number,
                )
                for name in ("gamma", "min_child_weight")
            ],
        ),
    )


def test_linear_learner_mnist(dag_run, dag_params, sdk_requests) -> None:
    params = dag_params("linear_learner_mnist")
    run = dag_run("linear_learner_mnist")
    names = run_names("linear_learner_mnist", run.run_id)
    training = run.request("CreateTrainingJob", TrainingJobName=names.training_job)
    model = run.request("CreateModel", ModelName=names.model)
    config = run.request("CreateEndpointConfig", EndpointConfigName=names.endpoint_config)
    endpoint = run.request("CreateEndpoint", EndpointName=names.endpoint)
    package = run.request("CreateModelPackage", ModelPackageGroupName="linear-learner-mnist")

    linear_learner = {
        **_resources(training),
        # The seed's binary classifier of "is it a 0?" with absolute loss.
        "predictor_type": "binary_classifier",
        "loss": "absolute_loss",
        "epochs": params["epochs"],
        "num_models": params["num_models"],
        "binary_classifier_model_selection_criteria": params["model_selection_criteria"],
    }
    fit = {
        "algorithm": "LinearLearner",
        "estimator": linear_learner,
        "records": _record_sets(training, MNIST_FEATURES),
        "mini_batch_size": params["mini_batch_size"],
        "job_name": names.training_job,
    }
    linear_model = _model("LinearLearnerModel", model)
    dag = {"training": training, "model": model, "config": config, "endpoint": endpoint, "package": package}
    _assert_trained_deployed_registered(
        sdk_requests,
        {"builder": "algorithm_fit", "arguments": fit},
        linear_model,
        dag,
        (*_record_set_channels("CreateTrainingJob"),),
    )


def _archive_files(archive: bytes) -> dict[str, bytes]:
    """The files of a ``.tar.gz`` by normalised path, without the archive's metadata."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as members:
        return {
            PurePosixPath(member.name).as_posix(): members.extractfile(member).read()
            for member in members
            if member.isfile()
        }


def test_mnist_batch_transform(dag_run, dag_params, sdk_requests, parity_engine) -> None:
    params = dag_params("mnist_batch_transform")
    run = dag_run("mnist_batch_transform")
    names = run_names("mnist_batch_transform", run.run_id)
    training = run.request("CreateTrainingJob", TrainingJobName=names.training_job)
    model = run.request("CreateModel", ModelName=names.model)
    transform = run.request("CreateTransformJob", TransformJobName=f"{names.training_job}-transform")
    package = run.request("CreateModelPackage", ModelPackageGroupName="mnist-script-mode")

    # The seed's estimator, given the sourcedir.tar.gz the DAG uploaded (the SDK takes an S3 source_dir)
    # and the DAG's code location, under which the SDK puts the repacked model too.
    code_location = f"s3://{LOCAL_BUCKET}/{names.s3_prefix}/code"
    source_dir = f"{code_location}/{ARCHIVE_NAME}"
    entry_point = MNIST_ENTRY_POINTS[params["framework"]]
    estimator = {
        **_resources(training),
        "entry_point": entry_point.script,
        "source_dir": source_dir,
        "code_location": code_location,
        "framework_version": DEFAULT_VERSIONS["mxnet"],
        "py_version": "py3",
        # The script's arguments: the params' names with dashes.
        "hyperparameters": {
            name.replace("_", "-"): params[name] for name in ("epochs", "batch_size", "learning_rate")
        },
        "metric_definitions": entry_point.metrics,
    }
    inputs = {
        channel["ChannelName"]: channel["DataSource"]["S3DataSource"]["S3Uri"]
        for channel in training["InputDataConfig"]
    }
    # What the SDK downloads to repack: the artifact the DAG's job wrote and the DAG's sourcedir.tar.gz.
    # SageMaker writes a job's model to <S3OutputPath>/<job>/output/model.tar.gz.
    output_path = training["OutputDataConfig"]["S3OutputPath"].rstrip("/")
    artifact = f"{output_path}/{names.training_job}/output/model.tar.gz"
    s3 = boto3.client("s3", endpoint_url=parity_engine, region_name="us-east-1")
    objects = {
        uri: base64.b64encode(
            s3.get_object(Bucket=LOCAL_BUCKET, Key=uri.split("/", 3)[3])["Body"].read()
        ).decode()
        for uri in (artifact, source_dir)
    }
    seed = {
        "builder": "framework_fit_transform",
        "canned": {"DescribeTrainingJob": {"ModelArtifacts": {"S3ModelArtifacts": artifact}}},
        "objects": objects,
        "arguments": {
            "framework": "MXNet",
            "estimator": estimator,
            "inputs": inputs,
            "job_name": names.training_job,
            "transformer": {
                "instance_count": 1,
                "instance_type": params["instance_type"],
                "output_path": transform["TransformOutput"]["S3OutputPath"],
                "model_name": names.model,
            },
            "transform": {
                "data": transform["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"],
                "content_type": CSV,
                "job_name": transform["TransformJobName"],
            },
            "register": {
                "model_package_group_name": package["ModelPackageGroupName"],
                "description": package["ModelPackageDescription"],
                "content_types": package["InferenceSpecification"]["SupportedContentTypes"],
                "response_types": package["InferenceSpecification"]["SupportedResponseMIMETypes"],
                "approval_status": package["ModelApprovalStatus"],
            },
        },
    }
    (sdk,), (uploaded,) = sdk_requests([seed], uploads=True)
    assert_same_where_aws_acts(
        [
            ("CreateTrainingJob", training, _sdk_request(sdk, "CreateTrainingJob")),
            ("CreateModel", model, _sdk_request(sdk, "CreateModel")),
            ("CreateTransformJob", transform, _sdk_request(sdk, "CreateTransformJob")),
            ("CreateModelPackage", package, _sdk_request(sdk, "CreateModelPackage")),
        ],
        (
            *SDK_OBSERVERS,
            _default_compression("CreateTrainingJob", "InputDataConfig[*].CompressionType"),
            _default_compression("CreateTransformJob", "TransformInput.CompressionType"),
            *SDK_PACKAGE_DEFAULTS,
            *_framework_metadata("MXNET", DEFAULT_VERSIONS["mxnet"]),
        ),
    )
    # The repacked model: where the SDK put it, with the same files as the DAG's.
    repacked = model["PrimaryContainer"]["ModelDataUrl"]
    assert set(uploaded) == {repacked}
    ours = s3.get_object(Bucket=LOCAL_BUCKET, Key=repacked.split("/", 3)[3])["Body"].read()
    assert _archive_files(ours) == _archive_files(uploaded[repacked])
    containers = package["InferenceSpecification"]["Containers"]
    assert containers[0]["Environment"] == model["PrimaryContainer"]["Environment"]


# A grid with a number and a string, small enough to train quickly.
SWEEP_GRID = {"k": [8, 12], "init_method": ["kmeans++"]}


def _sweep_kmeans(params: dict, resources: dict, **values) -> dict:
    """The SDK's KMeans for the DAG's point request: the DAG's defaults, then the point's values."""
    return {
        **resources,
        "k": 10,
        "init_method": "random",
        "epochs": params["epochs"],
        "eval_metrics": ["msd", "ssd"],
        **values,
    }


def test_kmeans_sweep_mapped(dag_run, dag_params, sdk_requests) -> None:
    params = dag_params("kmeans_sweep")
    run = dag_run("kmeans_sweep", {"grid": SWEEP_GRID, "strategy": "mapped", "leaderboard": "parity-mapped"})
    points = expand(SWEEP_GRID)
    trainings = [
        run.request(
            "CreateTrainingJob",
            TrainingJobName=run_names("kmeans_sweep", run.run_id, f"p{index}").training_job,
        )
        for index in range(len(points))
    ]
    package = run.request("CreateModelPackage", ModelPackageGroupName="kmeans-sweep")
    steps = [
        {
            "builder": "algorithm_fit",
            "arguments": {
                "algorithm": "KMeans",
                "estimator": {
                    **_sweep_kmeans(params, _resources(training), **point),
                    "tags": training["Tags"],
                },
                "records": _record_sets(training, MNIST_FEATURES),
                "mini_batch_size": params["mini_batch_size"],
                "job_name": training["TrainingJobName"],
            },
        }
        for point, training in zip(points, trainings, strict=True)
    ]
    container = package["InferenceSpecification"]["Containers"][0]
    best = {
        "class": "KMeansModel",
        "arguments": {"model_data": container["ModelDataUrl"], "role": trainings[0]["RoleArn"]},
    }
    sdk = sdk_requests([*steps, _registered(best, package)])
    pairs = [
        ("CreateTrainingJob", training, _sdk_request(calls, "CreateTrainingJob"))
        for training, calls in zip(trainings, sdk, strict=False)
    ]
    assert_same_where_aws_acts(
        [*pairs, ("CreateModelPackage", package, _sdk_request(sdk[-1], "CreateModelPackage"))],
        (*SDK_OBSERVERS, *_record_set_channels("CreateTrainingJob"), *SDK_PACKAGE_DEFAULTS),
    )


def test_kmeans_sweep_tuning(dag_run, dag_params, sdk_requests) -> None:
    params = dag_params("kmeans_sweep")
    conf = {
        "grid": SWEEP_GRID,
        "strategy": "tuning",
        "tuning_strategy": "Grid",
        "max_parallel_jobs": 2,
        "leaderboard": "parity-tuning",
    }
    run = dag_run("kmeans_sweep", conf)
    name = run_names("kmeans_sweep", run.run_id).tuning_job
    tuning = run.request("CreateHyperParameterTuningJob", HyperParameterTuningJobName=name)
    package = run.request("CreateModelPackage", ModelPackageGroupName="kmeans-sweep")
    points = len(expand(SWEEP_GRID))
    tuner = {
        "algorithm": "KMeans",
        "estimator": _sweep_kmeans(params, _resources(tuning)),
        "ranges": SWEEP_GRID,
        "tuner": {
            "objective_metric_name": "test:msd",
            "objective_type": "Minimize",
            "strategy": conf["tuning_strategy"],
            # Grid trains every point once.
            "max_jobs": points,
            "max_parallel_jobs": min(conf["max_parallel_jobs"], points),
            "early_stopping_type": "Off",
            "random_seed": 7,  # the DAG's
        },
        "records": _record_sets(tuning, MNIST_FEATURES),
        "mini_batch_size": params["mini_batch_size"],
        "job_name": name,
    }
    container = package["InferenceSpecification"]["Containers"][0]
    best = {
        "class": "KMeansModel",
        "arguments": {
            "model_data": container["ModelDataUrl"],
            "role": tuning["TrainingJobDefinition"]["RoleArn"],
        },
    }
    sdk = sdk_requests([{"builder": "tuner_fit", "arguments": tuner}, _registered(best, package)])
    assert_same_where_aws_acts(
        [
            ("CreateHyperParameterTuningJob", tuning, _sdk_request(sdk[0], "CreateHyperParameterTuningJob")),
            ("CreateModelPackage", package, _sdk_request(sdk[1], "CreateModelPackage")),
        ],
        (
            *_record_set_channels("CreateHyperParameterTuningJob", prefix="TrainingJobDefinition."),
            *SDK_PACKAGE_DEFAULTS,
        ),
        renamed=(TUNING_RESOURCES,),
    )
