"""Where SageMaker's built-in algorithm and framework images live: data only, one table.

Taken from the SageMaker Python SDK v2, ``sagemaker==2.257.7`` (pinned in
``benchmarks/requirements-sdk.txt``): the ``registries`` (region -> ECR registry account), ``repository``
and tag of every version in ``src/sagemaker/image_uri_config/{kmeans,pca,linear-learner,xgboost,sklearn,
mxnet}.json``, as ``sagemaker.image_uris.retrieve`` combines them for a training image (a CPU instance, the
version's newest Python). The ECR domain of a
region is its partition's DNS suffix in botocore's ``botocore/data/endpoints.json``, which ``retrieve``
reads through botocore's endpoint resolver (``ecr.<region>.<suffix>``). To refresh: install a newer SDK
into ``.cache/sagemaker-sdk`` (``make sdk``), copy its config files' values here and bump ``SDK_VERSION``;
``tests/sagemaker_requests/test_image_uris.py`` compares every entry with ``retrieve``.
"""

from __future__ import annotations

SDK_VERSION = "2.257.7"

# partition -> (region pattern, DNS suffix), from botocore's endpoints.json ("regionRegex", "dnsSuffix").
PARTITION_DOMAINS = {
    "aws": (r"^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$", "amazonaws.com"),
    "aws-cn": (r"^cn\-\w+\-\d+$", "amazonaws.com.cn"),
    "aws-us-gov": (r"^us\-gov\-\w+\-\d+$", "amazonaws.com"),
    "aws-iso": (r"^us\-iso\-\w+\-\d+$", "c2s.ic.gov"),
    "aws-iso-b": (r"^us\-isob\-\w+\-\d+$", "sc2s.sgov.gov"),
    "aws-iso-e": (r"^eu\-isoe\-\w+\-\d+$", "cloud.adc-e.uk"),
    "aws-iso-f": (r"^us\-isof\-\w+\-\d+$", "csp.hci.ic.gov"),
    "aws-eusc": (r"^eusc\-(de)\-\w+\-\d+$", "amazonaws.eu"),
}

# The first-party algorithms (kmeans.json, pca.json, linear-learner.json: one table for all three).
ALGORITHMS = {
    "af-south-1": "455444449433",
    "ap-east-1": "286214385809",
    "ap-northeast-1": "351501993468",
    "ap-northeast-2": "835164637446",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "991648021394",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "475088953585",
    "ap-southeast-2": "712309505854",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "469771592824",
    "ca-west-1": "190319476487",
    "cn-north-1": "390948362332",
    "cn-northwest-1": "387376663083",
    "eu-central-1": "664544806723",
    "eu-central-2": "680994064768",
    "eu-north-1": "669576153137",
    "eu-south-1": "257386234256",
    "eu-south-2": "104374241257",
    "eu-west-1": "438346466558",
    "eu-west-2": "644912444149",
    "eu-west-3": "749696950732",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "249704162688",
    "sa-east-1": "855470959533",
    "us-east-1": "382416733822",
    "us-east-2": "404615174143",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "226302683700",
    "us-iso-east-1": "490574956308",
    "us-isob-east-1": "765400339828",
    "us-isof-east-1": "108575199400",
    "us-isof-south-1": "124985052026",
    "us-west-1": "632365934929",
    "us-west-2": "174872318107",
}
# The legacy XGBoost 0.72 algorithm, xgboost.json versions "1" and "latest": not the same accounts.
XGBOOST_LEGACY = {
    "af-south-1": "455444449433",
    "ap-east-1": "286214385809",
    "ap-northeast-1": "501404015308",
    "ap-northeast-2": "306986355934",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "991648021394",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "475088953585",
    "ap-southeast-2": "544295431143",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "469771592824",
    "cn-north-1": "390948362332",
    "cn-northwest-1": "387376663083",
    "eu-central-1": "813361260812",
    "eu-central-2": "680994064768",
    "eu-north-1": "669576153137",
    "eu-south-1": "257386234256",
    "eu-south-2": "104374241257",
    "eu-west-1": "685385470294",
    "eu-west-2": "644912444149",
    "eu-west-3": "749696950732",
    "me-central-1": "272398656194",
    "me-south-1": "249704162688",
    "sa-east-1": "855470959533",
    "us-east-1": "811284229777",
    "us-east-2": "825641698319",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "226302683700",
    "us-iso-east-1": "490574956308",
    "us-isob-east-1": "765400339828",
    "us-west-1": "632365934929",
    "us-west-2": "433757028032",
}
# The open-source containers: sagemaker-xgboost (0.90-1 and later) and sagemaker-scikit-learn.
CONTAINERS = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "341280168497",
    "ca-west-1": "190319476487",
    "cn-north-1": "450853457545",
    "cn-northwest-1": "451049120500",
    "eu-central-1": "492215442770",
    "eu-central-2": "680994064768",
    "eu-north-1": "662702820516",
    "eu-south-1": "978288397137",
    "eu-south-2": "104374241257",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "801668240914",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "414596584902",
    "us-iso-east-1": "833128469047",
    "us-isob-east-1": "281123927165",
    "us-isof-east-1": "108575199400",
    "us-isof-south-1": "124985052026",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}
