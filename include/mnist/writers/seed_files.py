"""The files of the MXNet script-mode seed, which reads whole files rather than shards.

- ``idx``: a split as the gzip IDX pair the seed's ``mnist.py`` reads from its channel (as in
  ``s3://sagemaker-sample-data-<region>/mxnet/mnist/``): ``train-images-idx3-ubyte.gz`` and
  ``train-labels-idx1-ubyte.gz``, with the ``t10k`` prefix for the test split, raw 0–255 pixels.
- ``csv-digits``: one file per digit, ``data-<i>.csv``, one line of 784 pixels scaled to [0, 1], as the
  seed's batch transform input (``batch-transform/mnist-1000-samples``) is; the ``.out`` of ``data-<i>``
  answers for digit ``i`` of the split.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from include.mnist.dataset import Split
from include.mnist.idx import encode_idx
from include.mnist.writers.sharding import write_atomically

# The IDX files' name prefix per split, as MNIST's own files are named.
IDX_PREFIXES = {"train": "train", "validation": "validation", "test": "t10k"}


def _raw_pixels(images: np.ndarray) -> np.ndarray:
    if np.issubdtype(images.dtype, np.integer):
        return images.astype(np.uint8)
    return np.rint(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)


def _scaled_pixels(images: np.ndarray) -> np.ndarray:
    return images / np.float32(255.0) if np.issubdtype(images.dtype, np.integer) else images


def idx_file_names(split_name: str) -> tuple[str, str]:
    """``(images, labels)`` file names of a split: ``t10k-images-idx3-ubyte.gz``, ..."""
    prefix = IDX_PREFIXES[split_name]
    return f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"


def write_idx(split_name: str, split: Split, directory: Path) -> list[Path]:
    images_name, labels_name = idx_file_names(split_name)
    pixels = _raw_pixels(split.images).reshape(len(split), 28, 28)
    paths = []
    for name, array in ((images_name, pixels), (labels_name, split.labels.astype(np.uint8))):
        # mtime=0: the same data makes the same bytes, so a rerun uploads identical objects.
        content = gzip.compress(encode_idx(array), mtime=0)
        paths.append(write_atomically(directory / name, lambda temp, c=content: temp.write_bytes(c)))
    return paths


def write_digit_files(split_name: str, split: Split, directory: Path) -> list[Path]:
    pixels = _scaled_pixels(split.images)
    paths = []
    for index, row in enumerate(pixels):
        # Every value in one fixed form: the inference toolkit's CSV decoder types each column by itself, and
        # "0" beside "0.3294" would make a record array rather than a row of floats.
        line = ",".join(f"{value:.7f}" for value in row.tolist()) + "\n"
        paths.append(
            write_atomically(directory / f"data-{index}.csv", lambda temp, text=line: temp.write_text(text))
        )
    return paths
