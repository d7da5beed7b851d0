"""A deliberately simple, one-row-at-a-time recordIO-protobuf encoder written from the wire format.

It shares no code with ``include.recordio`` and does not use the protobuf library, so agreement between the
two is evidence that both follow the format (``reference/sagemaker_formats.md`` §1). Float32 values take the
SDK's path through a Python float, which is where a signalling NaN gets its quiet bit.
"""

from __future__ import annotations

import struct

import numpy as np

_TENSOR_FIELD = {"float32": 2, "float64": 3, "int64": 7}  # Value oneof member per numpy dtype (SDK rules)


def varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def length_delimited(field_number: int, body: bytes) -> bytes:
    return varint(field_number << 3 | 2) + varint(len(body)) + body


def packed_values(dtype: str, values) -> bytes:
    if dtype == "float32":
        return b"".join(np.array([float(v)], dtype="<f4").tobytes() for v in values)
    if dtype == "float64":
        return b"".join(struct.pack("<d", float(v)) for v in values)
    return b"".join(varint(int(v)) for v in values)


def value_message(dtype: str, values, keys=(), shape=()) -> bytes:
    tensor = b""
    if len(values):
        tensor += length_delimited(1, packed_values(dtype, values))
    if len(keys):
        tensor += length_delimited(2, b"".join(varint(int(k)) for k in keys))
    if len(shape):
        tensor += length_delimited(3, b"".join(varint(int(s)) for s in shape))
    return length_delimited(_TENSOR_FIELD[dtype], tensor)


def values_map(field_number: int, value: bytes) -> bytes:
    entry = length_delimited(1, b"values") + length_delimited(2, value)
    return length_delimited(field_number, entry)


def frame(payload: bytes) -> bytes:
    return struct.pack("<II", 0xCED7230A, len(payload)) + payload + b"\0" * (-len(payload) % 4)


def dense(array: np.ndarray, labels: np.ndarray | None = None) -> bytes:
    out = b""
    for index, row in enumerate(array):
        payload = values_map(1, value_message(array.dtype.name, row))
        if labels is not None:
            payload += values_map(2, value_message(labels.dtype.name, [labels[index]]))
        out += frame(payload)
    return out


def sparse(dense_array: np.ndarray, labels: np.ndarray | None = None) -> bytes:
    out = b""
    n_cols = dense_array.shape[1]
    for index, row in enumerate(dense_array):
        (keys,) = np.nonzero(row)
        features = values_map(1, value_message(dense_array.dtype.name, row[keys], keys, [n_cols]))
        label = b""
        if labels is not None:
            label = values_map(2, value_message(labels.dtype.name, [labels[index]]))
        out += frame(features + label)
    return out
