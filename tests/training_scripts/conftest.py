"""Fixtures for the entry-point scripts: the MNIST channels they read and the framework interpreters.

``framework_python(name)`` reads the interpreter of a framework environment from ``<NAME>_PYTHON``
(``MXNET_PYTHON``, ``PYTORCH_PYTHON``) and skips the test when it is unset. The lead wires it to the
engine's built framework environments (issue 14, item 1) in place of the variables.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from include.mnist import MnistDataset, load_mnist

# The tests import their shared helpers (``script_mode_support``) from this folder.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from script_mode_support import write_idx_channels


@pytest.fixture(scope="session")
def framework_python() -> Callable[[str], Path]:
    def locate(name: str) -> Path:
        variable = f"{name.upper()}_PYTHON"
        value = os.environ.get(variable)
        if not value:
            pytest.skip(f"{variable} is unset: point it at the python of an environment with {name}")
        python = Path(value)
        if not python.is_file():
            pytest.fail(f"{variable}={value} is not a file; point it at a framework environment's python")
        return python

    return locate


@pytest.fixture(scope="session")
def digits() -> MnistDataset:
    """The offline sample: 4,000 training digits, 500 for validation, 500 for test."""
    return load_mnist("sample")


@pytest.fixture(scope="session")
def idx_channels(tmp_path_factory: pytest.TempPathFactory, digits: MnistDataset) -> dict[str, Path]:
    return write_idx_channels(tmp_path_factory.mktemp("idx-channels"), digits)
