"""Image URIs: the same as the SageMaker Python SDK's ``image_uris.retrieve`` in every region it knows.

The comparison runs the SDK itself, in its own virtualenv (``make sdk`` builds ``.cache/sagemaker-sdk``:
the SDK pins protobuf below the project's). The other tests hold facts read off that SDK's answers.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from include.sagemaker_requests.image_registries import IMAGES, INFERENCE_REPOSITORIES, SDK_VERSION
from include.sagemaker_requests.image_uris import DEFAULT_VERSIONS, ecr_domain, image_uri

REPO = Path(__file__).resolve().parents[2]
SDK_PYTHON = REPO / ".cache" / "sagemaker-sdk" / "bin" / "python"

# Asks the SDK for every (framework, version) of the table: the URI retrieve() gives in each region the
# SDK's config lists for that version's training image, so a region missing here shows up too.
SDK_SCRIPT = """
import functools, json, sys
import sagemaker
from sagemaker import image_uris, utils

# retrieve() reloads botocore's endpoints.json on every call (60 ms); the answer is the same each time.
utils._botocore_resolver = functools.lru_cache(utils._botocore_resolver)
wanted = json.load(sys.stdin)
answers = {"version": sagemaker.__version__, "uris": {}}
for framework, versions in wanted.items():
    configs = image_uris.config_for_framework(framework)
    for scope in ("training", "inference"):
        config = configs.get(scope, configs)
        for version, py_version in versions.items():
            resolved = config.get("version_aliases", {}).get(version, version)
            if resolved not in config["versions"]:
                continue
            for region in config["versions"][resolved]["registries"]:
                uri = image_uris.retrieve(
                    framework, region, version, py_version=py_version, instance_type="ml.m5.large",
                    image_scope=scope,
                )
                answers["uris"][f"{framework} {version} {region} {scope}"] = uri
with open(sys.argv[1], "w") as out:  # not stdout: the SDK logs its config lookups there
    json.dump(answers, out)
