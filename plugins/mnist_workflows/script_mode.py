"""Script mode: a framework's MNIST entry point shipped to its training image, and the trained model served
as the SageMaker SDK v2's framework model classes serve it.

The run's framework picks the entry point (``include.training_scripts.MNIST_ENTRY_POINTS``), the training
and inference images, and whether the model is repacked (:mod:`include.sagemaker_requests.framework_model`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import task

from include.sagemaker_requests import configs, framework_model, script_mode
from include.sagemaker_requests.image_uris import DEFAULT_VERSIONS
from include.sagemaker_requests.source_dir import ARCHIVE_NAME
from include.training_scripts import MNIST_ENTRY_POINTS
from mnist_workflows.planning import Plan
from mnist_workflows.training import training_job


def framework_plan(plan: Plan, framework: str) -> dict:
    """``plan_run``'s keys of a script-mode run in ``framework``: ``framework``, ``image`` (its training
    image), ``serving_image``, ``source_dir`` (``<prefix>/code/sourcedir.tar.gz``, the SDK's
    ``code_location`` being ``<prefix>/code``), ``repacked_model`` (where the repacked archive goes, or
    None when the SDK serves the training artifact as it is) and ``serving_environment``."""
    entry_point = MNIST_ENTRY_POINTS[framework]
    code_location = f"{plan.prefix}/code"
    source_dir = f"{code_location}/{ARCHIVE_NAME}"
    repacked = framework_model.repacks(framework, DEFAULT_VERSIONS[framework])
    return {
        "framework": framework,
        "image": plan.image(framework),
        "serving_image": plan.image(framework, scope="inference"),
        "source_dir": source_dir,
        "repacked_model": framework_model.repacked_model_uri(code_location, plan.names.model)
        if repacked
        else None,
        "serving_environment": framework_model.serving_environment(
            entry_point.script, source_dir, plan.target.region, repacked=repacked
        ),
    }


@task
def upload_source_dir(run: dict) -> str:
    """Pack the framework's entry-point directory as sourcedir.tar.gz and put it under the run's prefix."""
    from include.sagemaker_requests.source_dir import pack_source_dir

    entry_point = MNIST_ENTRY_POINTS[run["framework"]]
    bucket, key = S3Hook.parse_s3_url(run["source_dir"])
    S3Hook().load_bytes(
        pack_source_dir(entry_point.source_dir, entry_point.script), key, bucket, replace=True
    )
    return run["source_dir"]


def script_training_job(run: Mapping, params: Mapping, *, channels: list[dict], arguments: Mapping) -> dict:
    """The ``CreateTrainingJob`` request running the run's entry point with ``arguments`` (its command-line
    arguments, ``{"learning-rate": 0.1}``), encoded as the SDK's framework estimators send them, the
    metric definitions of what the script logs, and SageMaker's metrics time series where the SDK's
    estimator asks for it."""
    entry_point = MNIST_ENTRY_POINTS[run["framework"]]
    hyperparameters = script_mode.hyperparameters(
        entry_point.script, run["source_dir"], arguments, region=run["region"], job_name=run["training_job"]
    )
    request = training_job(run, params, channels=channels, hyperparameters=hyperparameters)
    algorithm = request["AlgorithmSpecification"]
    algorithm["MetricDefinitions"] = entry_point.metrics
    if script_mode.metrics_time_series(run["framework"], DEFAULT_VERSIONS[run["framework"]]):
        algorithm["EnableSageMakerMetricsTimeSeries"] = True
    return request


@task
def repack_model(run: dict, train: dict, source_dir: str) -> str:
    """The model.tar.gz that serves the trained model: for MXNet and PyTorch, as the SDK's MXNetModel and
    PyTorchModel do, the training artifact with the source directory under code/, uploaded to the run's
    repacked_model; for scikit-learn, the training artifact itself."""
    artifact = train["Training"]["ModelArtifacts"]["S3ModelArtifacts"]
    if not run["repacked_model"]:
        return artifact
    s3 = S3Hook()
    with tempfile.TemporaryDirectory() as scratch:
        downloaded = []
        for uri in (artifact, source_dir):
            bucket, key = S3Hook.parse_s3_url(uri)
            downloaded.append(Path(s3.download_file(key, bucket, scratch, preserve_file_name=True)))
        repacked = Path(scratch) / f"repacked-{framework_model.MODEL_ARCHIVE}"
        framework_model.repack_model(*downloaded, repacked)
        bucket, key = S3Hook.parse_s3_url(run["repacked_model"])
        s3.load_file(repacked, key, bucket, replace=True)
    return run["repacked_model"]


def serving_model_request(run: Mapping, model_data_url: str) -> dict:
    """The ``CreateModel`` request of the run's model: its serving image, archive and environment."""
    request = configs.model(
        name=run["model"], image=run["serving_image"], model_data_url=model_data_url, role_arn=run["role_arn"]
    )
    request["PrimaryContainer"]["Environment"] = dict(run["serving_environment"])
    return request
