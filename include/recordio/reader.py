"""Reading recordIO-protobuf: ``read_records`` (the SDK's API) and ``read_dense`` (straight to numpy).

Files written by ``write_numpy_to_dense_tensor`` hold records that all have the same length and the same
bytes everywhere but in the values. :func:`dense_layout` checks that with a few whole-matrix comparisons
against a template record, after which ``read_dense`` is a zero-copy view of the file's bytes and
``read_records`` returns read-only record views of its rows (:mod:`record_views`) instead of building a
protobuf message per record. Anything else (sparse records, labels of varying width, hand-made streams) is
walked record by record and parsed by protobuf.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from google.protobuf.message import DecodeError
from google.protobuf.unknown_fields import UnknownFieldSet

from include.recordio import schema
from include.recordio.dense_writer import encode_dense_records
from include.recordio.errors import RecordIOError
from include.recordio.framing import (
    COMPLETE,
    HEADER,
    LAST_PART,
    LENGTH_BITS,
    LENGTH_MASK,
    MAGIC,
    iter_payloads,
    open_binary,
    padding,
)
from include.recordio.record_views import dense_record_views
from include.recordio.tensor_types import INT32, KINDS_BY_FIELD, TensorKind

_VALUES = "values"
Readable = BinaryIO | str | os.PathLike | bytes | bytearray | memoryview


def read_records(file: Readable) -> list:
    """All records of a recordIO-protobuf stream, like ``sagemaker.amazon.common.read_records``.

    ``file`` is a binary file object (read to its end), a path, or the bytes themselves. Each record reads
    like the SDK's: ``record.features["values"].float32_tensor.values``, ``record.label["values"]...``.

    When every record is a dense ``features["values"]`` tensor of one type and width with an optional
    scalar ``label["values"]`` (what ``write_numpy_to_dense_tensor`` writes), the whole stream is decoded at
    once and the records are read-only :class:`~include.recordio.record_views.RecordView`\\ s of its rows;
    ``record.to_protobuf()`` gives the ``Record`` message. Like ``read_dense``, a path or a real file read
    from its start is memory-mapped (read-only): do not truncate or rewrite the file while its records are
    in use. Any other stream is parsed by protobuf into ``Record`` messages, all of it.

    Raises :class:`RecordIOError` (a ``ValueError``) naming the byte offset of the first bad record: a wrong
    magic, a truncated record, a length past the end of the file, or a payload that is not a ``Record``.
    """
    data = _read_all(file)
    layout = dense_layout(data)
    if layout is None:
        return [_parse_record(offset, payload) for offset, payload in iter_payloads(data)]
    if not isinstance(data, bytes | mmap.mmap):
        data = bytes(data)  # the views must not share a buffer the caller can still change
    features, labels = _dense_arrays(data, layout)
    return dense_record_views(features, layout.feature_kind, labels, layout.label_kind)


def read_dense(file: Readable) -> tuple[np.ndarray, np.ndarray | None]:
    """Decode dense records to ``(features, labels)``: a 2-D array (rows × features) and a 1-D array or None.

    The dtype follows the tensor type: float32, float64 or int32. For files of same-shaped records (what
    ``write_numpy_to_dense_tensor`` writes) ``features`` is a writable, zero-copy view of the data: of a
    private copy-on-write memory map when ``file`` is a path or a real file read from its start (like
    ``np.memmap``: do not truncate the file while the arrays are in use), else of the bytes read. Rows are
    not adjacent: use ``np.ascontiguousarray`` where C order matters. Sparse records
    are expanded to dense rows of their ``shape``. Raises :class:`RecordIOError` on malformed data, ragged
    rows, or labels on only some records or with more than one value.
    """
    data = _read_all(file, writable=True)
    if not data:
        return np.empty((0, 0), dtype=np.float32), None
    layout = dense_layout(data)
    if layout is None:
        return _read_any(data)
    return _dense_arrays(data, layout)


def iter_dense(path: str | os.PathLike, batch_rows: int) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Decode the file at ``path`` batch by batch: ``(features, labels)`` of at most ``batch_rows`` records.

    Each batch is a C-ordered copy (features as ``read_dense`` types them), so memory is bounded by the batch,
    not the file. The file is memory-mapped read-only; a file of same-shaped dense records (what
    ``write_numpy_to_dense_tensor`` writes) is decoded a slice of records at a time, every slice checked
    like ``read_dense`` checks a whole file, and the pages of slices already decoded are released. Any other
    file is decoded whole by ``read_dense`` and then cut into batches. Raises :class:`RecordIOError`.
    """
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1, not {batch_rows}")
    with open(path, "rb") as opened:
        size = os.fstat(opened.fileno()).st_size
        if size == 0:
            return
        mapped = mmap.mmap(opened.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        stride = _first_record_stride(mapped)
        if stride is None or size % stride:
            yield from _batches_of(*read_dense(path), batch_rows)
            return
        released = 0
        for start in range(0, size, stride * batch_rows):
            batch = _dense_slice(mapped, start, min(start + stride * batch_rows, size), stride)
            if batch is None:  # records of another shape from here on: the general reader takes over
                features, labels = read_dense(path)
                skipped = start // stride
                yield from _batches_of(
                    features[skipped:], None if labels is None else labels[skipped:], batch_rows
                )
                return
            yield batch
            end = (start + stride * batch_rows) // mmap.PAGESIZE * mmap.PAGESIZE
            if end > released:
                mapped.madvise(mmap.MADV_DONTNEED, released, end - released)
                released = end
    finally:
        mapped.close()


def iter_stream(file: BinaryIO, batch_rows: int) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Decode a recordIO stream read front to back, such as a SageMaker Pipe-mode channel (nothing is
    sought or mapped), in batches of at most ``batch_rows`` records, typed and checked as ``iter_dense``'s.

    Memory is bounded by a batch. While the records are dense and of the first record's shape, each batch is
    one read of ``batch_rows`` records' bytes; any other run of records is framed record by record (multi-part
    records kept whole). Raises :class:`RecordIOError` naming the byte offset in the stream.
    """
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1, not {batch_rows}")
    first = _read_exactly(file, HEADER.size, 0, "record header")
    if not first:
        return
    magic, lrecord = HEADER.unpack(first)
    length = lrecord & LENGTH_MASK
    first += _read_exactly(file, length + padding(length), 0, "record") if magic == MAGIC else b""
    layout = dense_layout(first)
    source = _Prefixed(first, file)
    offset = 0
    while layout is not None:
        chunk = source.read(layout.stride * batch_rows)
        if not chunk:
            return
        batch = _dense_slice(chunk, 0, len(chunk), layout.stride) if len(chunk) % layout.stride == 0 else None
        if batch is None:  # records of another shape: framed one by one from here on
            source = _Prefixed(chunk, source)
            break
        yield batch
        offset += len(chunk)
    more = True
    while more:
        framed, more = _frame_records(source, batch_rows, offset)
        if framed:
            features, labels = read_dense(framed)
            yield np.ascontiguousarray(features), None if labels is None else np.array(labels)
            offset += len(framed)


class _Prefixed:
    """``data`` followed by the rest of ``file``, read with ``read(size)``."""

    def __init__(self, data: bytes, file: BinaryIO):
        self.data, self.file = data, file

    def read(self, size: int) -> bytes:
        head, self.data = self.data[:size], self.data[size:]
        return (
            head + _read_exactly(self.file, size - len(head), 0, "", strict=False)
            if len(head) < size
            else head
        )


def _read_exactly(file, size: int, offset: int, what: str, strict: bool = True) -> bytes:
    """``size`` bytes, or none at the end of the stream; a stream ending inside them is truncated (an error
    if ``strict``, else the bytes there are)."""
    data = file.read(size)
    while data and len(data) < size:
        more = file.read(size - len(data))
        if not more:
            break
        data += more
    if strict and data and len(data) < size:
        raise RecordIOError(
            f"truncated {what} at byte offset {offset}: {len(data)} byte(s) left, {size} expected"
        )
    return data


def _frame_records(file, count: int, offset: int) -> tuple[bytes, bool]:
    """The framed bytes of the next ``count`` records of ``file`` (fewer at the stream's end) and whether
    the stream may hold more."""
    framed = bytearray()
    records = 0
    while records < count:
        header = _read_exactly(file, HEADER.size, offset + len(framed), "record header")
        if not header:
            return bytes(framed), False
        magic, lrecord = HEADER.unpack(header)
        if magic != MAGIC:
            raise RecordIOError(
                f"wrong magic 0x{magic:08x} at byte offset {offset + len(framed)} (expected 0x{MAGIC:08x}): "
                "not recordIO data, or the stream is corrupt"
            )
        length = lrecord & LENGTH_MASK
        body = _read_exactly(file, length + padding(length), offset + len(framed), "record")
        if len(body) < length + padding(length):
            raise RecordIOError(f"truncated record at byte offset {offset + len(framed)}")
        framed += header + body
        if lrecord >> LENGTH_BITS in (COMPLETE, LAST_PART):
            records += 1
    return bytes(framed), True


def _dense_slice(
    mapped: mmap.mmap, start: int, stop: int, stride: int
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Copies of the values of the records in ``mapped[start:stop]`` if they all have the layout of
    ``stride``-byte dense records, else None."""
    # A bytes copy of the slice rather than a view of the map: the arrays and protobuf's parse of the first
    # record then hold no pointer into the map, which can be closed however the caller leaves the loop.
    data = mapped[start:stop]
    layout = dense_layout(data)
    if layout is None or layout.stride != stride:
        return None
    features, labels = _dense_arrays(data, layout)
    return np.ascontiguousarray(features), None if labels is None else np.array(labels)


def _first_record_stride(mapped: mmap.mmap) -> int | None:
    """Bytes per framed record if the first record is a dense one ``dense_layout`` recognises, else None."""
    if len(mapped) < HEADER.size:
        return None
    magic, lrecord = HEADER.unpack_from(mapped)
    end = HEADER.size + lrecord + (-lrecord % 4)
    if magic != MAGIC or end > len(mapped):
        return None
    layout = dense_layout(mapped[:end])
    return None if layout is None else layout.stride


def _batches_of(
    features: np.ndarray, labels: np.ndarray | None, batch_rows: int
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    for start in range(0, len(features), batch_rows):
        stop = start + batch_rows
        yield (
            np.ascontiguousarray(features[start:stop]),
            None if labels is None else np.array(labels[start:stop]),
        )


def _dense_arrays(data, layout: DenseLayout) -> tuple[np.ndarray, np.ndarray | None]:
    """Views of the feature and label values of every record of a dense stream (int32 labels: decoded)."""
    matrix = np.frombuffer(data, dtype=np.uint8).reshape(-1, layout.stride)
    features = matrix[:, layout.features].view(layout.feature_kind.wire_dtype)
    if layout.label_kind is None:
        return features, None
    label_bytes = matrix[:, layout.label]
    if layout.label_kind.fixed_width:
        return features, label_bytes.view(layout.label_kind.wire_dtype)[:, 0]
    return features, _decode_varint_columns(label_bytes)


@dataclass(frozen=True)
class DenseLayout:
    """Where the values sit in every record of a stream of identically shaped dense records."""

    stride: int  # bytes per framed record
    payload_size: int
    feature_kind: TensorKind
    features: slice  # byte columns of the feature values within a framed record
    label_kind: TensorKind | None
    label: slice | None


def dense_layout(data: bytes | bytearray | mmap.mmap) -> DenseLayout | None:
    """The layout shared by all records of ``data`` if they are dense and identically shaped, else None.

    Every byte that is not a value (framing, tags, lengths, padding) is compared with a record encoded by our
    own writer, so a match proves every record is a well-formed ``Record`` of that shape.
    """
    if len(data) < HEADER.size:
        return None
    magic, payload_size = HEADER.unpack_from(data)
    if magic != MAGIC or payload_size > len(data) - HEADER.size:  # also rules out multi-part records
        return None
    try:
        first = schema.Record.FromString(memoryview(data)[HEADER.size : HEADER.size + payload_size])
    except DecodeError:
        return None
    features, labels = _tensor_or_none(first.features), _tensor_or_none(first.label)
    if features is None or not features[0].fixed_width or features[1].keys or features[1].shape:
        return None
    if labels is not None and (labels[1].keys or labels[1].shape or len(labels[1].values) != 1):
        return None
    feature_kind, n_features = features[0], len(features[1].values)
    label_kind = None if labels is None else labels[0]
    template_label = None if labels is None else np.array(labels[1].values, dtype=_writer_dtype(label_kind))
    template = encode_dense_records(
        np.zeros((1, n_features), dtype=feature_kind.wire_dtype), template_label, feature_kind, label_kind
    )
    stride = template.size
    if len(data) % stride or int(template[4:8].view("<u4")[0]) != payload_size:
        return None
    feature_end = HEADER.size + _field_length(template, HEADER.size)
    feature_start = feature_end - n_features * feature_kind.wire_dtype.itemsize
    label_end = HEADER.size + payload_size
    label_width = 0 if label_kind is None else _label_value_width(template, label_end, label_kind)
    label_start = label_end - label_width
    matrix = np.frombuffer(data, dtype=np.uint8).reshape(-1, stride)
    for start, stop in ((0, feature_start), (feature_end, label_start), (label_end, stride)):
        if not (matrix[:, start:stop] == template[start:stop]).all():
            return None
    label = None if label_kind is None else slice(label_start, label_end)
    if label_kind is INT32 and _decode_varint_columns(matrix[:, label]) is None:
        return None
    return DenseLayout(
        stride, payload_size, feature_kind, slice(feature_start, feature_end), label_kind, label
    )


def _writer_dtype(kind: TensorKind) -> np.dtype:
    return np.dtype(np.int64) if kind is INT32 else kind.wire_dtype


def _read_all(file: Readable, *, writable: bool = False) -> bytes | bytearray | mmap.mmap:
    if isinstance(file, bytes | bytearray | memoryview):
        return bytearray(file) if writable else file
    with open_binary(file, "rb") as opened:
        mapped = _map_whole_file(opened, mmap.ACCESS_COPY if writable else mmap.ACCESS_READ)
        if mapped is not None:
            return mapped
        if not writable:
            return opened.read()
        try:
            start = opened.tell()
            remaining = opened.seek(0, os.SEEK_END) - start
            opened.seek(start)
        except (AttributeError, OSError):  # not seekable: one extra copy
            return bytearray(opened.read())
        # Read straight into the buffer the arrays will view, instead of reading and then copying.
        data = bytearray(remaining)
        filled = opened.readinto(data)
        return data if filled == remaining else data[:filled]


def _map_whole_file(opened: BinaryIO, access: int) -> mmap.mmap | None:
    """A read-only or private copy-on-write map of a real file read from its start (never written to)."""
    try:
        fileno, start = opened.fileno(), opened.tell()
        size = os.fstat(fileno).st_size
    except (AttributeError, OSError, ValueError):
        return None
    if start != 0 or size == 0:
        return None
    mapped = mmap.mmap(fileno, 0, access=access)
    opened.seek(size)  # consumed, as a read would leave it
    return mapped


def _parse_record(offset: int, payload) -> object:
    try:
        record = schema.Record.FromString(payload)
    except DecodeError as error:
        raise RecordIOError(
            f"record at byte offset {offset} is not a protobuf aialgs.data.Record ({error})"
        ) from None
    if _has_foreign_fields(record):
        raise RecordIOError(
            f"record at byte offset {offset} is not an aialgs.data.Record: it holds fields "
            "(or field types) the Record schema does not define"
        )
    return record


def _has_foreign_fields(record) -> bool:
    if len(UnknownFieldSet(record)):
        return True
    for value_map in (record.features, record.label):
        try:
            values = list(value_map.values())
        except UnicodeDecodeError:  # a map key that is not UTF-8 text: not a string field, not a Record
            return True
        for value in values:
            which = value.WhichOneof("value")
            if len(UnknownFieldSet(value)) or (which and len(UnknownFieldSet(getattr(value, which)))):
                return True
    return False


def _tensor_or_none(value_map) -> tuple[TensorKind, object] | None:
    if len(value_map) != 1 or _VALUES not in value_map:
        return None
    value = value_map[_VALUES]
    which = value.WhichOneof("value")
    return (KINDS_BY_FIELD[which], getattr(value, which)) if which in KINDS_BY_FIELD else None


def _field_length(template: np.ndarray, position: int) -> int:
    """Length of the field (tag, varint length, body) starting at ``position`` of the template."""
    body, shift, cursor = 0, 0, position + 1
    while True:
        byte = int(template[cursor])
        body |= (byte & 0x7F) << shift
        cursor += 1
        shift += 7
        if byte < 0x80:
            return cursor - position + body


def _label_value_width(template: np.ndarray, label_end: int, kind: TensorKind) -> int:
    if kind.fixed_width:
        return kind.wire_dtype.itemsize
    width = 1  # the label varint ends the payload; earlier bytes of it have the continuation bit set
    while template[label_end - width - 1] & 0x80:
        width += 1
    return width


def _decode_varint_columns(columns: np.ndarray) -> np.ndarray | None:
    """int32 values of same-length varints, one per row; None if a row's bytes are not such a varint."""
    continuation = (columns & 0x80) != 0
    if continuation[:, -1].any() or not continuation[:, :-1].all():
        return None
    value = np.zeros(columns.shape[0], dtype=np.uint64)
    for group in range(columns.shape[1]):
        value |= (columns[:, group] & 0x7F).astype(np.uint64) << np.uint64(7 * group)
    return (value & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.int32)


def _tensor_of(value_map, role: str, offset: int) -> tuple[TensorKind, object] | None:
    if _VALUES not in value_map:
        if len(value_map):
            raise RecordIOError(
                f"record at byte offset {offset} has {role} keys {sorted(value_map)} but no {_VALUES!r} key"
            )
        return None
    value = value_map[_VALUES]
    which = value.WhichOneof("value")
    if which not in KINDS_BY_FIELD:
        raise RecordIOError(
            f"record at byte offset {offset}: {role} tensor {which!r} is not a numeric tensor"
        )
    return KINDS_BY_FIELD[which], getattr(value, which)


def _read_any(data: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    """Decode records one by one (sparse, mixed or varying-width records)."""
    rows, labels, label_dtypes = [], [], set()
    has_labels = None
    for offset, payload in iter_payloads(data):
        record = _parse_record(offset, payload)
        features = _tensor_of(record.features, "features", offset)
        if features is None:
            raise RecordIOError(f"record at byte offset {offset} has no features[{_VALUES!r}] tensor")
        row = _dense_row(features[1], features[0], offset)
        if rows and row.shape != rows[0].shape:
            raise RecordIOError(
                f"ragged rows: record at byte offset {offset} has {row.shape[0]} features, "
                f"the first record has {rows[0].shape[0]}"
            )
        rows.append(row)
        label = _tensor_of(record.label, "label", offset)
        if has_labels is None:
            has_labels = label is not None
        if has_labels != (label is not None):
            raise RecordIOError(
                f"record at byte offset {offset} {'has a' if label is not None else 'has no'} label, "
                "unlike the first record"
            )
        if label is not None:
            kind, tensor = label
            if len(tensor.values) != 1 or tensor.keys:
                raise RecordIOError(
                    f"record at byte offset {offset} has a label of {len(tensor.values)} values; "
                    "read_dense reads scalar labels only (use read_records)"
                )
            label_dtypes.add(kind.wire_dtype)
            labels.append(tensor.values[0])
    label_array = np.array(labels, dtype=np.result_type(*label_dtypes)) if has_labels else None
    return np.vstack(rows), label_array


def _dense_row(tensor, kind: TensorKind, offset: int) -> np.ndarray:
    values = np.array(tensor.values, dtype=kind.wire_dtype)
    if not tensor.keys and not tensor.shape:
        return values
    if len(tensor.shape) != 1:
        raise RecordIOError(
            f"sparse record at byte offset {offset} has shape {list(tensor.shape)}; a 1-D shape is required"
        )
    keys = np.array(tensor.keys, dtype=np.uint64)
    if keys.shape != values.shape or (keys.size and keys.max() >= tensor.shape[0]):
        raise RecordIOError(
            f"sparse record at byte offset {offset}: {keys.size} keys for {values.size} values "
            f"and shape {list(tensor.shape)}"
        )
    row = np.zeros(int(tensor.shape[0]), dtype=values.dtype)
    row[keys.astype(np.int64)] = values
    return row
