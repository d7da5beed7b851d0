"""recordIO-protobuf for the 1P algorithms, through the project's codec (the SDK's dense writer)."""

from __future__ import annotations

from typing import BinaryIO

import numpy as np


def write_recordio(out: BinaryIO, images: np.ndarray, labels: np.ndarray | None) -> None:
    """Write one ``Record`` per image: float32 features, and a float32 label as the SageMaker notebooks do."""
    from include.recordio import write_numpy_to_dense_tensor

    features = np.asarray(images, dtype=np.float32)
    label_values = None if labels is None else np.asarray(labels, dtype=np.float32)
    write_numpy_to_dense_tensor(out, features, label_values)
