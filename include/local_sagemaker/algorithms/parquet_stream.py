"""Parquet objects read one after another from a stream, as a Pipe-mode channel carries them.

A Pipe-mode pass is the host's objects of the channel concatenated (``RecordWrapperType`` None), so a pass
of Parquet objects is Parquet files back to back with nothing between them. A Parquet file
(https://github.com/apache/parquet-format, "File format") starts with the magic ``PAR1`` and ends with
its Thrift-encoded ``FileMetaData``, the metadata's length (4 bytes, little-endian) and ``PAR1`` again;
it can only be read once its footer is there.

SageMaker's XGBoost container reads such a pipe with mlio's ``ParquetRecordReader``
(github.com/aws/sagemaker-xgboost-container, ``data_utils._get_parquet_dmatrix_pipe_mode`` in the 0.90-1
to 3.0-5 images), which finds where each file ends by scanning for a ``PAR1`` whose preceding length
points back to what looks like a ``FileMetaData``: the length at least 9 bytes and inside the file, the
byte before the length a Thrift stop field (0), the metadata's first byte a field header of
``FileMetaData`` (github.com/awslabs/ml-io, ``src/mlio/record_readers/parquet_record_reader.cc``,
``decode_record`` and ``is_footer``). :func:`parquet_objects` splits the stream with the same test.

Each object is spilled to an unnamed temporary file in a directory the caller names (the job's own), a
chunk at a time, so memory holds one chunk whatever the object's size; the file is handed to the reader
once the object's footer has arrived, then emptied for the next object.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["MAGIC", "parquet_objects"]

MAGIC = b"PAR1"
CHUNK_BYTES = 1 << 20
_LENGTH = struct.Struct("<I")
# The smallest FileMetaData: its four required fields with 1-byte headers and values, and the stop field.
_MIN_METADATA_BYTES = 9
# Thrift compact field headers that can begin a FileMetaData (mlio's is_file_metadata_begin): version,
# schema, num_rows, row_groups, key_value_metadata, created_by, column_orders.
_METADATA_STARTS = frozenset(b"\x15\x29\x36\x49\x59\x68\x79")


def parquet_objects(stream: BinaryIO, spill_dir: Path) -> Iterator[BinaryIO]:
    """The Parquet objects concatenated in ``stream``, each as a readable file positioned at its start,
    valid until the next object is asked for.

    Raises ``ValueError`` (mlio's wording, with the byte offset in the stream) when an object does not begin
    with ``PAR1`` or the stream ends inside an object.
    """
    with tempfile.TemporaryFile(dir=spill_dir) as spill:
        fd = spill.fileno()
        size = 0  # bytes of the current object spilled so far
        scanned = 2 * len(MAGIC)  # where the next footer magic may begin: after the header and a length
        consumed = 0  # bytes of the stream in objects already handed over
        while chunk := stream.read(CHUNK_BYTES):
            os.pwrite(fd, chunk, size)
            size += len(chunk)
            while size >= len(MAGIC):
                if scanned == 2 * len(MAGIC) and os.pread(fd, len(MAGIC), 0) != MAGIC:
                    raise ValueError(
                        f"The record does not start with the Parquet magic number (stream offset {consumed})."
                    )
                end = _footer_end(fd, scanned, size)
                if end is None:
                    scanned = max(scanned, size - len(MAGIC) + 1)
                    break
                rest = os.pread(fd, size - end, end)  # the next object's start: at most a chunk
                os.ftruncate(fd, end)
                spill.seek(0)
                yield spill
                consumed += end
                os.ftruncate(fd, 0)
                os.pwrite(fd, rest, 0)
                size, scanned = len(rest), 2 * len(MAGIC)
        if size:
            raise ValueError(
                f"The record does not have a valid Parquet footer (the stream ends {size} bytes into "
                f"the object at stream offset {consumed})."
            )


def _footer_end(fd: int, start: int, size: int) -> int | None:
    """The end of the first Parquet footer whose magic begins at ``start`` or later in the spilled object."""
    window = os.pread(fd, size - start, start)
    position = window.find(MAGIC)
    while position >= 0:
        magic_at = start + position
        if _is_footer(fd, magic_at):
            return magic_at + len(MAGIC)
        position = window.find(MAGIC, position + 1)
    return None


def _is_footer(fd: int, magic_at: int) -> bool:
    metadata_end = magic_at - _LENGTH.size
    (length,) = _LENGTH.unpack(os.pread(fd, _LENGTH.size, metadata_end))
    if length < _MIN_METADATA_BYTES or len(MAGIC) + length > metadata_end:
        return False
    if os.pread(fd, 1, metadata_end - 1) != b"\0":  # Thrift's stop field ends the metadata
        return False
    return os.pread(fd, 1, metadata_end - length)[0] in _METADATA_STARTS
