"""ECR image URIs of SageMaker's built-in algorithms, per region.

The local engine picks the algorithm by the URI's repository name, so these real URIs work offline too.
"""

from __future__ import annotations

# Registry accounts of the first-party algorithm images (k-means, PCA, Linear Learner), version "1".
_FIRST_PARTY_REGISTRIES = {
    "af-south-1": "455444449433",
    "ap-east-1": "286214385809",
    "ap-northeast-1": "351501993468",
    "ap-northeast-2": "835164637446",
    "ap-northeast-3": "364406365360",
    "ap-south-1": "991648021394",
    "ap-southeast-1": "475088953585",
    "ap-southeast-2": "712309505854",
    "ca-central-1": "469771592824",
    "eu-central-1": "664544806723",
    "eu-north-1": "669576153137",
    "eu-south-1": "257386234256",
    "eu-west-1": "438346466558",
    "eu-west-2": "644912444149",
    "eu-west-3": "749696950732",
    "me-south-1": "249704162688",
    "sa-east-1": "855470959533",
    "us-east-1": "382416733822",
    "us-east-2": "404615174143",
    "us-west-1": "632365934929",
    "us-west-2": "174872318107",
}

# Registry accounts of the open-source XGBoost container (sagemaker-xgboost, 0.90-1 and later).
_XGBOOST_REGISTRIES = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ca-central-1": "341280168497",
    "eu-central-1": "492215442770",
    "eu-north-1": "662702820516",
    "eu-south-1": "978288397137",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "me-south-1": "801668240914",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}

# The scikit-learn framework images (script mode) live in the same registry accounts as XGBoost's, as the
# SageMaker Python SDK's image_uri_config/sklearn.json lists them.
_SKLEARN_REGISTRIES = _XGBOOST_REGISTRIES

_ALGORITHMS = {
    "kmeans": ("kmeans", "1", _FIRST_PARTY_REGISTRIES),
    "pca": ("pca", "1", _FIRST_PARTY_REGISTRIES),
    "linear-learner": ("linear-learner", "1", _FIRST_PARTY_REGISTRIES),
    "xgboost": ("sagemaker-xgboost", "1.7-1", _XGBOOST_REGISTRIES),
    "sklearn": ("sagemaker-scikit-learn", "1.2-1-cpu-py3", _SKLEARN_REGISTRIES),
}


def image_uri(algorithm: str, region: str, version: str | None = None) -> str:
    """The training and inference image of a built-in algorithm, e.g.
    ``image_uri("kmeans", "us-east-1") == "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"``."""
    if algorithm not in _ALGORITHMS:
        raise ValueError(f"Unknown algorithm {algorithm!r}; expected one of {sorted(_ALGORITHMS)}")
    repository, default_version, registries = _ALGORITHMS[algorithm]
    if region not in registries:
        raise ValueError(
            f"No {algorithm} image is known for region {region!r}; known regions: {sorted(registries)}"
        )
    return f"{registries[region]}.dkr.ecr.{region}.amazonaws.com/{repository}:{version or default_version}"
