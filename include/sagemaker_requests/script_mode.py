"""Requests for script mode: a user's entry point run by a framework image (scikit-learn, PyTorch, ...).

The framework images find the user's code through two settings the SageMaker Python SDK sets: in
training, the hyperparameters ``sagemaker_program`` (the entry point) and ``sagemaker_submit_directory``
(the ``sourcedir.tar.gz`` on S3); in serving, the model's environment variables ``SAGEMAKER_PROGRAM`` and
``SAGEMAKER_SUBMIT_DIRECTORY``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from include.sagemaker_requests import configs

PROGRAM_HYPERPARAMETER = "sagemaker_program"
SUBMIT_DIRECTORY_HYPERPARAMETER = "sagemaker_submit_directory"
# The training toolkit's log level for the framework itself (logging.INFO).
CONTAINER_LOG_LEVEL = 20


def _check_source_dir_uri(source_dir_uri: str) -> None:
    if not (source_dir_uri.startswith("s3://") and source_dir_uri.endswith(".tar.gz")):
        raise ValueError(
            f"The source directory must be the s3:// URI of a .tar.gz archive, got {source_dir_uri!r}"
        )


def hyperparameters(entry_point: str, source_dir_uri: str, user: Mapping[str, object]) -> dict[str, str]:
    """Training hyperparameters for script mode: the user's and the framework's, each JSON-encoded.

    The SDK's framework estimators JSON-encode every value (``"train.py"`` becomes ``'"train.py"'``) and
    the training toolkit decodes them before passing them to the script as ``--name value``.
    """
    _check_source_dir_uri(source_dir_uri)
    reserved = sorted(name for name in user if name.startswith("sagemaker_"))
    if reserved:
        raise ValueError(f"Hyperparameters {reserved} use the framework's reserved prefix 'sagemaker_'")
    encoded = {name: json.dumps(value) for name, value in user.items()}
    encoded[PROGRAM_HYPERPARAMETER] = json.dumps(entry_point)
    encoded[SUBMIT_DIRECTORY_HYPERPARAMETER] = json.dumps(source_dir_uri)
    encoded["sagemaker_container_log_level"] = json.dumps(CONTAINER_LOG_LEVEL)
    return encoded


def model(
    *,
    name: str,
    image: str,
    model_data_url: str,
    role_arn: str,
    entry_point: str,
    source_dir_uri: str,
    region: str,
) -> dict:
    """A ``CreateModel`` request that serves ``model_data_url`` with the handlers of ``entry_point``."""
    _check_source_dir_uri(source_dir_uri)
    request = configs.model(name=name, image=image, model_data_url=model_data_url, role_arn=role_arn)
    request["PrimaryContainer"]["Environment"] = {
        "SAGEMAKER_PROGRAM": entry_point,
        "SAGEMAKER_SUBMIT_DIRECTORY": source_dir_uri,
        "SAGEMAKER_CONTAINER_LOG_LEVEL": str(CONTAINER_LOG_LEVEL),
        "SAGEMAKER_REGION": region,
    }
    return request
