"""``read_records``' fast path: record views read exactly like the protobuf messages of the same bytes.

The oracle is protobuf itself (each payload parsed into a ``Record``, as the SDK's ``read_records`` does).
Files are encoded here from raw value bytes, so every float bit pattern (NaN payloads, signalling NaNs,
-0.0, infinities, subnormals) reaches the reader untouched.
"""

from __future__ import annotations

import copy
import io
import pickle
import struct
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import scipy.sparse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from include.recordio import (
    Record,
    RecordView,
    read_records,
    record_views,
    write_numpy_to_dense_tensor,
    write_spmatrix_to_sparse_tensor,
)
from include.recordio.framing import iter_payloads
from tests.support import recordio_wire_reference as reference

SDK_OUTPUT = Path(__file__).resolve().parent / "sdk_output"
TENSOR_FIELDS = ("float32_tensor", "float64_tensor", "int32_tensor")
VALUE_FIELD_NUMBER = {"float32": 2, "float64": 3, "int32": 7}
SPECIAL_BITS = {
    # -0.0, ±inf, quiet NaN, signalling NaN, negative NaN with a payload, smallest subnormal, 1.0
    "float32": [
        0x80000000,
        0x7F800000,
        0xFF800000,
        0x7FC00000,
        0x7F800001,
        0xFFFFFFFF,
        0x00000001,
        0x3F800000,
    ],
    "float64": [
        0x8000000000000000,
        0x7FF0000000000000,
        0xFFF0000000000000,
        0x7FF8000000000000,
        0x7FF0000000000001,
        0xFFFFFFFFFFFFFFFF,
        0x0000000000000001,
        0x3FF0000000000000,
    ],
}
INT32_EDGES = [0, 1, -1, 127, 128, -(2**31), 2**31 - 1]


# --- encoding files from raw values, and the protobuf oracle -------------------------------------------


def _value_message(dtype: str, values: np.ndarray) -> bytes:
    if dtype == "int32":
        return reference.value_message("int64", [int(value) for value in values])
    tensor = reference.length_delimited(1, values.tobytes()) if len(values) else b""
    return reference.length_delimited(VALUE_FIELD_NUMBER[dtype], tensor)


def _dense_file(features: np.ndarray, labels: np.ndarray | None) -> bytes:
    """Records of ``features`` rows (and scalar ``labels``), values copied bit for bit."""
    out = b""
    for index, row in enumerate(features):
        payload = reference.values_map(1, _value_message(features.dtype.name, row))
        if labels is not None:
            payload += reference.values_map(2, _value_message(labels.dtype.name, labels[index : index + 1]))
        out += reference.frame(payload)
    return out


def _protobuf_records(data: bytes) -> list:
    """What the SDK's ``read_records`` returns: each payload parsed into a ``Record``."""
    return [Record.FromString(bytes(payload)) for _, payload in iter_payloads(data)]


# --- comparing a record with the message protobuf parsed from the same bytes ---------------------------


def _outcome(call, target):
    """The result of ``call(target)``, or the type and text of what it raised."""
    try:
        return call(target)
    except Exception as error:  # the point is to compare whatever both sides raise
        return type(error), str(error)


def _bits(items) -> list:
    """Items with floats as bit patterns, so NaN payloads and -0.0 compare exactly (and types too)."""
    return [(type(item), struct.pack("<d", item) if isinstance(item, float) else item) for item in items]


def assert_repeated_alike(ours, theirs) -> None:
    size = len(theirs)
    assert len(ours) == size
    assert _bits(list(ours)) == _bits(list(theirs))
    assert _bits(ours[index] for index in range(-size, size)) == _bits(
        theirs[index] for index in range(-size, size)
    )
    assert isinstance(ours[1:3], list)
    assert _bits(ours[1:3]) == _bits(theirs[1:3])
    assert _bits(reversed(ours)) == _bits(reversed(theirs))
    for call in (lambda seq: seq[size], lambda seq: seq[-size - 1]):
        assert _outcome(call, ours) == _outcome(call, theirs)
    with pytest.raises(TypeError):
        ours[1.5]
    comparable = not any(item != item for item in theirs)  # a NaN never compares equal, in either
    assert (ours == theirs) is comparable
    assert (theirs == ours) is comparable
    assert (ours == list(theirs)) is comparable
    assert (ours != theirs) is not comparable
    assert (ours == tuple(theirs)) is (theirs == tuple(theirs))
    assert repr(ours) == repr(theirs)
    if size:
        assert (theirs[0] in ours) is (theirs[0] in theirs)


