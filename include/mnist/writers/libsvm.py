"""libsvm as the XGBoost seed reads it: ``label idx:val ...``, 1-based indices, zero pixels left out."""

from __future__ import annotations

from typing import BinaryIO

import numpy as np

_CHUNK_ROWS = 5_000


def write_libsvm(out: BinaryIO, images: np.ndarray, labels: np.ndarray) -> None:
    """Write one libsvm line per image, through scikit-learn's svmlight writer."""
    from sklearn.datasets import dump_svmlight_file  # only when writing: DAG parsing imports this package

    for start in range(0, len(images), _CHUNK_ROWS):
        # The writer's typed kernels take float32/float64 only, so uint8 pixels are widened per chunk.
        block = np.asarray(images[start : start + _CHUNK_ROWS], dtype=np.float32)
        dump_svmlight_file(block, labels[start : start + _CHUNK_ROWS], out, zero_based=False)
