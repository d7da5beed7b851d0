"""dmlc/MXNet recordIO framing: ``magic | lrecord | payload | zero padding to 4 bytes``.

Facts: ``reference/sagemaker_formats.md`` §1.1. The SDK's writer never splits records, so neither does
ours; the reader also accepts dmlc's multi-part records (continuation flags 1-3) and re-joins them.
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from include.recordio.errors import RecordIOError

MAGIC = 0xCED7230A
MAGIC_BYTES = struct.pack("<I", MAGIC)
HEADER = struct.Struct("<II")
LENGTH_BITS = 29
LENGTH_MASK = (1 << LENGTH_BITS) - 1
COMPLETE, FIRST_PART, MIDDLE_PART, LAST_PART = 0, 1, 2, 3


def padding(length: int) -> int:
    """Zero bytes that follow a payload of ``length`` bytes."""
    return -length % 4


def frame(payload: bytes) -> bytes:
    """One complete record, exactly as the SDK's ``_write_recordio`` writes it."""
    return HEADER.pack(MAGIC, len(payload)) + payload + b"\0" * padding(len(payload))


@contextlib.contextmanager
def open_binary(file: BinaryIO | str | os.PathLike, mode: str) -> Iterator[BinaryIO]:
    """Use ``file`` as is if it is a file object, else open the path (and close it afterwards)."""
    if isinstance(file, str | os.PathLike):
        with open(file, mode) as opened:
            yield opened
    else:
        yield file


def iter_payloads(data: bytes | memoryview) -> Iterator[tuple[int, bytes | memoryview]]:
    """Each record's ``(byte offset of its header, payload)`` in a whole recordIO stream.

    Raises :class:`RecordIOError` naming the byte offset for a wrong magic, a header cut short, a length
    past the end of the data, or broken multi-part continuation flags.
    """
    view = memoryview(data)
    end = len(view)
    offset = 0
    parts: list[memoryview] = []
    first_part_offset = 0
    while offset < end:
        if end - offset < HEADER.size:
            raise RecordIOError(
                f"truncated record header at byte offset {offset}: {end - offset} byte(s) left, "
                f"a header needs {HEADER.size}"
            )
        magic, lrecord = HEADER.unpack_from(view, offset)
        if magic != MAGIC:
            raise RecordIOError(
                f"wrong magic 0x{magic:08x} at byte offset {offset} (expected 0x{MAGIC:08x}): "
                "not recordIO data, or the stream is corrupt"
            )
        flag, length = lrecord >> LENGTH_BITS, lrecord & LENGTH_MASK
        start = offset + HEADER.size
        if start + length > end:
            raise RecordIOError(
                f"record at byte offset {offset} declares {length} bytes of payload but only "
                f"{end - start} remain: length past end of file (truncated record)"
            )
        payload = view[start : start + length]
        if flag == COMPLETE and not parts:
            yield offset, payload
        elif flag == FIRST_PART and not parts:
            parts, first_part_offset = [payload], offset
        elif flag in (MIDDLE_PART, LAST_PART) and parts:
            parts.append(payload)
            if flag == LAST_PART:
                # dmlc's writer drops each magic it finds inside a payload and starts a new part there.
                yield first_part_offset, MAGIC_BYTES.join(bytes(part) for part in parts)
                parts = []
        else:
            raise RecordIOError(
                f"record at byte offset {offset} has continuation flag {flag} "
                f"{'inside' if parts else 'outside'} a multi-part record"
            )
        offset = start + length + padding(length)
    if parts:
        raise RecordIOError(
            f"multi-part record starting at byte offset {first_part_offset} has no last part: truncated"
        )
