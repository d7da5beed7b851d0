"""The IDX file format of the MNIST files: parsing with every header field checked.

Layout: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, one big-endian
uint32 per dimension, then the data in C order. Files may be gzip-compressed.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from include.mnist.errors import DataFormatError

_GZIP_MAGIC = b"\x1f\x8b"
_UBYTE = 0x08
_TYPE_NAMES = {0x08: "ubyte", 0x09: "byte", 0x0B: "short", 0x0C: "int", 0x0D: "float", 0x0E: "double"}
IMAGE_SHAPE = (28, 28)


def read_idx_bytes(path: Path) -> bytes:
    """The raw IDX bytes of ``path``, decompressing it when it starts with the gzip magic."""
    data = path.read_bytes()
    if not data.startswith(_GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except EOFError as exc:
        raise DataFormatError(
            f"{path}: truncated gzip ({len(data)} compressed bytes end before the end-of-stream marker)"
        ) from exc
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise DataFormatError(f"{path}: corrupt gzip data ({exc})") from exc


def parse_idx(data: bytes, *, name: str, ndim: int) -> np.ndarray:
    """Parse IDX bytes holding an unsigned-byte array of ``ndim`` dimensions.

    Args:
        data: the uncompressed IDX bytes.
        name: the file's name or path, used in errors.
        ndim: 3 for images, 1 for labels.

    Raises:
        DataFormatError: wrong magic number, element type or rank, or a size that disagrees with the header.
    """
    if len(data) < 4:
        raise DataFormatError(f"{name}: {len(data)} bytes is too short for an IDX header")
    zero0, zero1, type_code, rank = data[:4]
    magic = int.from_bytes(data[:4], "big")
    expected_magic = (_UBYTE << 8) | ndim
    if zero0 or zero1:
        raise DataFormatError(
            f"{name}: magic number 0x{magic:08x} is not IDX (expected 0x{expected_magic:08x}: "
            "two zero bytes, type 0x08, rank)"
        )
    if type_code != _UBYTE:
        kind = _TYPE_NAMES.get(type_code, "unknown")
        raise DataFormatError(
            f"{name}: magic number 0x{magic:08x} declares element type 0x{type_code:02x} ({kind}); "
            f"MNIST files hold unsigned bytes (expected 0x{expected_magic:08x})"
        )
    if rank != ndim:
        raise DataFormatError(
            f"{name}: magic number 0x{magic:08x} declares {rank} dimensions, expected {ndim} "
            f"(0x{expected_magic:08x})"
        )
    header_len = 4 + 4 * rank
    if len(data) < header_len:
        raise DataFormatError(f"{name}: header needs {header_len} bytes, the file has {len(data)}")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank))
    expected_len = header_len + int(np.prod(shape, dtype=np.int64))
    if len(data) != expected_len:
        raise DataFormatError(
            f"{name}: header declares shape {shape} ({expected_len} bytes in all) but the data is "
            f"{len(data)} bytes ({'truncated at' if len(data) < expected_len else 'extra bytes from'} "
            f"byte offset {min(len(data), expected_len)})"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(shape)


def read_images(path: Path) -> np.ndarray:
    """A ``(n, 784)`` uint8 array from an IDX image file of 28×28 images."""
    images = parse_idx(read_idx_bytes(path), name=str(path), ndim=3)
    if images.shape[1:] != IMAGE_SHAPE:
        raise DataFormatError(f"{path}: images are {images.shape[1:]}, expected {IMAGE_SHAPE}")
    return images.reshape(len(images), -1)


def read_labels(path: Path) -> np.ndarray:
    """An ``(n,)`` int64 array of digit labels 0–9 from an IDX label file."""
    labels = parse_idx(read_idx_bytes(path), name=str(path), ndim=1)
    if labels.size and labels.max() > 9:
        position = int(np.argmax(labels > 9))
        raise DataFormatError(f"{path}: label {labels[position]} at index {position} is not a digit 0-9")
    return labels.astype(np.int64)


def encode_idx(array: np.ndarray) -> bytes:
    """IDX bytes of a uint8 array (the inverse of :func:`parse_idx`), for fixtures and exports."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, _UBYTE, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()
