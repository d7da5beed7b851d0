"""Build many variable-length byte records at once from column blocks ("segments").

A record is the concatenation of segments. Each segment is a byte matrix with one row per record plus,
where its length varies by record, a mask of the bytes that belong to each row. Laying the segments side by
side and keeping only the masked bytes (in row-major order) concatenates them row by row with no Python
loop per record. When no segment varies, every record has the same length and no mask is needed at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from include.recordio.varint import encode_varints, varint_int


@dataclass(frozen=True)
class Segment:
    """``data`` is ``(rows, width)`` or ``(1, width)`` (the same bytes for every row); ``mask`` is None when
    every row uses all ``width`` bytes."""

    data: np.ndarray
    mask: np.ndarray | None = None

    @property
    def width(self) -> int:
        return self.data.shape[1]


def constant(raw: bytes) -> Segment:
    return Segment(np.frombuffer(raw, dtype=np.uint8).reshape(1, -1))


def varints(values: np.ndarray) -> Segment:
    """The varint of each row's value (lengths, here, which are never negative)."""
    values = np.asarray(values, dtype=np.int64)
    if values.size and (values == values[0]).all():
        return constant(varint_int(int(values[0])))
    data, size = encode_varints(values.view(np.uint64))
    return Segment(data, np.arange(data.shape[1]) < size[:, None])


def zero_padding(lengths: np.ndarray) -> Segment:
    """The 0-3 zero bytes that align each record of ``lengths`` payload bytes to 4 bytes."""
    pad = -np.asarray(lengths, dtype=np.int64) % 4
    if pad.size and (pad == pad[0]).all():
        return constant(b"\0" * int(pad[0]))
    return Segment(np.zeros((1, 3), dtype=np.uint8), np.arange(3) < pad[:, None])


def assemble(segments: list[Segment], rows: int) -> np.ndarray:
    """All records, concatenated, as one flat uint8 array."""
    total = sum(segment.width for segment in segments)
    out = np.empty((rows, total), dtype=np.uint8)
    keep = None
    column = 0
    for segment in segments:
        end = column + segment.width
        out[:, column:end] = segment.data
        if segment.mask is not None:
            if keep is None:
                keep = np.ones((rows, total), dtype=bool)
            keep[:, column:end] = segment.mask
        column = end
    return out.reshape(-1) if keep is None else out[keep]
