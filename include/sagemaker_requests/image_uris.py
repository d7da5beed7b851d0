"""ECR image URIs of SageMaker's built-in algorithms and of the framework images the DAGs use, per region.

``image_uri("kmeans", "us-east-1")`` answers what the SageMaker Python SDK's
``sagemaker.image_uris.retrieve("kmeans", "us-east-1")`` answers, in every region the SDK knows, from the
table in :mod:`include.sagemaker_requests.image_registries`. The local engine picks the algorithm by the
URI's repository name (and XGBoost's behaviour by its tag), so these real URIs work offline too.
"""

from __future__ import annotations

import re

from include.sagemaker_requests.image_registries import IMAGES, INFERENCE_REPOSITORIES, PARTITION_DOMAINS

# The version a DAG gets when it names none: the project's choice, not the SDK's (which has none for
# XGBoost and scikit-learn).
DEFAULT_VERSIONS = {
    "kmeans": "1",
    "pca": "1",
    "linear-learner": "1",
    "xgboost": "1.7-1",
    "sklearn": "1.2-1",
    "mxnet": "1.6.0",
    "pytorch": "2.6.0",
}


def ecr_domain(region: str) -> str:
    """The DNS suffix of ECR in ``region``'s partition: ``amazonaws.com``, ``amazonaws.com.cn``, ..."""
    for pattern, domain in PARTITION_DOMAINS.values():
        if re.match(pattern, region):
            return domain
    raise ValueError(f"Region {region!r} is in no AWS partition; expected a name such as 'us-east-1'")


def image_uri(algorithm: str, region: str, version: str | None = None, scope: str = "training") -> str:
    """The training and inference image of a built-in algorithm or framework, e.g.
    ``image_uri("kmeans", "us-east-1") == "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"``.

    ``version`` is the SDK's framework version (``"1.7-1"``, ``"1"``, ``"latest"`` for XGBoost; ``"1.2-1"``
    for scikit-learn, whose tag the SDK spells ``1.2-1-cpu-py3``). ``scope="inference"`` answers the image
    that serves the model, which differs from the training image for the deep-learning frameworks (MXNet,
    PyTorch).
    """
    if scope not in ("training", "inference"):
        raise ValueError(f"Unknown image scope {scope!r}; expected 'training' or 'inference'")
    if algorithm not in IMAGES:
        raise ValueError(f"Unknown algorithm {algorithm!r}; expected one of {sorted(IMAGES)}")
    versions = IMAGES[algorithm]
    version = version or DEFAULT_VERSIONS[algorithm]
    if version not in versions:
        raise ValueError(f"Unknown {algorithm} version {version!r}; expected one of {list(versions)}")
    repository, tag, registries = versions[version]
    if scope == "inference":
        repository = INFERENCE_REPOSITORIES.get(repository, repository)
    if region not in registries:
        raise ValueError(
            f"No {algorithm} {version} image is known for region {region!r}; "
            f"known regions: {sorted(registries)}"
        )
    return f"{registries[region]}.dkr.ecr.{region}.{ecr_domain(region)}/{repository}:{tag}"
