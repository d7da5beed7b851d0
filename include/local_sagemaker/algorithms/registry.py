"""Which algorithm an image URI runs: the repository name decides, so every region's ECR URI works.

The registry is built from what each algorithm declares: the ``image_repositories`` of every built-in
algorithm module's ``ALGORITHM`` (k-means, PCA, Linear Learner, XGBoost, and script mode for the framework
images), plus the extra algorithm modules that ``LOCAL_SAGEMAKER_EXTRA_ALGORITHMS`` names
(``repository=module[,repository=module...]``; the engine's containers inherit it). It is built on first
use, as it imports the algorithms, and again whenever that variable changes.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
from types import MappingProxyType, ModuleType

from include.local_sagemaker.algorithms.base import Algorithm

__all__ = [
    "EXTRA_ALGORITHMS_VARIABLE",
    "UnknownImage",
    "is_known",
    "known_repositories",
    "lookup",
    "repository_of",
    "runs_script_mode",
    "script_mode_algorithm",
]

EXTRA_ALGORITHMS_VARIABLE = "LOCAL_SAGEMAKER_EXTRA_ALGORITHMS"
# SageMaker's framework images run the user's own script (script mode). An image of a built-in
# algorithm given a ``sagemaker_program`` (XGBoost's can be) is script mode too; the engine decides that
# where it dispatches a job, from the hyperparameters or the model's environment.
_SCRIPT_MODE_MODULE = "include.local_sagemaker.algorithms.script_mode"
_BUILT_IN_MODULES = (
    "include.local_sagemaker.algorithms.kmeans",
    "include.local_sagemaker.algorithms.pca",
    "include.local_sagemaker.algorithms.linear_learner",
    "include.local_sagemaker.algorithms.xgboost",
    _SCRIPT_MODE_MODULE,
)

_IMAGE_URI = re.compile(r"^(?:(?P<registry>[^/]+)/)?(?P<repository>[^:@]+)(?:[:@](?P<tag>.+))?$")


class UnknownImage(ValueError):
    pass


def repository_of(image_uri: str) -> str:
    """``382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1`` -> ``kmeans``."""
    match = _IMAGE_URI.match(image_uri.strip())
    if not match:
        raise UnknownImage(f"Image URI {image_uri!r} is not of the form <registry>/<repository>:<tag>")
    return match.group("repository").rsplit("/", 1)[-1]


def _extra_modules(setting: str) -> dict[str, str]:
    modules = {}
    for entry in filter(None, setting.split(",")):
        repository, separator, module = entry.partition("=")
        if not separator or not repository.strip() or not module.strip():
            raise ValueError(
                f"{EXTRA_ALGORITHMS_VARIABLE} entry {entry!r} is not of the form repository=module"
            )
        modules[repository.strip()] = module.strip()
    return modules


@functools.lru_cache(maxsize=4)
def _algorithm_modules(extra_setting: str) -> MappingProxyType[str, ModuleType]:
    """Repository name -> the module whose ``ALGORITHM`` (or ``algorithm_for_image``) runs its images."""
    modules: dict[str, ModuleType] = {}
    for module_name in _BUILT_IN_MODULES:
        module = importlib.import_module(module_name)
        modules.update(dict.fromkeys(module.ALGORITHM.image_repositories, module))
    for repository, module_name in _extra_modules(extra_setting).items():
        modules[repository] = importlib.import_module(module_name)
    return MappingProxyType(modules)


def _modules() -> MappingProxyType[str, ModuleType]:
    return _algorithm_modules(os.environ.get(EXTRA_ALGORITHMS_VARIABLE, ""))


def known_repositories() -> list[str]:
    """The image repository names the engine runs an algorithm for, sorted."""
    return sorted(_modules())


def is_known(repository: str) -> bool:
    """True if images of ``repository`` (a name from :func:`repository_of`) select an algorithm."""
    return repository in _modules()


def runs_script_mode(repository: str) -> bool:
    """True if images of ``repository`` are framework images, which always run the user's script."""
    return _modules().get(repository) is importlib.import_module(_SCRIPT_MODE_MODULE)


def lookup(image_uri: str) -> Algorithm:
    """The algorithm that images like ``image_uri`` run; :class:`UnknownImage` if none does."""
    repository = repository_of(image_uri)
    module = _modules().get(repository)
    if module is None:
        raise UnknownImage(
            f"Image {image_uri!r} (repository {repository!r}) is not an algorithm this engine runs; "
            f"known repositories: {', '.join(known_repositories())}"
        )
    # An algorithm whose images differ by tag (XGBoost's versions) builds the one the image names.
    for_image = getattr(module, "algorithm_for_image", None)
    return for_image(image_uri) if for_image is not None else module.ALGORITHM


def script_mode_algorithm() -> Algorithm:
    """The algorithm that runs a user's entry point (``sagemaker_program``) whatever the image."""
    return importlib.import_module(_SCRIPT_MODE_MODULE).ALGORITHM
