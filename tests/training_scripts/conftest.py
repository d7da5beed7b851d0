"""Fixtures for the entry-point scripts: the MNIST channels they read and the framework interpreters.

``framework_python(name)`` is the interpreter of the framework environment the DAG's image of that
framework runs in (``make install`` builds them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from include.local_sagemaker.frameworks import environments
from include.local_sagemaker.frameworks.catalog import framework_image
from include.mnist import MnistDataset, load_mnist
from include.sagemaker_requests.image_uris import image_uri
from tests.support.script_mode import write_idx_channels


@pytest.fixture(scope="session")
def framework_python() -> Callable[[str], Path]:
    def locate(name: str) -> Path:
        image = framework_image(image_uri(name, "us-east-1", scope="inference"))
        try:
            return environments.built(image.environment) / "bin" / "python"
        except environments.EnvironmentNotBuilt as error:
            pytest.fail(str(error))

    return locate


@pytest.fixture(scope="session")
def digits() -> MnistDataset:
    """The offline sample: 4,000 training digits, 500 for validation, 500 for test."""
    return load_mnist("sample")


@pytest.fixture(scope="session")
def idx_channels(tmp_path_factory: pytest.TempPathFactory, digits: MnistDataset) -> dict[str, Path]:
    return write_idx_channels(tmp_path_factory.mktemp("idx-channels"), digits)
