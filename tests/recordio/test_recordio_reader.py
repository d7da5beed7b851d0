"""Reading: round trips, records that read like the SDK's, every malformed-input error, and fuzzing."""

from __future__ import annotations

import contextlib
import io
import struct

import numpy as np
import pytest
import scipy.sparse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from include.recordio import (
    Record,
    RecordIOError,
    iter_dense,
    iter_stream,
    read_dense,
    read_records,
    write_numpy_to_dense_tensor,
    write_spmatrix_to_sparse_tensor,
)
from tests.support import recordio_wire_reference as reference

MAGIC = struct.pack("<I", 0xCED7230A)


def _dense(array, labels=None) -> bytes:
    out = io.BytesIO()
    write_numpy_to_dense_tensor(out, array, labels)
    return out.getvalue()


def _same_bits(left: np.ndarray, right: np.ndarray) -> bool:
    return left.dtype == right.dtype and left.shape == right.shape and left.tobytes() == right.tobytes()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["float32", "float64"]),
    st.integers(1, 10),
    st.integers(0, 30),
    st.sampled_from([None, "float32", "float64", "int64"]),
    st.data(),
)
def test_dense_round_trip_keeps_every_bit(dtype, rows, cols, label_dtype, data):
    elements = st.floats(width=32 if dtype == "float32" else 64)
    array = data.draw(hnp.arrays(dtype, (rows, cols), elements=elements))
    array[np.isnan(array)] = np.nan  # canonical NaNs: the SDK quiets signalling ones on write
    labels = None
    if label_dtype == "int64":
        labels = data.draw(hnp.arrays("int64", rows, elements=st.integers(-(2**31), 2**31 - 1)))
    elif label_dtype is not None:
        labels = data.draw(hnp.arrays(label_dtype, rows, elements=st.floats(allow_nan=False, width=32)))
    features, read_labels = read_dense(io.BytesIO(_dense(array, labels)))
    assert _same_bits(np.ascontiguousarray(features), array)
    if labels is None:
        assert read_labels is None
    else:
        expected = labels.astype(np.int32) if label_dtype == "int64" else labels
        assert _same_bits(np.asarray(read_labels), expected)


def test_int64_features_read_back_as_int32():
    array = np.array([[1, -1, 2**31 - 1], [0, -(2**31), 5]], dtype=np.int64)
    features, labels = read_dense(_dense(array, np.array([1, 2])))
    np.testing.assert_array_equal(features, array.astype(np.int32))
    assert features.dtype == np.int32
    np.testing.assert_array_equal(labels, [1, 2])


def test_mnist_like_file_decodes_as_a_writable_view_of_the_bytes(tmp_path):
    array = np.random.default_rng(1).random((500, 784), dtype=np.float32)
    labels = (np.arange(500) % 10).astype(np.int64)
    path = tmp_path / "train.rec"
    write_numpy_to_dense_tensor(path, array, labels)
    features, read_labels = read_dense(path)
    np.testing.assert_array_equal(features, array)
    np.testing.assert_array_equal(read_labels, labels)
    features[0, 0] = 7.0
    assert features[0, 0] == 7.0


def test_sparse_records_are_expanded_to_dense_rows():
    dense = np.array([[0, 2.5, 0, 0, 1], [0, 0, 0, 0, 0], [3, 0, 0, 0, 0]], dtype=np.float64)
    out = io.BytesIO()
    write_spmatrix_to_sparse_tensor(out, scipy.sparse.csr_matrix(dense), np.array([1.0, 0.0, 1.0]))
    features, labels = read_dense(out.getvalue())
    np.testing.assert_array_equal(features, dense)
    np.testing.assert_array_equal(labels, [1.0, 0.0, 1.0])