"""


@pytest.fixture(scope="module")
def sdk_answers(tmp_path_factory) -> dict:
    if not SDK_PYTHON.exists():
        pytest.skip(f"the SageMaker SDK's virtualenv {SDK_PYTHON.parent.parent} is not built: run `make sdk`")
    # The deep-learning images' tags end in the Python version the SDK asks for (1.6.0-cpu-py3).
    wanted = {
        framework: {
            version: tag.rsplit("-", 1)[1] if repository in INFERENCE_REPOSITORIES else None
            for version, (repository, tag, _) in versions.items()
        }
        for framework, versions in IMAGES.items()
    }
    answers = tmp_path_factory.mktemp("sdk") / "answers.json"
    subprocess.run(
        [str(SDK_PYTHON), "-c", SDK_SCRIPT, str(answers)],
        input=json.dumps(wanted),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "SAGEMAKER_SUPPRESS_V2_WARNING": "1"},
    )
    return json.loads(answers.read_text())


def test_the_table_is_the_pinned_sdks(sdk_answers) -> None:
    assert sdk_answers["version"] == SDK_VERSION


def test_every_image_in_every_region_the_sdk_knows_matches_retrieve(sdk_answers) -> None:
    ours = {
        f"{framework} {version} {region} {scope}": image_uri(framework, region, version, scope)
        for framework, versions in IMAGES.items()
        for version, (_, _, registries) in versions.items()
        for region in registries
        for scope in ("training", "inference")
    }
    # sklearn 1.4-2 has no inference image in this SDK version.
    ours = {key: uri for key, uri in ours.items() if key in sdk_answers["uris"] or key.endswith("training")}
    assert ours == sdk_answers["uris"]
    # Every region of the four built-in algorithms and the framework image the DAGs use, at least.
    assert ours["mxnet 1.6.0 us-west-2 inference"].endswith("/mxnet-inference:1.6.0-cpu-py3")
    regions = {key.split()[2] for key in ours}
    assert len(regions) >= 37


def test_seed_images() -> None:
    assert image_uri("kmeans", "us-east-1") == "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
    assert image_uri("pca", "us-west-2") == "174872318107.dkr.ecr.us-west-2.amazonaws.com/pca:1"
    assert image_uri("xgboost", "us-east-1") == (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    )
    assert image_uri("sklearn", "us-east-1") == (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )


def test_built_in_algorithms_of_ap_northeast_3_live_in_their_own_account() -> None:
    # Not 364406365360, which an older table of this project used for k-means, PCA and Linear Learner.
    for algorithm in ("kmeans", "pca", "linear-learner"):
        assert image_uri(algorithm, "ap-northeast-3").startswith("867004704886.dkr.ecr.ap-northeast-3.")


@pytest.mark.parametrize(
    ("algorithm", "region", "version", "expected"),
    [
        ("kmeans", "cn-north-1", None, "390948362332.dkr.ecr.cn-north-1.amazonaws.com.cn/kmeans:1"),
        (
            "linear-learner",
            "us-gov-west-1",
            None,
            "226302683700.dkr.ecr.us-gov-west-1.amazonaws.com/linear-learner:1",
        ),
        ("pca", "us-iso-east-1", None, "490574956308.dkr.ecr.us-iso-east-1.c2s.ic.gov/pca:1"),
        (
            "xgboost",
            "us-isob-east-1",
            "1.7-1",
            "281123927165.dkr.ecr.us-isob-east-1.sc2s.sgov.gov/sagemaker-xgboost:1.7-1",
        ),
        (
            "xgboost",
            "us-isof-south-1",
            "1.5-1",
            "124985052026.dkr.ecr.us-isof-south-1.csp.hci.ic.gov/sagemaker-xgboost:1.5-1",
        ),
        ("xgboost", "us-east-1", "1", "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"),
        ("xgboost", "us-east-1", "latest", "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest"),
        (
            "xgboost",
            "eu-central-2",
            "1.0-1",
            "680994064768.dkr.ecr.eu-central-2.amazonaws.com/sagemaker-xgboost:1.0-1-cpu-py3",
        ),
        (
            "sklearn",
            "il-central-1",
            "1.0-1",
            "898809789911.dkr.ecr.il-central-1.amazonaws.com/sagemaker-scikit-learn:1.0-1-cpu-py3",
        ),
    ],
)
def test_partitions_domains_and_tags(algorithm, region, version, expected) -> None:
    assert image_uri(algorithm, region, version) == expected


def test_regions_the_sdk_supports_beyond_the_old_table_all_answer() -> None:
    for region in (
        "ap-south-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ca-west-1",
        "eu-central-2",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "cn-north-1",
        "cn-northwest-1",
        "us-gov-west-1",
        "us-gov-east-1",
        "us-iso-east-1",
        "us-isob-east-1",
        "us-isof-east-1",
        "us-isof-south-1",
    ):
        # The deep-learning images are published in fewer regions (none in us-isof-*).
        for algorithm in DEFAULT_VERSIONS.keys() - {"mxnet", "pytorch"}:
            assert f".dkr.ecr.{region}.{ecr_domain(region)}/" in image_uri(algorithm, region)


def test_the_legacy_xgboost_image_is_missing_where_the_sdk_lists_none() -> None:
    with pytest.raises(ValueError, match=r"No xgboost 1 image is known for region 'ca-west-1'"):
        image_uri("xgboost", "ca-west-1", "1")


def test_unknown_algorithm_version_and_region_name_the_value() -> None:
    with pytest.raises(ValueError, match="'kmeanz'"):
        image_uri("kmeanz", "us-east-1")
    with pytest.raises(ValueError, match="'mars-1'"):
        image_uri("kmeans", "mars-1")
    with pytest.raises(ValueError, match=r"Unknown xgboost version '0\.72'"):
        image_uri("xgboost", "us-east-1", "0.72")
    with pytest.raises(ValueError, match="in no AWS partition"):
        ecr_domain("moon-base-1")