# The deep-learning framework containers (mxnet.json: one table for training and inference, 1.6.0 to
# 1.9.0).
DEEP_LEARNING_CONTAINERS = {
    "af-south-1": "626614931356",
    "ap-east-1": "871362719292",
    "ap-northeast-1": "763104351884",
    "ap-northeast-2": "763104351884",
    "ap-northeast-3": "364406365360",
    "ap-south-1": "763104351884",
    "ap-south-2": "772153158452",
    "ap-southeast-1": "763104351884",
    "ap-southeast-2": "763104351884",
    "ap-southeast-3": "907027046896",
    "ap-southeast-4": "457447274322",
    "ca-central-1": "763104351884",
    "ca-west-1": "204538143572",
    "cn-north-1": "727897471807",
    "cn-northwest-1": "727897471807",
    "eu-central-1": "763104351884",
    "eu-central-2": "380420809688",
    "eu-north-1": "763104351884",
    "eu-south-1": "692866216735",
    "eu-south-2": "503227376785",
    "eu-west-1": "763104351884",
    "eu-west-2": "763104351884",
    "eu-west-3": "763104351884",
    "il-central-1": "780543022126",
    "me-central-1": "914824155844",
    "me-south-1": "217643126080",
    "sa-east-1": "763104351884",
    "us-east-1": "763104351884",
    "us-east-2": "763104351884",
    "us-gov-east-1": "446045086412",
    "us-gov-west-1": "442386744353",
    "us-iso-east-1": "886529160074",
    "us-isob-east-1": "094389454867",
    "us-west-1": "763104351884",
    "us-west-2": "763104351884",
}
# framework -> version -> (repository, tag, registries). Tags as retrieve() builds them: the 0.90-x and
# 1.0-1 XGBoost containers and every scikit-learn one carry "-cpu-py3"; "latest" is an alias of "1".
# sklearn 1.4-2 is listed for training only in this SDK version; its registries are those of the rest.
IMAGES: dict[str, dict[str, tuple[str, str, dict[str, str]]]] = {
    "kmeans": {
        "1": ("kmeans", "1", ALGORITHMS),
    },
    "pca": {
        "1": ("pca", "1", ALGORITHMS),
    },
    "linear-learner": {
        "1": ("linear-learner", "1", ALGORITHMS),
    },
    "xgboost": {
        "1": ("xgboost", "1", XGBOOST_LEGACY),
        "0.90-1": ("sagemaker-xgboost", "0.90-1-cpu-py3", CONTAINERS),
        "0.90-2": ("sagemaker-xgboost", "0.90-2-cpu-py3", CONTAINERS),
        "1.0-1": ("sagemaker-xgboost", "1.0-1-cpu-py3", CONTAINERS),
        "1.2-1": ("sagemaker-xgboost", "1.2-1", CONTAINERS),
        "1.2-2": ("sagemaker-xgboost", "1.2-2", CONTAINERS),
        "1.3-1": ("sagemaker-xgboost", "1.3-1", CONTAINERS),
        "1.5-1": ("sagemaker-xgboost", "1.5-1", CONTAINERS),
        "1.7-1": ("sagemaker-xgboost", "1.7-1", CONTAINERS),
        "3.0-5": ("sagemaker-xgboost", "3.0-5", CONTAINERS),
        "latest": ("xgboost", "latest", XGBOOST_LEGACY),
    },
    "sklearn": {
        "0.20.0": ("sagemaker-scikit-learn", "0.20.0-cpu-py3", CONTAINERS),
        "0.23-1": ("sagemaker-scikit-learn", "0.23-1-cpu-py3", CONTAINERS),
        "1.0-1": ("sagemaker-scikit-learn", "1.0-1-cpu-py3", CONTAINERS),
        "1.2-1": ("sagemaker-scikit-learn", "1.2-1-cpu-py3", CONTAINERS),
        "1.4-2": ("sagemaker-scikit-learn", "1.4-2-cpu-py3", CONTAINERS),
    },
    "mxnet": {
        "1.6.0": ("mxnet-training", "1.6.0-cpu-py3", DEEP_LEARNING_CONTAINERS),
        "1.9.0": ("mxnet-training", "1.9.0-cpu-py38", DEEP_LEARNING_CONTAINERS),
    },
}
# A deep-learning framework serves from a repository of its own, with the training image's tag.
INFERENCE_REPOSITORIES = {"mxnet-training": "mxnet-inference"}
