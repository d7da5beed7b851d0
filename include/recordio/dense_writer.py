"""``write_numpy_to_dense_tensor``: the SDK's dense writer, byte for byte, without a Python loop per row.

Every row of a dense matrix is a ``Record`` whose ``features["values"]`` holds the row (and, with labels,
``label["values"]`` holds one scalar). For fixed-width floats every record has the same prefix, so a chunk of
rows is encoded by laying the prefix, the raw row bytes and the label bytes side by side in one byte matrix.
Int64 input (an Int32Tensor of varints) takes the masked, variable-length path of :mod:`rows`.
Wire layout: ``reference/sagemaker_formats.md`` §1.2-1.4.
"""

from __future__ import annotations

import os
from typing import BinaryIO

import numpy as np

from include.recordio import rows
from include.recordio.framing import MAGIC_BYTES, open_binary
from include.recordio.tensor_types import FLOAT32, TensorKind, resolve_tensor_kind
from include.recordio.varint import encode_varints, varint_size

FEATURES_TAG = 0x0A  # Record.features, field 1
LABEL_TAG = 0x12  # Record.label, field 2
_VALUES_KEY = b"\x0a\x06values"  # map entry key field: "values"
_ENTRY_VALUE_TAG = b"\x12"  # map entry value field
_PACKED_VALUES_TAG = b"\x0a"  # Tensor.values, packed
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1

# Output bytes per chunk: large enough that numpy's per-call overhead vanishes, small enough to stay in cache
# and keep memory bounded whatever the size of the input.
DEFAULT_CHUNK_BYTES = 4 << 20


