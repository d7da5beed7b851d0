"""Protobuf base-128 varints for whole numpy arrays at once."""

from __future__ import annotations

import numpy as np

MAX_VARINT_BYTES = 10


def varint_size(values: np.ndarray) -> np.ndarray:
    """The encoded length in bytes of each unsigned 64-bit value (1 to 10)."""
    values = np.asarray(values, dtype=np.uint64)
    size = np.ones(values.shape, dtype=np.int64)
    for group in range(1, MAX_VARINT_BYTES):
        size += values >= np.uint64(1 << (7 * group))
    return size


def varint_int(value: int) -> bytes:
    """One value's varint, for constant headers."""
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def encode_varints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Varints of a 1-D uint64 array, left-aligned in the rows of a byte matrix.

    Returns ``(data, size)``: ``data[i, :size[i]]`` is the varint of ``values[i]``; the matrix is only as wide
    as the longest varint. Negative int32 values must be passed sign-extended to 64 bits (protobuf's rule).
    """
    values = np.asarray(values, dtype=np.uint64)
    size = varint_size(values)
    width = int(size.max()) if size.size else 1
    data = np.empty((values.shape[0], width), dtype=np.uint8)
    for group in range(width):
        seven_bits = (values >> np.uint64(7 * group)) & np.uint64(0x7F)
        more_follow = (size > group + 1).astype(np.uint64) << np.uint64(7)
        data[:, group] = seven_bits | more_follow
    return data, size
