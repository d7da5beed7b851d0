"""Requests for script mode: a user's entry point run by a framework image (scikit-learn, PyTorch, ...).

The framework images find the user's code through settings the SageMaker Python SDK sets: in training,
the hyperparameters ``sagemaker_program`` (the entry point), ``sagemaker_submit_directory`` (the
``sourcedir.tar.gz`` on S3), ``sagemaker_region`` (where the training toolkit downloads it from),
``sagemaker_job_name`` and ``sagemaker_container_log_level``; in serving, the model's environment
variables ``SAGEMAKER_PROGRAM``, ``SAGEMAKER_SUBMIT_DIRECTORY``, ``SAGEMAKER_REGION`` and
``SAGEMAKER_CONTAINER_LOG_LEVEL``. A model, or a registered model package, without them serves nothing:
the framework's model server finds no ``model_fn`` to load the model with.

Sources: ``Framework._script_mode_hyperparam_update`` (``sagemaker/estimator.py``) and
``Model._script_mode_env_vars`` (``sagemaker/model.py``) of the SageMaker Python SDK 2.x;
``tests/parity`` compares these requests with the SDK's own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from packaging.version import Version

PROGRAM_HYPERPARAMETER = "sagemaker_program"
SUBMIT_DIRECTORY_HYPERPARAMETER = "sagemaker_submit_directory"
# The training toolkit's log level for the framework itself (logging.INFO), the SDK's default.
CONTAINER_LOG_LEVEL = 20
# The first release of each framework whose SDK estimator asks SageMaker to keep the job's metrics as a
# time series (MXNet.__init__ in sagemaker/mxnet/estimator.py, PyTorch.__init__ in pytorch/estimator.py).
_FIRST_METRICS_TIME_SERIES_RELEASE = {"mxnet": Version("1.6"), "pytorch": Version("1.3")}


def _check_source_dir_uri(source_dir_uri: str) -> None:
    if not (source_dir_uri.startswith("s3://") and source_dir_uri.endswith(".tar.gz")):
        raise ValueError(
            f"The source directory must be the s3:// URI of a .tar.gz archive, got {source_dir_uri!r}"
        )


def hyperparameters(
    entry_point: str,
    source_dir_uri: str,
    user: Mapping[str, object],
    *,
    region: str,
    job_name: str,
) -> dict[str, str]:
    """Training hyperparameters for script mode: the user's and the framework's, each JSON-encoded.

    The SDK's framework estimators JSON-encode every value (``"train.py"`` becomes ``'"train.py"'``) and
    the training toolkit decodes them before passing the user's to the script as ``--name value``.
    """
    _check_source_dir_uri(source_dir_uri)
    reserved = sorted(name for name in user if name.startswith("sagemaker_"))
    if reserved:
        raise ValueError(f"Hyperparameters {reserved} use the framework's reserved prefix 'sagemaker_'")
    framework = {
        SUBMIT_DIRECTORY_HYPERPARAMETER: source_dir_uri,
        PROGRAM_HYPERPARAMETER: entry_point,
        "sagemaker_container_log_level": CONTAINER_LOG_LEVEL,
        "sagemaker_job_name": job_name,
        "sagemaker_region": region,
    }
    return {name: json.dumps(value) for name, value in {**user, **framework}.items()}


def serving_environment(entry_point: str, source_dir_uri: str, region: str) -> dict[str, str]:
    """The container ``Environment`` that serves a model with the handlers of ``entry_point``, for
    ``CreateModel`` and for a registered model package's ``InferenceSpecification`` alike."""
    _check_source_dir_uri(source_dir_uri)
    return {
        "SAGEMAKER_PROGRAM": entry_point,
        "SAGEMAKER_SUBMIT_DIRECTORY": source_dir_uri,
        "SAGEMAKER_CONTAINER_LOG_LEVEL": str(CONTAINER_LOG_LEVEL),
        "SAGEMAKER_REGION": region,
    }


def metrics_time_series(framework: str, version: str) -> bool:
    """Whether the SDK's estimator of ``framework`` ``version`` sets ``EnableSageMakerMetricsTimeSeries``
    (MXNet 1.6 and later, PyTorch 1.3 and later; scikit-learn never)."""
    first = _FIRST_METRICS_TIME_SERIES_RELEASE.get(framework)
    return first is not None and Version(version) >= first
