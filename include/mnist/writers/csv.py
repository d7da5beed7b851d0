"""CSV as SageMaker's built-ins read it: no header; label first for training, features only for inference."""

from __future__ import annotations

from typing import BinaryIO

import numpy as np

# Rows formatted per call: bounds memory for the label-prefixed copy of a chunk.
_CHUNK_ROWS = 2_000
# float32 needs 9 significant digits to survive a round trip through text.
_FLOAT_FORMAT = "%.9g"


def _feature_format(images: np.ndarray) -> str:
    return "%d" if np.issubdtype(images.dtype, np.integer) else _FLOAT_FORMAT


def write_csv(out: BinaryIO, images: np.ndarray, labels: np.ndarray | None) -> None:
    """Write ``label,pixel0,...,pixel783`` lines, or only the pixels when ``labels`` is None."""
    feature_format = _feature_format(images)
    n_features = images.shape[1]
    for start in range(0, len(images), _CHUNK_ROWS):
        block = images[start : start + _CHUNK_ROWS]
        if labels is None:
            np.savetxt(out, block, fmt=feature_format, delimiter=",")
            continue
        with_label = np.empty((len(block), n_features + 1), dtype=np.result_type(block.dtype, np.int64))
        with_label[:, 0] = labels[start : start + _CHUNK_ROWS]
        with_label[:, 1:] = block
        np.savetxt(out, with_label, fmt=["%d"] + [feature_format] * n_features, delimiter=",")
