"""The SageMaker examples' ``mnist.pkl.gz``: ``(train, valid, test)``, each ``(images, labels)``.

The pickle is read with an unpickler that only resolves the numpy names an array pickle needs, so a
tampered file cannot run code even when a user supplies their own checksum.
"""

from __future__ import annotations

import gzip
import io
import pickle
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from include.mnist.errors import DataFormatError

SPLIT_NAMES = ("train", "validation", "test")
_PIXELS = 28 * 28

# (module, name) pairs an ndarray pickle refers to, from Python 2's numpy to numpy 2, any protocol.
_ALLOWED_GLOBALS = {
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        # Pickles written by numpy 1.x name numpy.core, which numpy 2 moved to numpy._core.
        if module.startswith("numpy.core"):
            module = "numpy._core" + module[len("numpy.core") :]
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed")
        return super().find_class(module, name)


def _check_split(split: Any, name: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not (isinstance(split, tuple | list) and len(split) == 2):
        raise DataFormatError(f"{path}: the {name} split is not an (images, labels) pair")
    images, labels = (np.asarray(part) for part in split)
    if images.ndim != 2 or images.shape[1] != _PIXELS:
        raise DataFormatError(f"{path}: {name} images have shape {images.shape}, expected (n, {_PIXELS})")
    if labels.shape != (len(images),):
        raise DataFormatError(
            f"{path}: {name} has {len(images)} images but labels of shape {labels.shape} (counts must match)"
        )
    if not np.issubdtype(images.dtype, np.floating):
        raise DataFormatError(f"{path}: {name} images are {images.dtype}, expected float pixels in [0, 1]")
    if images.size and (images.min() < 0 or images.max() > 1):
        raise DataFormatError(
            f"{path}: {name} pixels span [{images.min()}, {images.max()}], expected values in [0, 1]"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9 or not np.issubdtype(labels.dtype, np.integer)):
        raise DataFormatError(f"{path}: {name} labels must be integers 0-9, found {labels.dtype} values")
    return images.astype(np.float32, copy=False), labels.astype(np.int64, copy=False)


def read_mnist_pickle(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (images, labels), "validation": ..., "test": ...}`` from an ``mnist.pkl.gz``.

    Images are float32 ``(n, 784)`` in [0, 1]; labels int64.

    Raises:
        DataFormatError: not gzip, truncated, not a numpy-only pickle, or not the three-split layout.
    """
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    except EOFError as exc:
        raise DataFormatError(f"{path}: truncated gzip (ends before the end-of-stream marker)") from exc
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise DataFormatError(f"{path}: not a valid gzip file ({exc})") from exc
    try:
        # latin1 decodes the byte strings inside Python 2 pickles, as the SageMaker notebooks do.
        content = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise DataFormatError(f"{path}: not an MNIST pickle ({exc})") from exc
    if not (isinstance(content, tuple | list) and len(content) == 3):
        raise DataFormatError(
            f"{path}: expected a (train, valid, test) tuple, found {type(content).__name__}"
            + (f" of length {len(content)}" if isinstance(content, tuple | list) else "")
        )
    return {name: _check_split(split, name, path) for name, split in zip(SPLIT_NAMES, content, strict=True)}
