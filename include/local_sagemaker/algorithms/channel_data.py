"""Read a training channel's files into numpy, the way the built-in algorithms accept them.

Two ways: :func:`stream_channel` gives the channel as bounded float32 batches (with their labels if asked),
pass after pass, so an algorithm's memory does not grow with the data; :func:`read_channel` gives it as one
array (what the channels an algorithm scores in memory use).

recordIO-protobuf (the default) goes through the project's codec, ``include.recordio.read_dense``;
CSV has no header, its first ``label_size`` columns are labels (``text/csv;label_size=0`` for data
without labels, as SageMaker's docs tell unsupervised users). Bad or empty data fails the job with a
``ClientError`` naming the channel, the file and what was wrong.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from include.local_sagemaker.algorithms import content_types
from include.local_sagemaker.algorithms.base import Channel
from include.local_sagemaker.algorithms.hyperparameters import client_error
from include.local_sagemaker.failures import JobFailure

PIPE = "Pipe"
PIPE_WAIT_SECONDS = 60.0  # how long a pass waits for its pipe to appear
DEFAULT_CSV_LABEL_SIZE = 1
COUNTING_BATCH_ROWS = 10_000  # bounded batches for a pass that only counts records


# The next pass of each Pipe-mode channel this container reads: a channel's pipes are read in order, once.
_pipe_passes: dict[Path, int] = {}


@dataclass(frozen=True)
class ChannelData:
    """All records of a channel: ``features`` float32 (rows × feature_dim), ``labels`` or ``None``."""

    features: np.ndarray
    labels: np.ndarray | None

    @property
    def rows(self) -> int:
        return self.features.shape[0]


def read_channel(
    channel: Channel,
    feature_dim: int | None = None,
    supported: tuple[str, ...] = (content_types.RECORDIO_PROTOBUF, content_types.CSV),
    default_content_type: str = content_types.RECORDIO_PROTOBUF,
) -> ChannelData:
    """Read every data file of ``channel`` (sorted, hidden files skipped) into one :class:`ChannelData`.

    ``feature_dim``, when given, is checked against every file. Raises :class:`JobFailure`.
    """
    media_type, parameters, files = _channel_files(channel, supported, default_content_type)
    files = pass_files(channel, files)
    labels_per_row = _csv_label_size(channel, parameters) if media_type == content_types.CSV else None
    if labels_per_row is not None:
        parts = [_read_csv_file(path, labels_per_row) for path in files]
    else:
        parts = [_read_recordio_file(path) for path in files]
    parts = [(path, part) for path, part in zip(files, parts, strict=True) if part.rows]
    if not parts:
        raise _no_records(channel, files)
    if feature_dim is not None:
        for path, part in parts:
            _check_feature_dim(channel, path, part.features.shape[1], feature_dim, labels_per_row)
    return _concatenate(channel, parts)


def stream_channel(
    channel: Channel,
    feature_dim: int | None,
    supported: tuple[str, ...] = (content_types.RECORDIO_PROTOBUF, content_types.CSV),
    default_content_type: str = content_types.RECORDIO_PROTOBUF,
) -> ChannelStream:
    """The records of ``channel`` as a :class:`ChannelStream` of bounded batches, checked as
    :func:`read_channel` checks them; ``feature_dim`` None takes the width of the first file read.

    The content type and the presence of files are checked now; each file's data is checked as it is read.
    """
    media_type, parameters, files = _channel_files(channel, supported, default_content_type)
    labels_per_row = _csv_label_size(channel, parameters) if media_type == content_types.CSV else None
    return ChannelStream(channel, files, feature_dim, labels_per_row)


def pass_files(channel: Channel, files: list[Path] | None) -> list[Path]:
    """What one pass over ``channel`` reads: its ``files``, or for a Pipe-mode channel (``files`` None) the
    next of its pipes ``<channel>_0``, ``<channel>_1``, … waiting for the pipe to appear
    (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html:
    "If the file for a given epoch doesn't exist yet, your code may need to retry")."""
    if files is not None:
        return files
    epoch = _pipe_passes.get(channel.path, 0)
    _pipe_passes[channel.path] = epoch + 1
    pipe = pipe_path(channel, epoch)
    deadline = time.monotonic() + PIPE_WAIT_SECONDS
    while not pipe.exists():
        if time.monotonic() > deadline:
            raise client_error(
                f"No data in channel '{channel.name}': its Pipe-mode pipe {pipe} did not appear "
                f"within {PIPE_WAIT_SECONDS:.0f} s",
                cause="FileNotFoundError",
            )
        time.sleep(0.01)
    return [pipe]


def pipe_path(channel: Channel, epoch: int) -> Path:
    """The named pipe of a Pipe-mode ``channel``'s pass ``epoch``: ``<channel>_<epoch>``, beside its
    directory."""
    return channel.path.with_name(f"{channel.name}_{epoch}")


def host_shard(channel: Channel, feature_dim: int | None, distributed: bool) -> ChannelStream | None:
    """:func:`stream_channel` of this host's share of ``channel``; None when it is a host of a multi-host job
    that received none of the channel's objects (``ShardedByS3Key`` over more hosts than objects, which
    SageMaker allows: "some nodes won't get any data"). A single host without data fails as ever.

    A Pipe-mode channel tells only by its data (:func:`pipe_has_data`)."""
    if distributed and not (pipe_has_data(channel) if channel.input_mode == PIPE else channel.files()):
        return None
    return stream_channel(channel, feature_dim)


def pipe_has_data(channel: Channel) -> bool:
    """Whether a Pipe-mode channel's next pass carries any bytes: it is opened and, unless it is empty,
    closed after one byte (the passes that follow carry the same objects)."""
    (pipe,) = pass_files(channel, None)
    with pipe.open("rb") as stream:
        return bool(stream.read(1))


class LabelledRecords(Protocol):
    """Records read pass after pass as bounded ``(features, labels)`` batches (a :class:`ChannelStream`)."""

    def labelled_batches(self, batch_rows: int) -> Iterator[tuple[np.ndarray, np.ndarray | None]]: ...


class ChannelStream:
    """A channel read batch by batch: every pass over :meth:`batches` reads the files again, in order (a
    Pipe-mode channel's next pipe).

    recordIO files are memory-mapped read-only and decoded a slice of records at a time with the codec's
    dense reader (files of same-shaped dense records, what the SDK writes; any other recordIO file is
    decoded whole, then cut into batches). CSV files are parsed in chunks. A batch is a C-ordered float32
    array (rows × feature_dim) of at most ``batch_rows`` rows; batches span file boundaries, so all but
    the last of a pass have exactly ``batch_rows`` rows. :meth:`batches` reads features only,
    :meth:`labelled_batches` the labels too.
    """

    def __init__(
        self, channel: Channel, files: list[Path] | None, feature_dim: int | None, csv_label_size: int | None
    ):
        self.channel = channel
        self.files = files
        self.feature_dim = feature_dim
        self.csv_label_size = csv_label_size
        self._rows: int | None = None

    @property
    def rows(self) -> int:
        """Records in the channel: counted by one pass over the data the first time it is asked."""
        if self._rows is None:
            self._rows = sum(len(batch) for batch in self.batches(COUNTING_BATCH_ROWS))
        return self._rows

    def batches(self, batch_rows: int) -> Iterator[np.ndarray]:
        """One pass over the channel in batches of ``batch_rows`` records. Raises :class:`JobFailure`
        if the channel holds no records, or when it reaches a file of bad records or of the wrong width."""
        for features, _ in self._batches(batch_rows, with_labels=False):
            yield features

    def labelled_batches(self, batch_rows: int) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """As :meth:`batches`, with each batch's labels (float64: one per record, or records × label_size
        for CSV with several labels); ``None`` for a batch holding records of a file without labels."""
        return self._batches(batch_rows, with_labels=True)

    def _batches(self, batch_rows: int, with_labels: bool) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        pending: list[tuple[np.ndarray, np.ndarray | None]] = []
        pending_rows = total = 0
        files = pass_files(self.channel, self.files)
        for path in files:
            for features, labels in self._file_chunks(path, batch_rows, with_labels):
                total += len(features)
                while len(features):
                    take = min(batch_rows - pending_rows, len(features))
                    pending.append((features[:take], None if labels is None else labels[:take]))
                    pending_rows += take
                    features, labels = features[take:], None if labels is None else labels[take:]
                    if pending_rows == batch_rows:
                        yield _joined(pending, with_labels)
                        pending, pending_rows = [], 0
        if pending:
            yield _joined(pending, with_labels)
        if not total:
            raise _no_records(self.channel, files)
        self._rows = total

    def _file_chunks(
        self, path: Path, chunk_rows: int, with_labels: bool
    ) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        if self.csv_label_size is not None:
            chunks = _csv_chunks(path, self.csv_label_size, chunk_rows)
        else:
            chunks = _recordio_chunks(path, chunk_rows)
        checked = False
        for features, labels in chunks:
            if not checked:
                if self.feature_dim is None:
                    self.feature_dim = features.shape[1]
                _check_feature_dim(
                    self.channel, path, features.shape[1], self.feature_dim, self.csv_label_size
                )
                checked = True
            yield features, (labels if with_labels else None)


def reservoir_sample(
    records: LabelledRecords, size: int, batch_rows: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray | None]:
    """A uniform sample of ``size`` records of the channel (all of them if it has fewer) with their labels
    (``None`` if some records have none), in one pass and in memory bounded by ``size + batch_rows``
    records: each record draws a random key and the sample keeps the ``size`` smallest keys seen so far
    (bottom-k sampling, a reservoir sample). The sample is in the order of its keys, a random order.

    Once the sample is full, a record enters only if its key is below the largest kept one, so only those
    records of a batch are copied: about ``size × ln(records / size)`` over the whole pass, which then costs
    little more than reading the channel."""
    rng = np.random.default_rng(seed)
    features, labels, keys = None, None, np.empty(0)
    labelled = True
    for batch, batch_labels in records.labelled_batches(batch_rows):
        labelled = labelled and batch_labels is not None
        batch_keys = rng.random(len(batch))
        if len(keys) == size:
            entering = np.flatnonzero(batch_keys < keys.max())
            if not len(entering):
                continue
            batch, batch_keys = batch[entering], batch_keys[entering]
            batch_labels = batch_labels[entering] if labelled else None
        features = batch if features is None else np.concatenate([features, batch])
        if labelled:
            labels = batch_labels if labels is None else np.concatenate([labels, batch_labels])
        keys = np.concatenate([keys, batch_keys])
        if len(keys) > size:
            kept = np.argpartition(keys, size)[:size]
            features, keys = features[kept], keys[kept]
            labels = labels[kept] if labelled else None
    if features is None:
        return None, None
    order = np.argsort(keys, kind="stable")
    return features[order], labels[order] if labelled else None


def _joined(
    parts: list[tuple[np.ndarray, np.ndarray | None]], with_labels: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    if len(parts) == 1:
        return parts[0]
    features = np.concatenate([features for features, _ in parts])
    if not with_labels or any(labels is None for _, labels in parts):
        return features, None
    return features, np.concatenate([labels for _, labels in parts])


def _channel_files(
    channel: Channel, supported: tuple[str, ...], default_content_type: str
) -> tuple[str, dict, list[Path] | None]:
    """The channel's media type, its parameters and its files (None for a Pipe-mode channel, whose every
    pass is a pipe of its own: :func:`pass_files`)."""
    media_type, parameters = content_types.parse(channel.content_type or default_content_type)
    if media_type not in supported:
        accepted = ", ".join(supported)
        raise client_error(
            f"No iterator has been registered for ContentType ('{channel.content_type}', '1.0') "
            f"of channel '{channel.name}'; this algorithm reads: {accepted}",
            cause="KeyError",
        )
    if channel.input_mode == PIPE:
        return media_type, parameters, None
    files = channel.files() if channel.path.is_dir() else []
    if not files:
        raise client_error(
            f"No data in channel '{channel.name}': {channel.path} holds no files", cause="ValueError"
        )
    return media_type, parameters, files


def _csv_label_size(channel: Channel, parameters: dict) -> int:
    try:
        return content_types.label_size(parameters, DEFAULT_CSV_LABEL_SIZE)
    except ValueError as error:
        raise client_error(
            f"ContentType '{channel.content_type}' of channel '{channel.name}': {error}",
            cause="ValueError",
        ) from None


def _no_records(channel: Channel, files: list[Path]) -> JobFailure:
    return client_error(
        f"No data in channel '{channel.name}': its {len(files)} file(s) under {channel.path} hold no records",
        cause="ValueError",
    )


def _check_feature_dim(
    channel: Channel, path: Path, width: int, feature_dim: int, labels_per_row: int | None
) -> None:
    if width == feature_dim:
        return
    hint = ""
    if labels_per_row is not None:
        hint = (
            f" (CSV with label_size={labels_per_row}: the first {labels_per_row} column(s) "
            "are labels; use ContentType 'text/csv;label_size=0' for data without labels)"
        )
    raise client_error(
        f"Records in {path} of channel '{channel.name}' have {width} features "
        f"but the 'feature_dim' hyperparameter is {feature_dim}{hint}",
        cause="ValueError",
    )


def _concatenate(channel: Channel, parts: list[tuple[Path, ChannelData]]) -> ChannelData:
    if len(parts) == 1:
        return parts[0][1]
    widths = {part.features.shape[1] for _, part in parts}
    if len(widths) > 1:
        shapes = ", ".join(f"{path.name}: {part.features.shape[1]}" for path, part in parts)
        raise client_error(
            f"Files of channel '{channel.name}' have different numbers of features ({shapes})",
            cause="ValueError",
        )
    features = np.concatenate([part.features for _, part in parts])
    # Labels only when every file has them (unsupervised algorithms ignore them anyway).
    with_labels = all(part.labels is not None for _, part in parts)
    labels = np.concatenate([part.labels for _, part in parts]) if with_labels else None
    return ChannelData(features, labels)


def _read_recordio_file(path: Path) -> ChannelData:
    from include.recordio import read_dense  # imported here so CSV-only jobs do not need the codec

    try:
        with path.open("rb") as stream:
            features, labels = read_dense(stream)
    except JobFailure:
        raise
    except Exception as error:
        raise client_error(
            f"Unable to read {path} as recordIO-protobuf "
            f"(ContentType application/x-recordio-protobuf): {error}",
            cause=type(error).__name__,
        ) from None
    # The codec returns a strided view into the file's bytes; scikit-learn wants C order, so copy once here.
    features = np.ascontiguousarray(features, dtype=np.float32)
    if features.ndim != 2:
        features = features.reshape(len(features), -1)
    _check_finite(path, features, "record", "feature")
    return ChannelData(features, None if labels is None else np.asarray(labels))


def _read_csv_file(path: Path, labels_per_row: int) -> ChannelData:
    try:
        # pandas' C parser is the fast path; float32 halves memory for MNIST-sized files.
        table = pd.read_csv(path, header=None, dtype=np.float32, engine="c", skip_blank_lines=True)
    except pd.errors.EmptyDataError:
        return ChannelData(np.zeros((0, 0), dtype=np.float32), None)  # only blank lines
    except (ValueError, pd.errors.ParserError) as error:
        raise client_error(
            f"Unable to read {path} as CSV: {_locate_bad_csv_value(path, error)}", "ValueError"
        ) from None
    values = table.to_numpy(dtype=np.float32)
    if values.shape[1] <= labels_per_row:
        raise client_error(
            f"{path} has {values.shape[1]} column(s) but label_size={labels_per_row}, "
            "leaving no feature columns",
            cause="ValueError",
        )
    _check_finite(path, values, "line", "column")
    labels = values[:, 0].copy() if labels_per_row == 1 else values[:, :labels_per_row].copy()
    features = np.ascontiguousarray(values[:, labels_per_row:])
    return ChannelData(features, labels if labels_per_row else None)


def _recordio_chunks(path: Path, chunk_rows: int) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    batches = recordio_file_batches(path, chunk_rows)
    first_row = 0
    while True:
        try:
            features, labels = next(batches)
        except StopIteration:
            return
        except Exception as error:
            raise _unreadable_recordio(path, error) from None
        features = features.astype(np.float32, copy=False)
        features = features if features.ndim == 2 else features.reshape(len(features), -1)
        _check_finite(path, features, "record", "feature", first_row)
        first_row += len(features)
        yield features, None if labels is None else np.asarray(labels, dtype=np.float64)


def recordio_file_batches(path: Path, batch_rows: int) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """The codec's batches of a recordIO file; a named pipe (a Pipe-mode pass) is
    read front to back, as it cannot be mapped."""
    from include.recordio import iter_dense, iter_stream  # here: CSV-only jobs do not need the codec

    if not path.is_fifo():
        yield from iter_dense(path, batch_rows)
        return
    with path.open("rb", buffering=1 << 20) as stream:
        yield from iter_stream(stream, batch_rows)


def _unreadable_recordio(path: Path, error: Exception) -> JobFailure:
    return client_error(
        f"Unable to read {path} as recordIO-protobuf (ContentType application/x-recordio-protobuf): {error}",
        cause=type(error).__name__,
    )


def _csv_chunks(
    path: Path, labels_per_row: int, chunk_rows: int
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    try:
        reader = pd.read_csv(
            path, header=None, dtype=np.float32, engine="c", skip_blank_lines=True, chunksize=chunk_rows
        )
    except pd.errors.EmptyDataError:
        return  # only blank lines
    first_row = 0
    with reader:
        while True:
            try:
                table = next(reader)
            except StopIteration:
                return
            except (ValueError, pd.errors.ParserError) as error:
                raise client_error(
                    f"Unable to read {path} as CSV: {_locate_bad_csv_value(path, error)}", "ValueError"
                ) from None
            values = table.to_numpy(dtype=np.float32)
            if values.shape[1] <= labels_per_row:
                raise client_error(
                    f"{path} has {values.shape[1]} column(s) but label_size={labels_per_row}, "
                    "leaving no feature columns",
                    cause="ValueError",
                )
            _check_finite(path, values, "line", "column", first_row)
            first_row += len(values)
            labels = None
            if labels_per_row:
                labels = values[:, 0] if labels_per_row == 1 else values[:, :labels_per_row]
                labels = labels.astype(np.float64)
            yield np.ascontiguousarray(values[:, labels_per_row:]), labels


def _locate_bad_csv_value(path: Path, error: Exception) -> str:
    """pandas names the bad value but not where it is; find the first line and column that is not a number
    (a pipe cannot be read again: its error is pandas')."""
    if path.is_fifo():
        return str(error)
    with path.open("r", errors="replace") as stream:
        for line_number, line in enumerate(stream, start=1):
            for column, cell in enumerate(line.rstrip("\r\n").split(","), start=1):
                try:
                    float(cell)
                except ValueError:
                    if line.strip():
                        return f"line {line_number} column {column} is {cell[:40]!r}, not a number"
    return str(error)


def _check_finite(
    path: Path, values: np.ndarray, row_name: str, column_name: str, first_row: int = 0
) -> None:
    """Fail on the first NaN or infinity (scikit-learn would, with no word of where it is); ``values`` are
    the file's rows from ``first_row`` on."""
    if not np.isfinite(values).all():
        row, column = (int(i) for i in np.argwhere(~np.isfinite(values))[0])
        raise client_error(
            f"{path} {row_name} {first_row + row + 1} {column_name} {column + 1} "
            f"is {float(values[row, column])!r} "
            "(empty, NaN or infinite); every value must be a finite number",
            cause="ValueError",
        )