def assert_value_alike(ours, theirs) -> None:
    assert ours.WhichOneof("value") == theirs.WhichOneof("value")
    for name in ("value", *TENSOR_FIELDS, "bytes", "nope"):
        assert _outcome(lambda value, name=name: value.HasField(name), ours) == _outcome(
            lambda value, name=name: value.HasField(name), theirs
        )
    assert _outcome(lambda value: value.WhichOneof("nope"), ours) == _outcome(
        lambda value: value.WhichOneof("nope"), theirs
    )
    for field in TENSOR_FIELDS:
        mine, expected = getattr(ours, field), getattr(theirs, field)
        for repeated in ("values", "keys", "shape"):
            assert_repeated_alike(getattr(mine, repeated), getattr(expected, repeated))
        assert _outcome(lambda tensor: tensor.HasField("values"), mine) == _outcome(
            lambda tensor: tensor.HasField("values"), expected
        )
        assert mine == expected
        assert mine.SerializeToString() == expected.SerializeToString()
    assert list(ours.bytes.value) == list(theirs.bytes.value)
    assert ours.bytes.content_type == theirs.bytes.content_type
    assert ours == theirs
    assert theirs == ours
    assert ours.SerializeToString() == theirs.SerializeToString()
    assert str(ours) == str(theirs)


def assert_record_alike(ours, theirs) -> None:
    for role in ("features", "label"):
        mine, expected = getattr(ours, role), getattr(theirs, role)
        assert len(mine) == len(expected)
        assert list(mine) == list(expected)
        assert ("values" in mine) is ("values" in expected)
        assert ("other" in mine) is ("other" in expected)
        assert sorted(mine.keys()) == sorted(expected.keys())
        assert mine.get("other") is None
        for key, value in mine.items():
            assert_value_alike(value, expected[key])
        for key in expected:
            assert_value_alike(mine[key], expected[key])
    for name in ("uid", "metadata", "configuration"):
        assert getattr(ours, name) == getattr(theirs, name)
    for name in ("uid", "metadata", "configuration", "features", "label", "nope"):
        assert _outcome(lambda record, name=name: record.HasField(name), ours) == _outcome(
            lambda record, name=name: record.HasField(name), theirs
        )
    assert _outcome(lambda record: record.WhichOneof("x"), ours) == _outcome(
        lambda record: record.WhichOneof("x"), theirs
    )
    assert ours == theirs
    assert theirs == ours
    if isinstance(ours, RecordView):
        protobuf = ours.to_protobuf()
        assert isinstance(protobuf, Record)
        assert protobuf.SerializeToString() == theirs.SerializeToString()
    assert ours.SerializeToString() == theirs.SerializeToString()
    assert str(ours) == str(theirs)
    for duplicate in (pickle.loads(pickle.dumps(ours)), copy.deepcopy(ours), copy.copy(ours)):
        assert isinstance(duplicate, Record)
        assert duplicate.SerializeToString() == theirs.SerializeToString()


def assert_reads_like_protobuf(data: bytes) -> list:
    records = read_records(data)
    expected = _protobuf_records(data)
    assert len(records) == len(expected)
    for ours, theirs in zip(records, expected, strict=True):
        assert_record_alike(ours, theirs)
    return records


# --- the fast path ------------------------------------------------------------------------------------


def _one_varint_width(labels: np.ndarray | None) -> bool:
    """Integer labels are varints: the fast path takes them when all have the same encoded length."""
    if labels is None or labels.dtype.kind == "f":
        return True
    return len({len(reference.varint(int(label))) for label in labels}) == 1


def _float_bits(dtype: str) -> st.SearchStrategy:
    width = np.dtype(dtype).itemsize * 8
    return st.sampled_from(SPECIAL_BITS[dtype]) | st.integers(0, 2**width - 1)


@st.composite
def dense_files(draw):
    """Raw float features of one width with no label, or float or int32 scalar labels."""
    dtype = draw(st.sampled_from(["float32", "float64"]))
    bits_dtype = {"float32": np.uint32, "float64": np.uint64}[dtype]
    shape = (draw(st.integers(1, 6)), draw(st.integers(0, 9)))
    features = draw(hnp.arrays(bits_dtype, shape, elements=_float_bits(dtype))).view(dtype)
    label_dtype = draw(st.sampled_from([None, "float32", "float64", "int32"]))
    labels = None
    if label_dtype == "int32":
        values = st.sampled_from(INT32_EDGES) | st.integers(-(2**31), 2**31 - 1)
        labels = draw(hnp.arrays(np.int32, shape[0], elements=values))
    elif label_dtype is not None:
        bits = {"float32": np.uint32, "float64": np.uint64}[label_dtype]
        labels = draw(hnp.arrays(bits, shape[0], elements=_float_bits(label_dtype))).view(label_dtype)
    return features, labels


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dense_files(), st.sampled_from([record_views.MAX_SHARED_LABELS, 0]))
def test_dense_records_read_exactly_like_protobuf_messages(case, max_shared_labels):
    """Also with label maps built per record, as for files of more distinct labels than are shared."""
    features, labels = case
    data = _dense_file(features, labels)
    with mock.patch.object(record_views, "MAX_SHARED_LABELS", max_shared_labels):
        records = assert_reads_like_protobuf(data)
    assert all(isinstance(record, RecordView) for record in records) is _one_varint_width(labels)


