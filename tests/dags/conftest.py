"""Fixtures for end-to-end DAG runs: one local engine per module and boto3 clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from include.devstack.settings import local_connection
from include.local_sagemaker.engine import LocalSageMaker


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSageMaker]:
    running = LocalSageMaker(tmp_path_factory.mktemp("engine")).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def clients(engine: LocalSageMaker, airflow_db: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    """``s3``, ``sagemaker`` and ``sagemaker-runtime`` clients of the engine; ``aws_default`` points there."""
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", local_connection(engine.endpoint_url))
    session = boto3.session.Session("testing", "testing", region_name="us-east-1")
    return {
        name: session.client(name, endpoint_url=engine.endpoint_url)
        for name in ("s3", "sagemaker", "sagemaker-runtime")
    }