def test_records_read_like_the_sdks():
    array = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
    records = read_records(io.BytesIO(_dense(array, np.array([0.0, 1.0], dtype=np.float64))))
    assert len(records) == 2
    assert all(isinstance(record.to_protobuf(), Record) for record in records)
    assert list(records[1].features["values"].float32_tensor.values) == [4, 5, 6]
    assert list(records[1].label["values"].float64_tensor.values) == [1.0]
    assert records[0].features["values"].WhichOneof("value") == "float32_tensor"


def test_a_hand_made_record_stream_is_read_record_by_record():
    record = Record()
    record.features["values"].float64_tensor.values.extend([1.5, 2.5])
    record.uid = "row-1"
    other = Record()
    other.features["values"].float64_tensor.values.extend([3.5, 4.5])
    data = reference.frame(record.SerializeToString()) + reference.frame(other.SerializeToString())
    records = read_records(data)
    assert [r.uid for r in records] == ["row-1", ""]
    features, labels = read_dense(data)
    np.testing.assert_array_equal(features, [[1.5, 2.5], [3.5, 4.5]])
    assert labels is None


def test_dmlc_multi_part_records_are_rejoined():
    # MXNet's writer splits a payload at each 4-aligned magic and drops that magic (format reference §1.1).
    value = np.array([[1.0, np.array([0xCED7230A], np.uint32).view(np.float32)[0], 3.0]], dtype=np.float32)
    payload = _dense(value)[8:]  # 16 bytes of prefix, then the values: the magic is at payload offset 20
    split = 20
    first, rest = payload[:split], payload[split + 4 :]
    dmlc = (
        MAGIC + struct.pack("<I", 1 << 29 | len(first)) + first
        + MAGIC + struct.pack("<I", 3 << 29 | len(rest)) + rest + b"\0" * (-len(rest) % 4)
    )  # fmt: skip
    features, _ = read_dense(dmlc)
    assert features.tobytes() == value.tobytes()


def test_empty_input_has_no_records():
    assert read_records(b"") == []
    features, labels = read_dense(io.BytesIO(b""))
    assert features.shape == (0, 0)
    assert labels is None


GOOD = _dense(np.ones((2, 3), dtype=np.float32), np.ones(2, dtype=np.float32))
RECORD_SIZE = len(GOOD) // 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00" * 8 + GOOD, r"wrong magic 0x00000000 at byte offset 0"),
        (GOOD[:RECORD_SIZE] + b"PK\x03\x04" + GOOD[RECORD_SIZE + 4 :], r"wrong magic 0x04034b50 at .* 56"),
        (GOOD[:-3], r"record at byte offset 56 declares 48 bytes of payload but only 45 remain"),
        (GOOD + MAGIC + b"\x10", r"truncated record header at byte offset 112: 5 byte\(s\) left"),
        (GOOD + MAGIC + struct.pack("<I", 1 << 20), r"byte offset 112 declares 1048576 bytes"),
        (
            MAGIC + struct.pack("<I", 4) + b"\xff\xff\xff\xff",
            r"offset 0 is not a protobuf aialgs\.data\.Record",
        ),
        (GOOD + reference.frame(b"\x28\x01\x40\x05"), r"offset 112 is not an aialgs\.data\.Record: it holds"),
        (MAGIC + struct.pack("<I", 3 << 29 | 4) + b"abcd", r"offset 0 has continuation flag 3 outside"),
        (MAGIC + struct.pack("<I", 1 << 29 | 4) + b"abcd", r"multi-part record starting at byte offset 0"),
    ],
)
def test_malformed_streams_are_refused_with_the_byte_offset(data, message):
    with pytest.raises(RecordIOError, match=message):
        read_records(io.BytesIO(data))
    with pytest.raises(RecordIOError, match=message):
        read_dense(io.BytesIO(data))


