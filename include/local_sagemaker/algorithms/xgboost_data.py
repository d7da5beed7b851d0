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
* Parquet — every column numeric, the first one the label; a Pipe-mode pass is read object by object
  (:mod:`~include.local_sagemaker.algorithms.parquet_stream`);
* recordIO-protobuf — dense or sparse float32 ``Record``\\ s with a label.

The files are parsed batch by batch, each batch handed to XGBoost through a ``DataIter``
(:class:`ChannelBatches`), with scikit-learn's svmlight reader, pandas, fastparquet and the project's recordIO
codec rather than XGBoost's text-URI reader, which is deprecated since XGBoost 3.1 and crashes the process
on some malformed input; the container's first-line checks and messages are kept.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.datasets import load_svmlight_file

from include.local_sagemaker.algorithms.base import Channel
from include.local_sagemaker.algorithms.channel_data import PIPE, pass_files, recordio_file_batches
from include.local_sagemaker.algorithms.parquet_stream import parquet_objects
from include.local_sagemaker.algorithms.xgboost_hyperparameters import user_error
from include.local_sagemaker.failures import JobFailure

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
# Records per batch read from a channel: 20,000 dense MNIST records are 63 MB of float32.
BATCH_ROWS = 20_000
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


def read_dmatrix(
    channel: Channel, data_format: ChannelFormat, csv_weights: int = 0, max_bin: int | None = None
) -> xgb.DMatrix:
    """The channel's data files as a DMatrix built batch by batch from :class:`ChannelBatches`.

    With ``max_bin`` it is a ``QuantileDMatrix``: XGBoost sketches the feature quantiles over the batches
    and keeps only each value's histogram bin (what the ``hist`` tree method trains on), so neither the
    raw data nor a concatenated copy of it is ever held. Without, a ``DMatrix`` of the raw values (what the
    other tree methods, ``gblinear`` and exact evaluation need). Raises :class:`JobFailure`.
    """
    if channel.input_mode == PIPE:
        if data_format.kind == LIBSVM:
            # The container's own refusal (sagemaker-xgboost-container, data_utils.get_libsvm_dmatrix); its
            # images 0.90-1 to 3.0-5 read Pipe-mode channels of CSV, Parquet and recordIO-protobuf
            # (VALID_PIPED_CONTENT_TYPES; Parquet through mlio, see parquet_stream).
            raise user_error("Pipe mode not supported for LibSVM.")
        return _dmatrix(channel, None, data_format, csv_weights, max_bin)
    files = [path for path in data_files(channel) if path.stat().st_size > 0]
    if not files:
        raise user_error(
            f"No data in {_CHANNEL_WORDS.get(channel.name, channel.name)} channel path {channel.path}"
        )
    return _dmatrix(channel, files, data_format, csv_weights, max_bin)


def _dmatrix(
    channel: Channel,
    files: list[Path] | None,
    data_format: ChannelFormat,
    csv_weights: int,
    max_bin: int | None,
) -> xgb.DMatrix:
    try:
        if max_bin is None:
            # A DMatrix built from an iterator pages its rows to ``<cache_prefix>-*.page`` files (by default
            # in the current directory): they belong in the job's own input directory, beside the channel,
            # and are removed when the matrix is freed.
            cache_prefix = str(channel.path.parent / f".xgboost-{channel.name}")
            return xgb.DMatrix(ChannelBatches(channel, files, data_format.kind, csv_weights, cache_prefix))
        return xgb.QuantileDMatrix(
            ChannelBatches(channel, files, data_format.kind, csv_weights), max_bin=max_bin
        )
    except JobFailure:
        raise
    except Exception as error:
        # An XGBoost failure on well-formed batches (the reader's own failures are JobFailures).
        raise user_error(f"Failed to load {data_format.kind} data with exception:\n{error}") from None


class ChannelBatches(xgb.DataIter):
    """The records of a channel's files for XGBoost, :data:`BATCH_ROWS` at a time, pass after pass.

    Every batch has the channel's number of columns (XGBoost requires it): for libsvm, whose rows name their
    columns, that is one more than the largest index in the files, found by a first pass.
    """

    def __init__(
        self,
        channel: Channel,
        files: list[Path] | None,
        kind: str,
        csv_weights: int = 0,
        cache_prefix: str | None = None,
    ):
        super().__init__(cache_prefix=cache_prefix, release_data=True)
        self.channel, self.files, self.kind, self.csv_weights = channel, files, kind, csv_weights
        self._width: int | None = None
        self._batches: Iterator[tuple] | None = None

    def reset(self) -> None:
        self._batches = None

    def next(self, input_data: Callable) -> bool:
        if self._batches is None:
            self._batches = self._read()
        batch = next(self._batches, None)
        if batch is None:
            return False
        features, labels, weights = batch
        input_data(data=features, label=labels, weight=weights)
        return True

    def _read(self) -> Iterator[tuple]:
        try:
            files = pass_files(self.channel, self.files)  # a Pipe-mode channel's next pipe
            if self.kind == LIBSVM:
                batches = self._libsvm()
            elif self.kind == CSV:
                batches = _csv_batches(files, self.csv_weights)
            elif self.kind == PARQUET:
                batches = _parquet_batches(files, self.channel.path.parent)
            else:
                batches = _recordio_batches(files)
            rows = 0
            for features, labels, weights in batches:
                if labels is None:
                    raise user_error(
                        "Got input data without labels. Please check the input data set "
                        f"(channel '{self.channel.name}', {self.kind}: the label must be the first column)."
                    )
                rows += features.shape[0]
                yield features, labels, weights
            if not rows:
                raise user_error(f"Got no records in channel '{self.channel.name}' ({self.kind})")
        except JobFailure:
            raise
        except Exception as error:
            raise user_error(f"Failed to load {self.kind} data with exception:\n{error}") from None

    def _libsvm(self) -> Iterator[tuple]:
        if self._width is None:
            for path in self.files:
                _check_libsvm_first_line(path)
            self._width = max((batch.shape[1] for batch, _, _ in _libsvm_batches(self.files)), default=0)
        for features, labels, weights in _libsvm_batches(self.files):
            features.resize((features.shape[0], self._width))
            yield features, labels, weights


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


