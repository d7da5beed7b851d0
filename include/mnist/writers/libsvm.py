"""libsvm as the XGBoost seed reads it: ``label idx:val ...``, 1-based indices, zero pixels left out.

The last pixel is always written, even when zero: a reader infers the number of columns from the highest
index it sees, so without it a model trained on one split can refuse another split's rows as too wide.
"""

from __future__ import annotations

import io
from typing import BinaryIO

import numpy as np

_CHUNK_ROWS = 5_000


def write_libsvm(out: BinaryIO, images: np.ndarray, labels: np.ndarray) -> None:
    """Write one libsvm line per image, through scikit-learn's svmlight writer."""
    from sklearn.datasets import dump_svmlight_file  # only when writing: DAG parsing imports this package

    width = images.shape[1]
    last_column = f" {width}:0".encode()
    for start in range(0, len(images), _CHUNK_ROWS):
        # The writer's typed kernels take float32/float64 only, so uint8 pixels are widened per chunk.
        block = np.asarray(images[start : start + _CHUNK_ROWS], dtype=np.float32)
        buffer = io.BytesIO()
        dump_svmlight_file(block, labels[start : start + _CHUNK_ROWS], buffer, zero_based=False)
        lines = buffer.getvalue().splitlines()
        out.writelines(
            line + last_column + b"\n" if last_is_zero else line + b"\n"
            for line, last_is_zero in zip(lines, block[:, -1] == 0, strict=True)
        )