@pytest.mark.parametrize(
    "labels",
    [None, np.full(3, -(2**31)), np.array([-1, -7, 1 - 2**31]), np.array([2**31 - 1, 2**30, 2**29])],
    ids=["unlabelled", "int32-min", "negatives", "five-byte-varints"],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_writer_output_takes_the_fast_path(dtype, labels):
    features = np.array([[0.5, -0.0, np.inf], [np.nan, 1e-30, -2.5], [3.0, 4.0, 5.0]], dtype=dtype)
    out = io.BytesIO()
    write_numpy_to_dense_tensor(out, features, labels)
    records = assert_reads_like_protobuf(out.getvalue())
    assert all(isinstance(record, RecordView) for record in records)
    if labels is not None:
        assert [record.label["values"].int32_tensor.values[0] for record in records] == labels.tolist()


@pytest.mark.parametrize("case", sorted(path.stem for path in SDK_OUTPUT.glob("*.rec")))
def test_the_sdks_own_files_read_like_protobuf_messages(case):
    data = (SDK_OUTPUT / f"{case}.rec").read_bytes()
    records = assert_reads_like_protobuf(data)
    inputs = np.load(SDK_OUTPUT / f"{case}.npz")
    array = inputs["array"]
    dense_floats = str(inputs["kind"]) == "dense" and array.dtype.kind == "f"
    fast = dense_floats and _one_varint_width(inputs.get("labels"))
    assert all(isinstance(record, RecordView) for record in records) is fast
    if fast:
        last = records[-1].features["values"]
        assert _bits(getattr(last, last.WhichOneof("value")).values) == _bits(array[-1].tolist())


def test_records_are_read_only_and_independent_of_the_callers_buffer():
    data = bytearray(_dense_file(np.array([[1.0, 2.0]], dtype=np.float32), np.array([3.0], np.float32)))
    (record,) = read_records(data)
    values = record.features["values"].float32_tensor.values
    with pytest.raises(TypeError):
        record.features["values"] = record.label["values"]
    with pytest.raises(TypeError):
        values[0] = 5.0
    with pytest.raises(TypeError):
        del values[0]
    with pytest.raises(AttributeError):
        values.append(5.0)
    with pytest.raises(AttributeError):
        record.uid = "row-1"
    with pytest.raises(KeyError):
        record.features["other"]
    data[:] = bytes(len(data))
    assert list(values) == [1.0, 2.0]
    assert record.label["values"].float32_tensor.values[0] == 3.0
    assert values.__hash__ is None
    assert record.__hash__ is None


def test_a_path_and_an_open_file_read_alike(tmp_path):
    features = np.arange(12, dtype=np.float64).reshape(4, 3)
    path = tmp_path / "train.rec"
    write_numpy_to_dense_tensor(path, features, np.arange(4, dtype=np.float32))
    expected = _protobuf_records(path.read_bytes())
    with open(path, "rb") as opened:
        from_file = read_records(opened)
        assert opened.read() == b"", "the file is consumed, as a read would leave it"
    for records in (read_records(path), read_records(str(path)), from_file):
        assert [record.SerializeToString() for record in records] == [m.SerializeToString() for m in expected]
        assert records[2].features["values"].float64_tensor.values == [6.0, 7.0, 8.0]


def test_values_are_a_sequence_with_lists_rules():
    features = np.array([[1.0, np.nan, 1.0, 2.0]], dtype=np.float64)
    values = read_records(_dense_file(features, None))[0].features["values"].float64_tensor.values
    assert values.count(1.0) == 2
    assert values.index(2.0) == 3
    assert 2.0 in values
    assert np.nan not in values  # a new NaN object is never found, as in a list of parsed floats
    assert values[::2] == [1.0, 1.0]
    assert values != [1.0, np.nan, 1.0, 2.0]


def test_records_with_the_same_label_bits_share_one_read_only_label_map():
    labels = np.array([0.0, 1.0, -0.0, 1.0, np.nan], dtype=np.float32)
    records = read_records(_dense_file(np.zeros((5, 1), np.float32), labels))
    assert records[1].label is records[3].label
    assert records[0].label is not records[2].label, "-0.0 is not 0.0, bit for bit"
    assert [struct.pack("<d", r.label["values"].float32_tensor.values[0]) for r in records] == [
        struct.pack("<d", label) for label in labels.tolist()
    ]


def test_many_distinct_labels_are_read_per_record():
    labels = np.arange(record_views.MAX_SHARED_LABELS + 1, dtype=np.float64)
    out = io.BytesIO()
    write_numpy_to_dense_tensor(out, np.zeros((len(labels), 1), np.float32), labels)
    records = read_records(out.getvalue())
    assert isinstance(records[0], RecordView)
    assert [record.label["values"].float64_tensor.values[0] for record in records] == labels.tolist()
    assert records[-1] == _protobuf_records(out.getvalue())[-1]


def test_unlabelled_records_have_an_empty_label_map():
    (record,) = read_records(_dense_file(np.ones((1, 2), np.float32), None))
    assert isinstance(record, RecordView)
    assert len(record.label) == 0
    assert "values" not in record.label
    assert list(record.label.items()) == []


# --- files that must fall back to protobuf parsing -----------------------------------------------------


def _record(uid="", metadata="", configuration="", keys=("values",), values=(1.0, 2.0), label=None) -> bytes:
    record = Record()
    for key in keys:
        record.features[key].float32_tensor.values.extend(values)
    if label is not None:
        record.label["values"].float32_tensor.values.extend(label)
    record.uid, record.metadata, record.configuration = uid, metadata, configuration
    return reference.frame(record.SerializeToString())


def _sparse(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    write_spmatrix_to_sparse_tensor(out, scipy.sparse.csr_matrix(array))
    return out.getvalue()


DENSE = _dense_file(np.arange(6, dtype=np.float32).reshape(3, 2), None)
FOREIGN_RECORDS = {
    "uid": _record(uid="row-7"),
    "metadata": _record(metadata='{"source": "mnist"}'),
    "configuration": _record(configuration="{}"),
    "extra map key": _record(keys=("values", "extra")),
    "other map key only": _record(keys=("projection",)),
    "wider row": _record(values=(1.0, 2.0, 3.0)),
    "two-value label": _record(label=(1.0, 2.0)),
    "float64 row": _dense_file(np.ones((1, 2), np.float64), None),
    "int32 row": reference.dense(np.array([[1, -1]])),
    "sparse row": _sparse(np.array([[0.0, 2.0]], dtype=np.float32)),
    "labelled row": _dense_file(np.ones((1, 2), np.float32), np.ones(1, np.float32)),
}


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(FOREIGN_RECORDS)), st.integers(0, 3))
def test_one_record_off_the_fast_path_sends_the_whole_file_to_protobuf(foreign, position):
    record_size = len(DENSE) // 3
    data = DENSE[: position * record_size] + FOREIGN_RECORDS[foreign] + DENSE[position * record_size :]
    records = read_records(data)
    assert all(isinstance(record, Record) for record in records)
    assert records == _protobuf_records(data)


