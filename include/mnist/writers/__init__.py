"""Writers for what the SageMaker algorithms consume, sharded into ``part-NNNNN.<ext>`` files.

=================  ============  ===========================================================
format             extension     content
=================  ============  ===========================================================
``parquet``        parquet       fastparquet; columns "0".."783" and "label"
``libsvm``         libsvm        ``label idx:val``, 1-based indices, zeros left out
``csv``            csv           no header, label first (training)
``csv-features``   csv           no header, features only (inference / batch transform)
``recordio``       recordio      recordIO-protobuf dense records, float32 features and label
``idx``            gz            whole split: the gzip IDX image and label files (``seed_files``)
``csv-digits``     csv           whole split: one ``data-<i>.csv`` per digit (``seed_files``)
=================  ============  ===========================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from include.mnist.dataset import MnistDataset, Split
from include.mnist.writers.csv import write_csv
from include.mnist.writers.libsvm import write_libsvm
from include.mnist.writers.parquet import write_parquet
from include.mnist.writers.recordio import write_recordio
from include.mnist.writers.seed_files import write_digit_files, write_idx
from include.mnist.writers.sharding import DEFAULT_ROWS_PER_SHARD, shard_bounds, shard_name, write_atomically
from include.recordio import CONTENT_TYPE as RECORDIO


@dataclass(frozen=True)
class OutputFormat:
    """How one format writes a shard of ``(images, labels)`` to a path."""

    name: str
    extension: str
    content_type: str
    write_shard: Callable[[Path, np.ndarray, np.ndarray], None] | None
    # A format of whole files rather than shards writes each split itself: (split name, split, directory).
    write_whole_split: Callable[[str, Split, Path], list[Path]] | None = None


def _streamed(write: Callable[..., None], *, with_labels: bool = True) -> Callable[..., None]:
    def write_shard(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
        with path.open("wb") as out:
            if with_labels:
                write(out, images, labels)
            else:
                write(out, images, None)

    return write_shard


FORMATS: dict[str, OutputFormat] = {
    fmt.name: fmt
    for fmt in (
        OutputFormat("parquet", "parquet", "application/x-parquet", write_parquet),
        OutputFormat("libsvm", "libsvm", "text/libsvm", _streamed(write_libsvm)),
        OutputFormat("csv", "csv", "text/csv", _streamed(write_csv)),
        OutputFormat("csv-features", "csv", "text/csv;label_size=0", _streamed(write_csv, with_labels=False)),
        OutputFormat("recordio", "recordio", RECORDIO, _streamed(write_recordio)),
        OutputFormat("idx", "gz", "application/gzip", None, write_idx),
        OutputFormat("csv-digits", "csv", "text/csv", None, write_digit_files),
    )
}


@dataclass(frozen=True)
class WrittenSplit:
    """The shard files of one split in one format, and how many rows they hold."""

    format: str
    split: str
    paths: list[Path]
    rows: int


def output_format(name: str) -> OutputFormat:
    """The writer for ``name``; an unknown name is a ValueError listing the valid ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown output format {name!r}; valid formats are {sorted(FORMATS)}") from None


def write_split(
    fmt: str,
    split: Split,
    directory: Path,
    *,
    rows_per_shard: int = DEFAULT_ROWS_PER_SHARD,
    split_name: str = "train",
) -> list[Path]:
    """Write ``split`` as ``directory/part-NNNNN.<ext>`` shards of at most ``rows_per_shard`` rows (or as
    the whole files of a format that has them, named after ``split_name``)."""
    output = output_format(fmt)
    if output.write_whole_split is not None:
        return output.write_whole_split(split_name, split, directory)
    paths = []
    for index, (start, stop) in enumerate(shard_bounds(len(split), rows_per_shard)):
        path = directory / shard_name(index, output.extension)
        images, labels = split.images[start:stop], split.labels[start:stop]
        paths.append(write_atomically(path, lambda temp, i=images, y=labels: output.write_shard(temp, i, y)))
    return paths


def write_dataset(
    dataset: MnistDataset,
    directory: Path,
    formats: Iterable[str],
    *,
    splits: Iterable[str] = ("train", "validation", "test"),
    rows_per_shard: int = DEFAULT_ROWS_PER_SHARD,
    min_shards: int = 1,
) -> list[WrittenSplit]:
    """Write each requested split in each format under ``directory/<format>/<split>/``, in shards of at most
    ``rows_per_shard`` rows and at least ``min_shards`` shards (as far as it has rows), so that
    ``ShardedByS3Key`` over ``min_shards`` instances gives each of them data."""
    if min_shards < 1:
        raise ValueError(f"min_shards must be at least 1, got {min_shards}")
    formats, splits = list(formats), list(splits)
    for name in formats:
        output_format(name)
    unknown = [name for name in splits if name not in dataset.splits]
    if unknown:
        raise ValueError(f"unknown split(s) {unknown}; valid splits are {list(dataset.splits)}")
    written = []
    for fmt in formats:
        for name in splits:
            split = dataset.splits[name]
            rows = min(rows_per_shard, max(1, -(-len(split) // min_shards)))
            paths = write_split(fmt, split, directory / fmt / name, rows_per_shard=rows, split_name=name)
            written.append(WrittenSplit(fmt, name, paths, len(split)))
    return written


__all__ = [
    "DEFAULT_ROWS_PER_SHARD",
    "FORMATS",
    "OutputFormat",
    "WrittenSplit",
    "output_format",
    "write_dataset",
    "write_split",
]
