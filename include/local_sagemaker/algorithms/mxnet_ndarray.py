"""MXNet's NDArray file format (``mx.nd.save`` / ``mx.nd.load``) in plain numpy.

SageMaker's k-means and PCA store their model as ``model_algo-1`` in this format: k-means an unnamed
list holding the centroids, PCA a dict ``{"mean", "s", "v"}``. Writing it byte for byte the way MXNet
does lets models trained here be read by ``mx.nd.load`` and models trained on SageMaker be served here.

Layout (little-endian)::

    u64 0x112, u64 0, u64 N, N x array, u64 K, K x (u64 length, utf-8 name)
    array: u32 0xF993FAC9, i32 storage type 0 (dense), i32 ndim, i64 dims[ndim],
           i32 device type 1 (cpu), i32 device id 0, i32 type flag, raw C-order data
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

LIST_MAGIC = 0x112
ARRAY_MAGIC_V1 = 0xF993FAC8  # no storage type field
ARRAY_MAGIC_V2 = 0xF993FAC9  # what MXNet 1.x writes
ARRAY_MAGIC_V3 = 0xF993FACA  # numpy-shape semantics; same layout as V2
_DENSE = 0
_CPU = 1

# MXNet type flag <-> numpy dtype (mshadow's TypeFlag)
_TYPE_FLAGS = {
    0: np.dtype("<f4"),
    1: np.dtype("<f8"),
    2: np.dtype("<f2"),
    3: np.dtype("u1"),
    4: np.dtype("<i4"),
    5: np.dtype("i1"),
    6: np.dtype("<i8"),
}


class NDArrayFormatError(ValueError):
    """The bytes are not an MXNet NDArray file (or use a feature this reader does not support)."""


def dumps(arrays: Sequence[np.ndarray] | Mapping[str, np.ndarray]) -> bytes:
    """Serialise a list (unnamed) or a dict (named) of dense arrays the way ``mx.nd.save`` does."""
    if isinstance(arrays, Mapping):
        names = [str(name) for name in arrays]
        values = list(arrays.values())
    else:
        names = []
        values = list(arrays)
    parts = [struct.pack("<QQQ", LIST_MAGIC, 0, len(values))]
    for index, value in enumerate(values):
        parts.append(_dump_array(np.asarray(value), names[index] if names else f"#{index}"))
    parts.append(struct.pack("<Q", len(names)))
    for name in names:
        encoded = name.encode("utf-8")
        parts.append(struct.pack("<Q", len(encoded)) + encoded)
    return b"".join(parts)


def save(path: Path | str, arrays: Sequence[np.ndarray] | Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` in MXNet's NDArray file format."""
    Path(path).write_bytes(dumps(arrays))


def loads(data: bytes) -> list[np.ndarray] | dict[str, np.ndarray]:
    """Parse an NDArray file: a list when it holds no names (as ``mx.nd.load``), else a dict."""
    reader = _Reader(data)
    magic, _reserved, count = reader.unpack("<QQQ", "file header")
    if magic != LIST_MAGIC:
        raise NDArrayFormatError(
            f"not an MXNet NDArray file: header magic {magic:#x}, expected {LIST_MAGIC:#x}"
        )
    arrays = [_load_array(reader, index) for index in range(count)]
    (name_count,) = reader.unpack("<Q", "name count")
    if name_count not in (0, count):
        raise NDArrayFormatError(f"file holds {count} arrays but {name_count} names")
    names = []
    for index in range(name_count):
        (length,) = reader.unpack("<Q", f"length of name {index}")
        names.append(reader.take(length, f"name {index}").decode("utf-8"))
    if reader.offset != len(data):
        raise NDArrayFormatError(
            f"{len(data) - reader.offset} unexpected trailing bytes at offset {reader.offset}"
        )
    return dict(zip(names, arrays, strict=True)) if names else arrays


def load(path: Path | str) -> list[np.ndarray] | dict[str, np.ndarray]:
    """Read an NDArray file written by ``mx.nd.save`` or :func:`save`."""
    path = Path(path)
    try:
        return loads(path.read_bytes())
    except NDArrayFormatError as error:
        raise NDArrayFormatError(f"{path}: {error}") from None


def _dump_array(array: np.ndarray, label: str) -> bytes:
    # Byte order is not part of the type: data is always written little-endian.
    flag = next(
        (
            f
            for f, d in _TYPE_FLAGS.items()
            if (d.kind, d.itemsize) == (array.dtype.kind, array.dtype.itemsize)
        ),
        None,
    )
    if flag is None:
        supported = ", ".join(str(d) for d in _TYPE_FLAGS.values())
        raise NDArrayFormatError(
            f"array {label} has dtype {array.dtype}, which MXNet cannot store ({supported})"
        )
    if array.ndim == 0:
        # MXNet has no 0-d arrays in this format (ndim 0 means "none"); store a scalar as shape (1,).
        array = array.reshape(1)
    header = struct.pack("<IiI", ARRAY_MAGIC_V2, _DENSE, array.ndim)
    header += struct.pack(f"<{array.ndim}q", *array.shape)
    header += struct.pack("<iii", _CPU, 0, flag)
    return header + np.ascontiguousarray(array, dtype=_TYPE_FLAGS[flag]).tobytes()


def _load_array(reader: _Reader, index: int) -> np.ndarray:
    start = reader.offset
    (magic,) = reader.unpack("<I", f"array {index} magic")
    if magic in (ARRAY_MAGIC_V2, ARRAY_MAGIC_V3):
        (storage,) = reader.unpack("<i", f"array {index} storage type")
        if storage != _DENSE:
            raise NDArrayFormatError(f"array {index} at offset {start} is sparse (storage type {storage})")
        (ndim,) = reader.unpack("<i", f"array {index} ndim")
        shape = reader.unpack(f"<{ndim}q", f"array {index} shape") if ndim > 0 else ()
    elif magic == ARRAY_MAGIC_V1:
        (ndim,) = reader.unpack("<i", f"array {index} ndim")
        shape = reader.unpack(f"<{ndim}q", f"array {index} shape") if ndim > 0 else ()
    else:
        # Legacy files (before MXNet 0.9) start each array with its u32 ndim and u32 dims.
        ndim = magic
        if ndim > 32:
            raise NDArrayFormatError(f"array {index} at offset {start}: unknown array magic {magic:#x}")
        shape = reader.unpack(f"<{ndim}I", f"array {index} shape") if ndim > 0 else ()
    if ndim <= 0:
        return np.zeros((0,), dtype=np.float32)  # a "none" array carries no context and no data
    _dev_type, _dev_id, flag = reader.unpack("<iii", f"array {index} context and type")
    dtype = _TYPE_FLAGS.get(flag)
    if dtype is None:
        raise NDArrayFormatError(f"array {index} at offset {start} has unknown type flag {flag}")
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    data = reader.take(size, f"array {index} data")
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="), copy=True)


class _Reader:
    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.offset = 0

    def take(self, size: int, what: str) -> bytes:
        if size < 0 or self.offset + size > len(self.data):
            raise NDArrayFormatError(
                f"truncated file: {what} needs {size} bytes at offset {self.offset}, "
                f"only {len(self.data) - self.offset} left"
            )
        chunk = bytes(self.data[self.offset : self.offset + size])
        self.offset += size
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))
