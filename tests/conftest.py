"""Shared fixtures. Airflow is pointed at a throwaway home before anything imports it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from include.devstack.settings import local_connection

REPO = Path(__file__).resolve().parent.parent

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="airflow-home-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
# No test may reach real AWS: credentials are dummies and every client gets an explicit endpoint.
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ.pop("AWS_PROFILE", None)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one and a half workers per core. With one per core the cores sat idle about a fifth of
    the time, while tests waited on containers, servers and polls; a third worker on a two-core machine
    fills that (``make test-fast`` took 2 min 34 s against 2 min 54 s with two workers, and 2 min 38 s
    with four, in one run each)."""
    return max(1, len(os.sched_getaffinity(0)) * 3 // 2)


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The local engine's S3 (its object store behind its front door) on an ephemeral loopback port,
    for tests of single pieces that read and write S3."""
    from include.local_sagemaker.engine import LocalSageMaker

    engine = LocalSageMaker(tmp_path_factory.mktemp("s3-state")).start()
    try:
        yield engine.endpoint_url
    finally:
        engine.stop()


@pytest.fixture
def aws_connection(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``aws_default`` pointed at the test S3 server; returns its endpoint URL."""
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", local_connection(s3_endpoint))
    return s3_endpoint


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """A migrated SQLite metadata database in the throwaway Airflow home, for ``dag.test()``."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    return _AIRFLOW_HOME
