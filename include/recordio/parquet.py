"""Stream a Parquet table of numeric columns into size-bounded recordIO-protobuf shard files.

The table is the seeds' layout: one numeric column per feature (``"0"`` .. ``"783"`` for MNIST) plus a label
column. fastparquet reads it one row group at a time, so memory holds one row group and one chunk of
encoded records, whatever the size of the file. Everything that can be checked from the schema is checked
before the first row is read; values (NaN, unmapped labels) are checked row group by row group.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import fastparquet
import numpy as np
import pandas as pd

from include.recordio.dense_writer import DEFAULT_CHUNK_BYTES, encode_dense_records
from include.recordio.tensor_types import FLOAT32


class ParquetInputError(ValueError):
    """The Parquet input cannot be converted: the message names the file, column or row."""


@dataclass(frozen=True)
class ParquetTable:
    """The checked schema of an input file: which columns are features and which is the label."""

    path: str
    label_column: str
    feature_columns: list[str]
    rows: int


def inspect_table(
    path: str | Path, label_column: str, feature_columns: Sequence[str] | None = None
) -> ParquetTable:
    """Open ``path`` and check its schema: the label column exists, every feature column is numeric."""
    path = str(path)
    try:
        parquet = fastparquet.ParquetFile(path)
    except Exception as error:  # fastparquet raises a variety of errors for files it cannot parse
        raise ParquetInputError(f"{path} is not a readable Parquet file: {error}") from error
    columns = list(parquet.columns)
    dtypes = parquet.dtypes
    if label_column not in columns:
        raise ParquetInputError(
            f"{path} has no label column {label_column!r}; its columns are {columns[:10]}..."
        )
    features = (
        [name for name in columns if name != label_column]
        if feature_columns is None
        else list(feature_columns)
    )
    missing = [name for name in features if name not in columns]
    if missing:
        raise ParquetInputError(f"{path} has no feature column(s) {missing[:10]}")
    if not features:
        raise ParquetInputError(f"{path} has no feature columns besides the label column {label_column!r}")
    for name in [label_column, *features]:
        if not _is_numeric(dtypes[name]):
            role = "label" if name == label_column else "feature"
            raise ParquetInputError(
                f"{path}: {role} column {name!r} {_describe(parquet, name, dtypes[name])}; "
                "a numeric column is required"
            )
    rows = parquet.count()
    if rows == 0:
        raise ParquetInputError(f"{path} is empty: it has no rows")
    return ParquetTable(path, label_column, features, rows)


def _describe(parquet: fastparquet.ParquetFile, column: str, dtype) -> str:
    if dtype != np.dtype(object):
        return f"has dtype {dtype}"
    # Object columns hold text or nested values; one value tells which.
    sample = parquet.head(1, columns=[column])[column]
    if len(sample) and isinstance(sample.iloc[0], list | tuple | np.ndarray):
        return "holds sequences (ragged), not scalars"
    return f"holds {type(sample.iloc[0]).__name__ if len(sample) else 'object'} values"


def _is_numeric(dtype) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def iter_batches(
    table: ParquetTable,
    *,
    label_mapping: Mapping | None = None,
    label_default: float | None = None,
    allow_nan: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(features float32 rows × columns, labels float32)`` per row group, checked.

    ``label_mapping`` maps label values (compared as numbers) to new labels; a value it does not name gets
    ``label_default``, or is an error when that is None. NaN features are an error unless ``allow_nan``;
    a NaN label is always an error.
    """
    mapping = (
        None if label_mapping is None else {float(key): float(value) for key, value in label_mapping.items()}
    )
    parquet = fastparquet.ParquetFile(table.path)
    first_row = 0
    for frame in parquet.iter_row_groups(columns=[*table.feature_columns, table.label_column]):
        labels = frame.pop(table.label_column).to_numpy(dtype=np.float64, na_value=np.nan)
        features = frame[table.feature_columns].to_numpy(dtype=np.float32, na_value=np.nan)
        del frame
        _check_no_nan(table, labels[:, None], [table.label_column], first_row)
        if not allow_nan:
            _check_no_nan(table, features, table.feature_columns, first_row)
        if mapping is not None:
            labels = _map_labels(table, labels, mapping, label_default, first_row)
        first_row += len(labels)
        yield features, labels.astype(np.float32)


