from __future__ import annotations

import re

import pytest

from include.sagemaker_requests.names import run_names, slug

VALID = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
RUN_IDS = [
    "manual__2026-11-21T17:09:28.123456+00:00",
    "scheduled__2026-11-21T17:09:28+00:00",
    "backfill__2026-11-21T17:09:28+00:00",
    "my run with spaces and ümlauts",
    "x" * 250,
]


@pytest.mark.parametrize("run_id", RUN_IDS)
@pytest.mark.parametrize("dag_id", ["kmeans_mnist", "pca_kmeans_mnist", "a" * 200, "x.y-z_1"])
def test_names_are_valid_sagemaker_names(dag_id: str, run_id: str) -> None:
    names = run_names(dag_id, run_id, stage="pca")
    for name in (names.training_job, names.model, names.endpoint_config, names.endpoint):
        assert VALID.match(name), name
        assert len(name) <= 63
    assert len(names.tuning_job) <= 32
    assert VALID.match(names.tuning_job)


def test_runs_in_the_same_second_get_different_names() -> None:
    first = run_names("kmeans_mnist", "manual__2026-11-21T17:09:28+00:00")
    second = run_names("kmeans_mnist", "scheduled__2026-11-21T17:09:28+00:00")
    assert first.training_job != second.training_job
    assert first.s3_prefix != second.s3_prefix


def test_names_are_stable_for_one_run_so_retries_reuse_them() -> None:
    run_id = "manual__2026-11-21T17:09:28.123456+00:00"
    assert run_names("kmeans_mnist", run_id) == run_names("kmeans_mnist", run_id)


def test_names_read_like_the_run() -> None:
    names = run_names("kmeans_mnist", "manual__2026-11-21T17:09:28.123456+00:00")
    assert names.training_job.startswith("kmeans-mnist-20261121t170928-")
    assert names.endpoint == names.training_job + "-endpoint"
    assert names.s3_prefix.startswith("kmeans-mnist/20261121t170928-")


def test_slug() -> None:
    assert slug("kmeans_mnist") == "kmeans-mnist"
    assert slug("__a..b__") == "a-b"
