"""The SageMaker XGBoost container's training channels: which are allowed, and reading them into DMatrix.

Channels: ``train`` (required), ``validation`` (optional) and ``code`` (script mode, ignored here). Every
channel's ContentType must be one of :data:`CONTENT_TYPES` exactly as written (the container compares the
whole string, so ``text/csv;label_size=1`` is refused); a channel without one is ``text/libsvm``. Both
channels are read with the ``train`` channel's format, as the container does.

Formats, with the label always in the first column:

* libsvm — ``label index:value ...``; an index is the column number as written (a file with 1-based
  indices gives an empty column 0, exactly as XGBoost's own reader does), absent entries are missing;
* CSV — no header, the delimiter sniffed from the first line; ``csv_weights=1`` takes instance weights
  from the second column; empty cells are missing;
* Parquet — every column numeric, the first one the label;
* recordIO-protobuf — dense or sparse float32 ``Record``\\ s with a label.

The files are parsed with scikit-learn's svmlight reader, pandas, fastparquet and the project's recordIO
codec rather than XGBoost's text-URI reader, which is deprecated since XGBoost 3.1 and crashes the process
on some malformed input; the container's first-line checks and messages are kept.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import xgboost as xgb
from sklearn.datasets import load_svmlight_files

from include.local_sagemaker.algorithms.base import Channel, TrainingFailure
from include.local_sagemaker.algorithms.xgboost_hyperparameters import user_error

LIBSVM, CSV, PARQUET, RECORDIO_PROTOBUF = "libsvm", "csv", "parquet", "recordio-protobuf"
DEFAULT_CONTENT_TYPE = "text/libsvm"
# The container's accepted ContentType strings, in the order its messages list them.
CONTENT_TYPES = {
    "csv": CSV,
    "libsvm": LIBSVM,
    "parquet": PARQUET,
    "recordio-protobuf": RECORDIO_PROTOBUF,
    "text/csv": CSV,
    "text/libsvm": LIBSVM,
    "text/x-libsvm": LIBSVM,
    "application/x-parquet": PARQUET,
    "application/x-recordio-protobuf": RECORDIO_PROTOBUF,
}
CHANNELS = ("train", "validation", "code")
_CHANNEL_WORDS = {"train": "training", "validation": "validation"}


@dataclass(frozen=True)
class ChannelFormat:
    """The format every data channel of the job is read with (the ``train`` channel's)."""

    kind: str
    content_type: str


def channel_format(channels: dict[str, Channel]) -> ChannelFormat:
    """Check the job's channels as the container does and return the format to read them with."""
    if "train" not in channels:
        raise user_error("Missing required channel: train")
    for name, channel in channels.items():
        if name not in CHANNELS:
            raise user_error(f"Extraneous channel found: {name}")
        if name == "code":
            continue
        content_type = channel.content_type or DEFAULT_CONTENT_TYPE
        if content_type not in CONTENT_TYPES:
            configuration = {
                "ContentType": content_type,
                "TrainingInputMode": channel.input_mode,
                "S3DistributionType": channel.s3_distribution_type,
                "RecordWrapperType": channel.record_wrapper_type,
            }
            raise user_error(
                f"Channel configuration for '{name}' channel is not supported: {configuration} "
                f"(accepted ContentTypes: {', '.join(CONTENT_TYPES)})"
            )
    content_type = channels["train"].content_type or DEFAULT_CONTENT_TYPE
    return ChannelFormat(CONTENT_TYPES[content_type], content_type)


def data_files(channel: Channel) -> list[Path]:
    """The channel's data files: hidden files and marker files such as Spark's ``_SUCCESS`` are skipped."""
    if not channel.path.is_dir():
        return []
    return [path for path in channel.files() if not path.name.startswith("_")]


def read_dmatrix(channel: Channel, data_format: ChannelFormat, csv_weights: int = 0) -> xgb.DMatrix:
    """Read every data file of ``channel`` into one DMatrix. Raises :class:`TrainingFailure`."""
    files = [path for path in data_files(channel) if path.stat().st_size > 0]
    if not files:
        raise user_error(
            f"No data in {_CHANNEL_WORDS.get(channel.name, channel.name)} channel path {channel.path}"
        )
    kind = data_format.kind
    try:
        if kind == LIBSVM:
            for path in files:
                _check_libsvm_first_line(path)
            features, labels, weights = _read_libsvm(files)
        elif kind == CSV:
            features, labels, weights = _read_csv(files, csv_weights)
        elif kind == PARQUET:
            features, labels, weights = _read_parquet(files)
        else:
            features, labels, weights = _read_recordio(files)
    except TrainingFailure:
        raise
    except Exception as error:
        raise user_error(f"Failed to load {kind} data with exception:\n{error}") from None
    if labels is None or labels.size == 0:
        raise user_error(
            "Got input data without labels. Please check the input data set "
            f"(channel '{channel.name}', {kind}: the label must be the first column)."
        )
    return xgb.DMatrix(features, label=labels, weight=weights)


# --- libsvm --------------------------------------------------------------------------------------


def _check_libsvm_first_line(path: Path) -> None:
    """The container's check: the first line that has features must look like ``label idx:val ...``."""
    with path.open("r", errors="ignore") as stream:
        for line in stream:
            features = _libsvm_feature_count(line.rstrip("\r\n"))
            if features < 0:
                snippet = line.rstrip("\r\n")[:50]
                raise user_error(
                    f"First line '{snippet}...' of file '{path.name}' is not 'LIBSVM' format. "
                    "Please ensure the file is in 'LIBSVM' format."
                )
            if features > 1:
                return


def _libsvm_feature_count(line: str) -> int:
    """Number of ``index:value`` tokens, or -1 when the line is not libsvm."""
    label, *tokens = line.split(" ")
    label_parts = label.split(":")
    if len(label_parts) > 2 or not all(_is_number(part) for part in label_parts):
        return -1
    tokens = [token for token in tokens if token]
    if any(len(token.split(":")) != 2 for token in tokens):
        return -1
    return len(tokens)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_libsvm(files: list[Path]):
    try:
        # zero_based=True keeps every index as its column number, as XGBoost's reader does.
        loaded = load_svmlight_files([str(path) for path in files], zero_based=True, dtype=np.float32)
    except ValueError as error:
        raise ValueError(_locate_bad_libsvm_line(files, error)) from None
    matrices, labels = loaded[0::2], loaded[1::2]
    return sp.vstack(matrices, format="csr"), np.concatenate(labels), None


def _locate_bad_libsvm_line(files: list[Path], error: Exception) -> str:
    """scikit-learn names the bad value but not where it is: find the first line that does not parse."""
    for path in files:
        with path.open("r", errors="replace") as stream:
            for number, line in enumerate(stream, start=1):
                content = line.split("#", 1)[0].strip()
                problem = _libsvm_line_problem(content) if content else None
                if problem:
                    return f"{path.name} line {number}: {problem} (expected 'label index:value ...')"
    return str(error)


def _libsvm_line_problem(content: str) -> str | None:
    label, *tokens = content.split()
    if not all(_is_number(part) for part in label.split(":", 1)):
        return f"label {label[:40]!r} is not a number"
    for token in tokens:
        index, separator, value = token.partition(":")
        if not separator or not index.isdigit() or not _is_number(value):
            return f"{token[:40]!r} is not index:value"
    return None


# --- CSV -----------------------------------------------------------------------------------------


def _read_csv(files: list[Path], csv_weights: int):
    with files[0].open("r", errors="ignore") as stream:
        first_line = stream.readline()
    try:
        delimiter = csv.Sniffer().sniff(first_line).delimiter
    except csv.Error as error:
        raise user_error(f"Could not determine delimiter on line {first_line[:50]}:\n{error}") from None
    tables = []
    for path in files:
        try:
            table = pd.read_csv(path, header=None, sep=delimiter, dtype=np.float32, engine="c")
        except pd.errors.EmptyDataError:
            continue
        except ValueError as error:
            raise ValueError(_locate_bad_csv_cell(path, delimiter, error)) from None
        tables.append(table.to_numpy(dtype=np.float32))
    widths = {table.shape[1] for table in tables}
    if len(widths) > 1:
        raise ValueError(f"files have different numbers of columns: {sorted(widths)}")
    values = np.concatenate(tables)
    first_feature = 2 if csv_weights == 1 else 1
    weights = values[:, 1].copy() if csv_weights == 1 else None
    return np.ascontiguousarray(values[:, first_feature:]), values[:, 0].copy(), weights


def _locate_bad_csv_cell(path: Path, delimiter: str, error: Exception) -> str:
    """pandas names the bad value but not where it is: find the first cell that is not a number."""
    with path.open("r", errors="replace") as stream:
        for number, line in enumerate(stream, start=1):
            for column, cell in enumerate(line.rstrip("\r\n").split(delimiter), start=1):
                if cell.strip() and not _is_number(cell):
                    return f"{path.name} line {number} column {column} is {cell[:40]!r}, not a number"
    return f"{path.name}: {error}"


# --- Parquet and recordIO ------------------------------------------------------------------------


def _read_parquet(files: list[Path]):
    tables = [pd.read_parquet(path, engine="fastparquet") for path in files]
    values = pd.concat(tables, ignore_index=True).to_numpy(dtype=np.float32)
    return np.ascontiguousarray(values[:, 1:]), values[:, 0].copy(), None


def _read_recordio(files: list[Path]):
    from include.recordio import read_dense

    features, labels = [], []
    for path in files:
        with path.open("rb") as stream:
            part_features, part_labels = read_dense(stream)
        features.append(np.asarray(part_features, dtype=np.float32).reshape(len(part_features), -1))
        if part_labels is None:
            return np.concatenate(features), None, None
        labels.append(np.asarray(part_labels, dtype=np.float32))
    return np.concatenate(features), np.concatenate(labels), None