def _libsvm_batches(files: list[Path]) -> Iterator[tuple]:
    for path in files:
        with path.open("rb") as stream:
            while lines := list(islice(stream, BATCH_ROWS)):
                try:
                    # zero_based=True keeps every index as its column number, as XGBoost's reader does.
                    features, labels = load_svmlight_file(
                        io.BytesIO(b"".join(lines)), zero_based=True, dtype=np.float32
                    )
                except ValueError as error:
                    raise ValueError(_locate_bad_libsvm_line([path], error)) from None
                yield features, labels, None


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


def _csv_batches(files: list[Path], csv_weights: int) -> Iterator[tuple]:
    delimiter = None
    first_feature = 2 if csv_weights == 1 else 1
    width = None
    for path in files:
        # Each file is read once, front to back, the delimiter sniffed from the first file's buffered start:
        # a pipe (a Pipe-mode pass, a FastFile object) cannot be read twice.
        with path.open("rb", buffering=1 << 20) as stream:
            if delimiter is None:
                delimiter = _sniff_delimiter(stream.peek(1 << 16))
            for values in _csv_values(path, stream, delimiter):
                if width is not None and values.shape[1] != width:
                    raise ValueError(
                        f"files have different numbers of columns: {sorted({width, values.shape[1]})}"
                    )
                width = values.shape[1]
                weights = values[:, 1].copy() if csv_weights == 1 else None
                yield np.ascontiguousarray(values[:, first_feature:]), values[:, 0].copy(), weights


def _sniff_delimiter(buffered: bytes) -> str:
    first_line = buffered.split(b"\n", 1)[0].decode(errors="ignore")
    try:
        return csv.Sniffer().sniff(first_line).delimiter
    except csv.Error as error:
        raise user_error(f"Could not determine delimiter on line {first_line[:50]}:\n{error}") from None


def _csv_values(path: Path, stream, delimiter: str) -> Iterator[np.ndarray]:
    try:
        chunks = pd.read_csv(
            stream, header=None, sep=delimiter, dtype=np.float32, engine="c", chunksize=BATCH_ROWS
        )
    except pd.errors.EmptyDataError:
        return
    with chunks:
        while True:
            try:
                yield next(chunks).to_numpy(dtype=np.float32)
            except StopIteration:
                return
            except ValueError as error:
                raise ValueError(_locate_bad_csv_cell(path, delimiter, error)) from None


def _locate_bad_csv_cell(path: Path, delimiter: str, error: Exception) -> str:
    """pandas names the bad value but not where it is: find the first cell that is not a number (a pipe
    cannot be read again: its error is pandas')."""
    if path.is_fifo():
        return f"{path.name}: {error}"
    with path.open("r", errors="replace") as stream:
        for number, line in enumerate(stream, start=1):
            for column, cell in enumerate(line.rstrip("\r\n").split(delimiter), start=1):
                if cell.strip() and not _is_number(cell):
                    return f"{path.name} line {number} column {column} is {cell[:40]!r}, not a number"
    return f"{path.name}: {error}"


# --- Parquet and recordIO ------------------------------------------------------------------------


def _parquet_batches(files: list[Path], spill_dir: Path) -> Iterator[tuple]:
    """Each file's row groups; a pipe (a Pipe-mode pass) carries Parquet objects back to back, which are
    read one at a time through a temporary file in ``spill_dir`` (the job's own input directory)."""
    from fastparquet import ParquetFile

    for path in files:
        if not path.is_fifo():
            yield from _row_group_batches(ParquetFile(str(path)))
            continue
        with path.open("rb") as stream:
            for parquet_object in parquet_objects(stream, spill_dir):
                yield from _row_group_batches(ParquetFile(parquet_object))


def _row_group_batches(parquet_file) -> Iterator[tuple]:
    for table in parquet_file.iter_row_groups():
        values = table.to_numpy(dtype=np.float32)
        for start in range(0, len(values), BATCH_ROWS):
            part = values[start : start + BATCH_ROWS]
            yield np.ascontiguousarray(part[:, 1:]), part[:, 0].copy(), None


def _recordio_batches(files: list[Path]) -> Iterator[tuple]:

    for path in files:
        for features, labels in recordio_file_batches(path, BATCH_ROWS):
            features = np.asarray(features, dtype=np.float32).reshape(len(features), -1)
            yield features, None if labels is None else np.asarray(labels, dtype=np.float32), None
