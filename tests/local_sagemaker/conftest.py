"""Fixtures for the local SageMaker engine: a running engine and boto3 clients pointed at it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import boto3
import pytest
from botocore.config import Config

from include.local_sagemaker.engine import LocalSageMaker
from tests.support.engine import register_tiny_algorithm


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSageMaker]:
    """One engine on 127.0.0.1 (ephemeral port) for the session, with the tiny test algorithm."""
    register_tiny_algorithm()
    running = LocalSageMaker(tmp_path_factory.mktemp("engine-state")).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def client_factory(engine: LocalSageMaker) -> Callable[[str], object]:
    """``client_factory("sagemaker")``: a boto3 client of the engine with dummy credentials."""
    config = Config(retries={"mode": "standard", "max_attempts": 1}, read_timeout=120)

    def make(service: str):
        return boto3.client(
            service,
            endpoint_url=engine.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=config,
        )

    return make


@pytest.fixture(scope="session")
def sagemaker(client_factory):
    return client_factory("sagemaker")


@pytest.fixture(scope="session")
def s3(client_factory):
    return client_factory("s3")


@pytest.fixture(scope="session")
def runtime(client_factory):
    return client_factory("sagemaker-runtime")


@pytest.fixture(scope="session")
def logs(client_factory):
    return client_factory("logs")


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Per-test resource names that are valid SageMaker names."""
    stamp = f"{int(time.time() * 1000) % 10**9}"

    def name(prefix: str) -> str:
        return f"{prefix}-{stamp}"

    return name


@pytest.fixture
def tiny_bucket(s3, unique) -> str:
    """A bucket holding two CSV training files for the tiny algorithm."""
    bucket = unique("tiny-data")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="train/part-0.csv", Body=b"1,2\n3,4\n")
    s3.put_object(Bucket=bucket, Key="train/part-1.csv", Body=b"5,6\n")
    return bucket