def _check_no_nan(table: ParquetTable, values: np.ndarray, columns: Sequence[str], first_row: int) -> None:
    nan = np.isnan(values)
    if nan.any():
        row, column = np.argwhere(nan)[0]
        raise ParquetInputError(
            f"{table.path}: column {columns[column]!r} is NaN (or null) at row {first_row + row}; "
            "clean the data, or allow NaN features explicitly (allow_nan=True)"
        )


def _map_labels(
    table: ParquetTable,
    labels: np.ndarray,
    mapping: dict[float, float],
    default: float | None,
    first_row: int,
) -> np.ndarray:
    mapped = np.full(labels.shape, np.nan if default is None else float(default))
    for source, target in mapping.items():
        mapped[labels == source] = target
    if default is None:
        unmapped = ~np.isin(labels, list(mapping))
        if unmapped.any():
            row = int(np.argmax(unmapped))
            raise ParquetInputError(
                f"{table.path}: label {float(labels[row])!r} at row {first_row + row} "
                f"(column {table.label_column!r}) is not in label_mapping {sorted(mapping)} "
                "and no label_default is set"
            )
    return mapped


@dataclass(frozen=True)
class Shard:
    """One finished shard file."""

    path: Path
    records: int
    size: int


def record_size(feature_dim: int) -> int:
    """Bytes of one framed record of ``feature_dim`` float32 features and a float32 label."""
    return encode_dense_records(
        np.zeros((1, feature_dim), np.float32), np.zeros(1, np.float32), FLOAT32, FLOAT32
    ).size


def write_shards(
    batches: Iterator[tuple[np.ndarray, np.ndarray]],
    directory: Path,
    *,
    feature_dim: int,
    max_shard_bytes: int,
    on_shard: Callable[[Shard], None],
    name: Callable[[int], str] = lambda index: f"part-{index:05d}.pbr",
) -> int:
    """Encode batches into shard files of at most ``max_shard_bytes`` and hand each to ``on_shard``.

    Shards are written one at a time in ``directory``; ``on_shard`` is called as soon as a shard is complete
    (to upload it) and may delete the file. Returns the number of records written.
    """
    size = record_size(feature_dim)
    rows_per_shard = max(1, max_shard_bytes // size)
    rows_per_chunk = max(1, DEFAULT_CHUNK_BYTES // size)
    index, in_shard, total = 0, 0, 0
    out = None
    try:
        for features, labels in batches:
            start = 0
            while start < len(labels):
                if out is None:
                    out = open(directory / name(index), "wb")  # noqa: SIM115 (closed below or in finally)
                # A chunk never straddles two shards.
                take = min(rows_per_chunk, rows_per_shard - in_shard, len(labels) - start)
                stop = start + take
                out.write(encode_dense_records(features[start:stop], labels[start:stop], FLOAT32, FLOAT32))
                start, in_shard, total = stop, in_shard + take, total + take
                if in_shard == rows_per_shard:
                    out.close()
                    out = None
                    on_shard(Shard(directory / name(index), in_shard, in_shard * size))
                    index, in_shard = index + 1, 0
        if out is not None:
            out.close()
            out = None
            on_shard(Shard(directory / name(index), in_shard, in_shard * size))
    finally:
        if out is not None:
            out.close()
    return total


def shard_count(rows: int, feature_dim: int, max_shard_bytes: int) -> int:
    """How many shards ``rows`` records make."""
    return math.ceil(rows / max(1, max_shard_bytes // record_size(feature_dim)))
