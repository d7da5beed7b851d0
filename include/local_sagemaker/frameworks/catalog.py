"""Which framework environment a SageMaker framework image runs in.

A framework image is named by its repository (``mxnet-training``, ``sagemaker-scikit-learn``) and its tag
(``1.6.0-cpu-py3``, ``1.2-1-cpu-py3``), whose first part is the framework version the SageMaker SDK asks
for. Each supported version maps to one environment of ``locks/`` holding the release the image carries
(or, where that release does not install on this Python, the nearest one that does) and AWS's own
toolkits for the image's training and serving contracts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from include.local_sagemaker.algorithms.registry import repository_of


class UnsupportedFrameworkVersion(ValueError):
    """An image of a known framework whose version has no environment here."""


@dataclass(frozen=True)
class Framework:
    name: str
    repositories: tuple[str, ...]
    # image version (the tag's first part) -> environment name (a lock file in locks/)
    environments: dict[str, str]
    # SAGEMAKER_TRAINING_MODULE of the training image: the training toolkit hands the job to it. None: the
    # toolkit runs the entry point itself (the scikit-learn image's training module does only that).
    training_module: str | None
    # ``module:function`` that the serving image runs to start its model server.
    serving_entry: str
    # Whether the serving image fetches the ``SAGEMAKER_SUBMIT_DIRECTORY`` archive from S3 itself. The
    # images on the inference toolkit do not: their code must be in model.tar.gz under code/, which is
    # why the SDK's MXNetModel and PyTorchModel repack the model with it.
    fetches_source_directory: bool
    # ``module:function`` with which that entry starts the Java model server (MMS or TorchServe); the
    # environment's model server stands in for it (container/model_server.py).
    model_server_start: str = "sagemaker_inference.model_server:start_model_server"


FRAMEWORKS = (
    Framework(
        name="mxnet",
        repositories=("mxnet-training", "mxnet-inference"),
        # MXNet 1.6.0's wheel is pure ctypes over its own library, so the seed's release installs here.
        environments={"1.6.0": "mxnet-1.6", "1.9.0": "mxnet-1.9"},
        training_module="sagemaker_mxnet_container.training:main",
        serving_entry="sagemaker_mxnet_serving_container.serving:main",
        fetches_source_directory=False,
    ),
    Framework(
        name="pytorch",
        repositories=("pytorch-training", "pytorch-inference"),
        # PyPI's Linux wheels of the images' releases are CUDA builds of several GB; the machine's CPU
        # build of 2.13 stands in for them (locks/pytorch-2.13.in).
        environments={"2.6.0": "pytorch-2.13", "2.8.0": "pytorch-2.13"},
        training_module="sagemaker_pytorch_container.training:main",
        serving_entry="sagemaker_pytorch_serving_container.serving:main",
        fetches_source_directory=False,
        model_server_start="sagemaker_pytorch_serving_container.torchserve:start_torchserve",
    ),
    Framework(
        name="sklearn",
        repositories=("sagemaker-scikit-learn",),
        environments={"1.2-1": "sklearn-1.2", "1.4-2": "sklearn-1.4"},
        training_module=None,
        # The image's own serving package is not published; this is its contract on the inference toolkit
        # (container/sklearn_serving.py).
        serving_entry="sklearn_serving:main",
        # Its server (on the legacy sagemaker-containers) downloads it; SKLearnModel does not repack.
        fetches_source_directory=True,
    ),
)

_BY_REPOSITORY = {repository: framework for framework in FRAMEWORKS for repository in framework.repositories}
# "1.6.0-cpu-py3" -> "1.6.0"; "1.2-1-cpu-py3" -> "1.2-1"; "1.9.0-gpu-py38-cu112-ubuntu20.04" -> "1.9.0"
_TAG_VERSION = re.compile(r"^(?P<version>.+?)(?:-(?:cpu|gpu)(?:-.*)?)?$")


@dataclass(frozen=True)
class FrameworkImage:
    framework: Framework
    version: str
    environment: str


def framework_image(image_uri: str) -> FrameworkImage | None:
    """The framework and environment an image runs with, or None for an image that is no framework's.

    Raises :class:`UnsupportedFrameworkVersion` for a framework image of a version without an environment.
    """
    framework = _BY_REPOSITORY.get(repository_of(image_uri))
    if framework is None:
        return None
    tag = image_uri.rpartition(":")[2] if ":" in image_uri.rpartition("/")[2] else ""
    version = _TAG_VERSION.match(tag).group("version") if tag else ""
    environment = framework.environments.get(version)
    if environment is None:
        raise UnsupportedFrameworkVersion(
            f"The {framework.name} image {image_uri!r} has version {version!r}, which this engine does not "
            f"run; supported {framework.name} versions: {', '.join(framework.environments)}"
        )
    return FrameworkImage(framework, version, environment)
