"""Which algorithm an image URI runs: the repository name decides, so every region's ECR URI works."""

from __future__ import annotations

import importlib
import re

from include.local_sagemaker.algorithms.base import Algorithm

# repository name -> module exposing ``ALGORITHM``
_MODULES = {
    "kmeans": "include.local_sagemaker.algorithms.kmeans",
    "pca": "include.local_sagemaker.algorithms.pca",
    "linear-learner": "include.local_sagemaker.algorithms.linear_learner",
    "sagemaker-xgboost": "include.local_sagemaker.algorithms.xgboost",
    "xgboost": "include.local_sagemaker.algorithms.xgboost",
}
# SageMaker's framework images run the user's own script (script mode). An image of a built-in
# algorithm given a ``sagemaker_program`` (XGBoost's can be) is script mode too; the engine decides that
# where it dispatches a job, from the hyperparameters or the model's environment.
SCRIPT_MODE_MODULE = "include.local_sagemaker.algorithms.script_mode"
FRAMEWORK_REPOSITORIES = (
    "sagemaker-scikit-learn",
    "pytorch-training",
    "pytorch-inference",
    "mxnet-training",
    "mxnet-inference",
    "tensorflow-training",
    "tensorflow-inference",
)
_MODULES.update(dict.fromkeys(FRAMEWORK_REPOSITORIES, SCRIPT_MODE_MODULE))

_IMAGE_URI = re.compile(r"^(?:(?P<registry>[^/]+)/)?(?P<repository>[^:@]+)(?:[:@](?P<tag>.+))?$")


class UnknownImage(ValueError):
    pass


def repository_of(image_uri: str) -> str:
    """``382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1`` -> ``kmeans``."""
    match = _IMAGE_URI.match(image_uri.strip())
    if not match:
        raise UnknownImage(f"Image URI {image_uri!r} is not of the form <registry>/<repository>:<tag>")
    return match.group("repository").rsplit("/", 1)[-1]


def algorithm_for_image(image_uri: str) -> Algorithm:
    repository = repository_of(image_uri)
    module_name = _MODULES.get(repository)
    if module_name is None:
        known = ", ".join(sorted(_MODULES))
        raise UnknownImage(
            f"Image {image_uri!r} (repository {repository!r}) is not an algorithm this engine runs; "
            f"known repositories: {known}"
        )
    module = importlib.import_module(module_name)
    # An algorithm whose images differ by tag (XGBoost's versions) builds the one the image names.
    for_image = getattr(module, "algorithm_for_image", None)
    return for_image(image_uri) if for_image is not None else module.ALGORITHM


def script_mode_algorithm() -> Algorithm:
    """The algorithm that runs a user's entry point (``sagemaker_program``) whatever the image."""
    return importlib.import_module(SCRIPT_MODE_MODULE).ALGORITHM
