"""MNIST acquisition: every source the seeds use, verified, cached, offline by default.

>>> from include.mnist import load_mnist, write_dataset
>>> dataset = load_mnist("sample")            # 5,000 real digits, no network
>>> dataset.sizes
{'train': 4000, 'validation': 500, 'test': 500}

Sources are one string (see :mod:`include.mnist.sources`); writers are in :mod:`include.mnist.writers`.
"""

from include.mnist.checksums import Digest
from include.mnist.dataset import MnistDataset, Split
from include.mnist.errors import (
    ChecksumMismatchError,
    DataFormatError,
    DownloadError,
    MnistError,
    SourceSpecError,
)
from include.mnist.fetch import DownloadCache, RetryPolicy, default_cache_dir
from include.mnist.loader import load_mnist
from include.mnist.sources import DEFAULT_SOURCE, SPEC_PATTERN, VALID_FORMS, parse_source
from include.mnist.writers import FORMATS, WrittenSplit, write_dataset, write_split

__all__ = [
    "DEFAULT_SOURCE",
    "FORMATS",
    "SPEC_PATTERN",
    "VALID_FORMS",
    "ChecksumMismatchError",
    "DataFormatError",
    "Digest",
    "DownloadCache",
    "DownloadError",
    "MnistDataset",
    "MnistError",
    "RetryPolicy",
    "SourceSpecError",
    "Split",
    "WrittenSplit",
    "default_cache_dir",
    "load_mnist",
    "parse_source",
    "write_dataset",
    "write_split",
]