def write_numpy_to_dense_tensor(
    file: BinaryIO | str | os.PathLike,
    array: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> None:
    """Write a 2-D numpy array (and optional 1-D labels) as recordIO-wrapped protobuf ``Record``\\ s.

    A drop-in replacement for ``sagemaker.amazon.common.write_numpy_to_dense_tensor``: same arguments, same
    dtype rules (float32 → Float32Tensor, float64 → Float64Tensor, int64 → Int32Tensor, anything else is a
    ``ValueError``), same error messages and byte-identical output, including NaN, ±inf and -0.0.
    ``file`` is a binary file object (or a path). Rows are encoded ``chunk_bytes`` of output at a time.
    Unlike the SDK, input it is going to refuse (an int64 value outside int32, fewer labels than rows) is
    refused before anything is written.
    """
    array = np.asarray(array)
    if array.ndim != 2:
        raise ValueError("Array must be a Matrix")
    label_kind = None
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim != 1:
            raise ValueError("Labels must be a Vector")
        if labels.shape[0] not in array.shape:
            raise ValueError(f"Label shape {labels.shape} not compatible with array shape {array.shape}")
        label_kind = resolve_tensor_kind(labels.dtype)
    feature_kind = resolve_tensor_kind(array.dtype)

    n_rows, n_features = array.shape
    if labels is not None:
        # The SDK indexes labels[row] for every row; labels matching the column count instead of the row count
        # pass its shape check and are used from the start.
        if labels.shape[0] < n_rows:
            raise IndexError(
                f"index {labels.shape[0]} is out of bounds for axis 0 with size {labels.shape[0]}"
            )
        labels = labels[:n_rows]
        _check_int32_range(labels, label_kind)
    _check_int32_range(array, feature_kind)

    bytes_per_row = 64 + n_features * (feature_kind.wire_dtype.itemsize if feature_kind.fixed_width else 10)
    chunk_rows = max(1, chunk_bytes // bytes_per_row)
    with open_binary(file, "wb") as out:
        for start in range(0, n_rows, chunk_rows):
            stop = min(start + chunk_rows, n_rows)
            chunk_labels = None if labels is None else labels[start:stop]
            out.write(encode_dense_records(array[start:stop], chunk_labels, feature_kind, label_kind))


def encode_dense_records(
    features: np.ndarray,
    labels: np.ndarray | None,
    feature_kind: TensorKind,
    label_kind: TensorKind | None,
) -> np.ndarray:
    """The framed records of a block of rows, as one flat uint8 array (inputs already validated)."""
    n_rows = features.shape[0]
    segments, payload = _tensor_field(FEATURES_TAG, feature_kind, features)
    if labels is not None:
        label_segments, label_length = _tensor_field(LABEL_TAG, label_kind, labels.reshape(-1, 1))
        segments += label_segments
        payload = payload + label_length
    framed = [
        rows.constant(MAGIC_BYTES),
        rows.Segment(payload.astype("<u4").view(np.uint8).reshape(n_rows, 4)),
        *segments,
        rows.zero_padding(payload),
    ]
    return rows.assemble(framed, n_rows)


def _tensor_field(tag: int, kind: TensorKind, values: np.ndarray) -> tuple[list[rows.Segment], np.ndarray]:
    """Segments of ``<field tag> {"values": Value{<kind>: {values: row}}}`` per row, and their lengths."""
    n_rows, n_values = values.shape
    if kind.fixed_width:
        packed = _fixed_width_bytes(values, kind)
        packed_length = np.full(n_rows, packed.width, dtype=np.int64)
    else:
        packed, packed_length = _varint_bytes(values)
    if n_values:
        tensor = [rows.constant(_PACKED_VALUES_TAG), rows.varints(packed_length), packed]
        tensor_length = 1 + varint_size(packed_length) + packed_length
    else:
        # An empty repeated field is not written at all: the tensor message is empty.
        tensor, tensor_length = [], np.zeros(n_rows, dtype=np.int64)
    value_length = 1 + varint_size(tensor_length) + tensor_length
    entry_length = len(_VALUES_KEY) + 1 + varint_size(value_length) + value_length
    field_length = 1 + varint_size(entry_length) + entry_length
    segments = [
        rows.constant(bytes([tag])),
        rows.varints(entry_length),
        rows.constant(_VALUES_KEY + _ENTRY_VALUE_TAG),
        rows.varints(value_length),
        rows.constant(bytes([kind.tag])),
        rows.varints(tensor_length),
        *tensor,
    ]
    return segments, field_length


def _fixed_width_bytes(values: np.ndarray, kind: TensorKind) -> rows.Segment:
    values = np.ascontiguousarray(values, dtype=kind.wire_dtype)
    if kind is FLOAT32:
        values = _quiet_signalling_nans(values)
    return rows.Segment(values.view(np.uint8).reshape(values.shape[0], -1))


def _quiet_signalling_nans(values: np.ndarray) -> np.ndarray:
    """Set the quiet bit of float32 signalling NaNs, as the SDK's float32 → double → float32 trip does."""
    if not np.isnan(values).any():
        return values
    bits = values.view(np.uint32)
    signalling = ((bits & 0x7FC00000) == 0x7F800000) & ((bits & 0x003FFFFF) != 0)
    if not signalling.any():
        return values
    return np.where(signalling, bits | 0x00400000, bits).astype(np.uint32).view(np.float32)


def _varint_bytes(values: np.ndarray) -> tuple[rows.Segment, np.ndarray]:
    """Packed int32 varints of each row (negative values sign-extended to 10 bytes, as protobuf does)."""
    n_rows, n_values = values.shape
    flat = np.ascontiguousarray(values, dtype=np.int64).reshape(-1).view(np.uint64)
    data, size = encode_varints(flat)
    width = data.shape[1]
    keep = (np.arange(width) < size[:, None]).reshape(n_rows, n_values * width)
    packed = rows.Segment(data.reshape(n_rows, n_values * width), keep)
    return packed, size.reshape(n_rows, n_values).sum(axis=1)


def _check_int32_range(values: np.ndarray, kind: TensorKind | None) -> None:
    if kind is None or kind.fixed_width or values.size == 0:
        return
    outside = (values < _INT32_MIN) | (values > _INT32_MAX)
    if outside.any():
        first = values.reshape(-1)[np.argmax(outside.reshape(-1))]
        raise ValueError(f"Value out of range: {int(first)}")
