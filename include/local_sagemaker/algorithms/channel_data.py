"""Read a training channel's files into numpy, the way the built-in algorithms accept them.

recordIO-protobuf (the default) goes through the project's codec, ``include.recordio.read_dense``;
CSV has no header, its first ``label_size`` columns are labels (``text/csv;label_size=0`` for data
without labels, as SageMaker's docs tell unsupervised users). Bad or empty data fails the job with a
``ClientError`` naming the channel, the file and what was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from include.local_sagemaker.algorithms import content_types
from include.local_sagemaker.algorithms.base import Channel, TrainingFailure
from include.local_sagemaker.algorithms.hyperparameters import client_error

DEFAULT_CSV_LABEL_SIZE = 1


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

    ``feature_dim``, when given, is checked against every file. Raises :class:`TrainingFailure`.
    """
    media_type, parameters = content_types.parse(channel.content_type or default_content_type)
    if media_type not in supported:
        accepted = ", ".join(supported)
        raise client_error(
            f"No iterator has been registered for ContentType ('{channel.content_type}', '1.0') "
            f"of channel '{channel.name}'; this algorithm reads: {accepted}",
            cause="KeyError",
        )
    files = channel.files() if channel.path.is_dir() else []
    if not files:
        raise client_error(
            f"No data in channel '{channel.name}': {channel.path} holds no files", cause="ValueError"
        )
    if media_type == content_types.CSV:
        try:
            labels_per_row = content_types.label_size(parameters, DEFAULT_CSV_LABEL_SIZE)
        except ValueError as error:
            raise client_error(
                f"ContentType '{channel.content_type}' of channel '{channel.name}': {error}",
                cause="ValueError",
            ) from None
        parts = [_read_csv_file(path, labels_per_row) for path in files]
    else:
        parts = [_read_recordio_file(path) for path in files]
    parts = [(path, part) for path, part in zip(files, parts, strict=True) if part.rows]
    if not parts:
        raise client_error(
            f"No data in channel '{channel.name}': "
            f"its {len(files)} file(s) under {channel.path} hold no records",
            cause="ValueError",
        )
    if feature_dim is not None:
        for path, part in parts:
            if part.features.shape[1] != feature_dim:
                hint = ""
                if media_type == content_types.CSV:
                    hint = (
                        f" (CSV with label_size={labels_per_row}: the first {labels_per_row} column(s) "
                        "are labels; use ContentType 'text/csv;label_size=0' for data without labels)"
                    )
                raise client_error(
                    f"Records in {path} of channel '{channel.name}' have {part.features.shape[1]} features "
                    f"but the 'feature_dim' hyperparameter is {feature_dim}{hint}",
                    cause="ValueError",
                )
    return _concatenate(channel, parts)


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
    except TrainingFailure:
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


def _locate_bad_csv_value(path: Path, error: Exception) -> str:
    """pandas names the bad value but not where it is; find the first line and column that is not a number."""
    with path.open("r", errors="replace") as stream:
        for line_number, line in enumerate(stream, start=1):
            for column, cell in enumerate(line.rstrip("\r\n").split(","), start=1):
                try:
                    float(cell)
                except ValueError:
                    if line.strip():
                        return f"line {line_number} column {column} is {cell[:40]!r}, not a number"
    return str(error)


def _check_finite(path: Path, values: np.ndarray, row_name: str, column_name: str) -> None:
    """Fail on the first NaN or infinity (scikit-learn would, with no word of where it is)."""
    if not np.isfinite(values).all():
        row, column = (int(i) for i in np.argwhere(~np.isfinite(values))[0])
        raise client_error(
            f"{path} {row_name} {row + 1} {column_name} {column + 1} is {float(values[row, column])!r} "
            "(empty, NaN or infinite); every value must be a finite number",
            cause="ValueError",
        )