def test_ragged_rows_and_inconsistent_labels_are_refused():
    ragged = _dense(np.ones((1, 3), np.float32)) + _dense(np.ones((1, 4), np.float32))
    with pytest.raises(RecordIOError, match=r"ragged rows: record at byte offset 36 has 4 features"):
        read_dense(ragged)
    mixed = _dense(np.ones((1, 3), np.float32), np.ones(1, np.float32)) + _dense(np.ones((1, 3), np.float32))
    with pytest.raises(RecordIOError, match=r"record at byte offset 56 has no label, unlike the first"):
        read_dense(mixed)


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300) | st.builds(lambda tail: GOOD + tail, st.binary(max_size=100)))
def test_arbitrary_bytes_never_crash_or_hang_the_reader(data):
    for reader in (read_records, read_dense):
        with contextlib.suppress(RecordIOError):
            reader(data)


@settings(max_examples=200, deadline=2000)
@given(st.integers(0, len(GOOD) - 1), st.integers(0, 255))
def test_a_corrupted_byte_is_refused_or_read_consistently(position, byte):
    data = bytearray(GOOD)
    data[position] = byte
    try:
        features, labels = read_dense(bytes(data))
    except RecordIOError:
        return
    assert features.ndim == 2
    assert labels is None or labels.shape == (features.shape[0],)


def test_a_map_key_that_is_not_text_is_refused():
    not_text_key = b"\x0a\x09\x0a\x01\x80\x12\x04\x12\x02\x0a\x00"
    with pytest.raises(RecordIOError, match=r"offset 0 is not an aialgs\.data\.Record"):
        read_records(reference.frame(not_text_key))


def _streamed(path, batch_rows):
    """``iter_stream`` of the file read front to back, as a Pipe-mode channel is."""
    with path.open("rb") as stream:
        yield from iter_stream(stream, batch_rows)


def _batches_equal(path, batch_rows, features, labels, read=iter_dense):
    batches = list(read(path, batch_rows))
    assert all(len(batch) <= batch_rows and batch.flags.c_contiguous for batch, _ in batches)
    np.testing.assert_array_equal(np.vstack([batch for batch, _ in batches]), features)
    if labels is not None:
        np.testing.assert_array_equal(np.concatenate([label for _, label in batches]), labels)


@pytest.mark.parametrize("read", [iter_dense, _streamed])
@pytest.mark.parametrize("batch_rows", [1, 3, 7, 1000])
def test_iter_dense_decodes_a_file_in_bounded_batches(tmp_path, batch_rows, read):
    rng = np.random.default_rng(3)
    features, labels = rng.normal(size=(7, 784)).astype(np.float32), np.arange(7, dtype=np.int64)
    path = tmp_path / "part.pbr"
    with path.open("wb") as stream:
        write_numpy_to_dense_tensor(stream, features, labels)

    _batches_equal(path, batch_rows, features, labels, read)


@pytest.mark.parametrize("read", [iter_dense, _streamed])
def test_iter_dense_falls_back_to_the_general_reader_where_records_change_shape(tmp_path, read):
    dense, sparse = np.ones((4, 3), np.float32), scipy.sparse.csr_matrix(np.eye(3, dtype=np.float32))
    path = tmp_path / "mixed.pbr"
    with path.open("wb") as stream:
        write_numpy_to_dense_tensor(stream, dense)
        write_spmatrix_to_sparse_tensor(stream, sparse)

    _batches_equal(path, 2, np.vstack([dense, np.eye(3)]), None, read)
    assert next(read(path, 100))[0].shape == (7, 3) if read is iter_dense else (4, 3)


def test_iter_stream_names_where_a_stream_is_cut():
    record = _dense(np.arange(4, dtype=np.float32).reshape(1, 4))
    assert len(list(iter_stream(io.BytesIO(record * 3), 2))) == 2
    with pytest.raises(RecordIOError, match=rf"truncated record at byte offset {len(record)}"):
        list(iter_stream(io.BytesIO(record + record[:-3]), 5))
    with pytest.raises(RecordIOError, match=r"truncated record header at byte offset 0"):
        list(iter_stream(io.BytesIO(record[:5]), 5))