def test_sparse_and_int32_files_are_parsed_by_protobuf():
    for data in (_sparse(np.eye(3, dtype=np.float32)), reference.dense(np.array([[1, 2], [3, 4]]))):
        records = read_records(data)
        assert all(isinstance(record, Record) for record in records)
        assert records == _protobuf_records(data)


def test_a_sparse_file_read_from_a_path_is_parsed_by_protobuf(tmp_path):
    path = tmp_path / "sparse.rec"
    path.write_bytes(_sparse(np.eye(4, dtype=np.float32)))
    records = read_records(path)
    assert all(isinstance(record, Record) for record in records)
    assert records == _protobuf_records(path.read_bytes())


def test_multi_part_records_are_parsed_by_protobuf():
    magic_value = np.array([0xCED7230A], np.uint32).view(np.float32)[0]
    features = np.array([[1.0, magic_value, 3.0]], dtype=np.float32)
    payload = reference.values_map(1, _value_message("float32", features[0]))
    split = 20  # MXNet's writer splits at the 4-aligned magic and drops it (format reference §1.1)
    first, rest = payload[:split], payload[split + 4 :]
    data = (
        reference.frame(first)[:4] + struct.pack("<I", 1 << 29 | len(first)) + first
        + reference.frame(rest)[:4] + struct.pack("<I", 3 << 29 | len(rest)) + rest + b"\0" * (-len(rest) % 4)
    )  # fmt: skip
    (record,) = read_records(data)
    assert isinstance(record, Record)
    assert record.features["values"].float32_tensor.values[1] == float(magic_value)
    assert record.SerializeToString() == payload
