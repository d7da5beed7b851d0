"""The writers against the independent wire-format encoder, and their input checks (the SDK's messages)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import scipy.sparse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from include.recordio import write_numpy_to_dense_tensor, write_spmatrix_to_sparse_tensor
from tests.support import recordio_wire_reference as reference

FEATURE_DTYPES = ["float32", "float64", "int64"]
INT32 = st.integers(-(2**31), 2**31 - 1)


def _elements(dtype: str):
    if dtype == "int64":
        return INT32
    return st.floats(width=32 if dtype == "float32" else 64, allow_nan=True, allow_infinity=True)


@st.composite
def arrays_with_labels(draw, max_rows: int = 12, max_cols: int = 40):
    dtype = draw(st.sampled_from(FEATURE_DTYPES))
    shape = (draw(st.integers(0, max_rows)), draw(st.integers(0, max_cols)))
    array = draw(hnp.arrays(dtype, shape, elements=_elements(dtype)))
    label_dtype = draw(st.sampled_from([None, *FEATURE_DTYPES]))
    labels = None
    if label_dtype is not None:
        labels = draw(hnp.arrays(label_dtype, shape[0], elements=_elements(label_dtype)))
    return array, labels


def _dense(array, labels=None, **kwargs) -> bytes:
    out = io.BytesIO()
    write_numpy_to_dense_tensor(out, array, labels, **kwargs)
    return out.getvalue()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays_with_labels())
def test_dense_writer_matches_the_wire_format(case):
    array, labels = case
    assert _dense(array, labels) == reference.dense(array, labels)


@settings(max_examples=30, deadline=None)
@given(arrays_with_labels(max_rows=30), st.integers(1, 500))
def test_chunk_size_does_not_change_the_bytes(case, chunk_bytes):
    array, labels = case
    assert _dense(array, labels, chunk_bytes=chunk_bytes) == reference.dense(array, labels)


@settings(max_examples=60, deadline=None)
@given(arrays_with_labels(max_rows=8, max_cols=12))
def test_sparse_writer_matches_the_wire_format(case):
    array, labels = case
    # Make a third of the entries zero; -0.0 is a zero that scipy drops too.
    array = np.where(np.arange(array.size).reshape(array.shape) % 3 == 0, 0, array).astype(array.dtype)
    array[array == 0] = 0
    out = io.BytesIO()
    write_spmatrix_to_sparse_tensor(out, scipy.sparse.csr_matrix(array), labels)
    assert out.getvalue() == reference.sparse(array, labels)


def test_a_path_is_accepted(tmp_path):
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    write_numpy_to_dense_tensor(tmp_path / "out.rec", array)
    assert (tmp_path / "out.rec").read_bytes() == reference.dense(array)


def test_mnist_sized_input_is_written_in_bounded_chunks():
    array = np.random.default_rng(0).random((3000, 784), dtype=np.float32)
    labels = (np.arange(3000) % 10).astype(np.float32)
    writes = []

    class CountingFile(io.BytesIO):
        def write(self, data):
            writes.append(memoryview(data).nbytes)
            return super().write(data)

    out = CountingFile()
    write_numpy_to_dense_tensor(out, array, labels, chunk_bytes=1 << 20)
    assert out.getvalue() == reference.dense(array[:5], labels[:5]) + out.getvalue()[5 * 3184 :]
    assert len(writes) == 10
    assert max(writes) <= (1 << 20) + 3184


@pytest.mark.parametrize(
    ("array", "labels", "error", "message"),
    [
        (np.zeros(3, dtype=np.float32), None, ValueError, "Array must be a Matrix"),
        (np.zeros((2, 2, 2), dtype=np.float32), None, ValueError, "Array must be a Matrix"),
        (np.zeros((2, 3), dtype=np.float32), np.zeros((2, 1)), ValueError, "Labels must be a Vector"),
        (
            np.zeros((2, 3), dtype=np.float32),
            np.zeros(4),
            ValueError,
            r"Label shape \(4,\) not compatible with array shape \(2, 3\)",
        ),
        (np.zeros((2, 3), dtype=np.int32), None, ValueError, "Unsupported dtype int32 on array"),
        (np.zeros((2, 3), dtype=np.float16), None, ValueError, "Unsupported dtype float16 on array"),
        (np.zeros((2, 3), dtype=">f4"), None, ValueError, "Unsupported dtype >f4 on array"),
        (np.zeros((2, 3), dtype=np.float32), np.zeros(2, dtype=bool), ValueError, "Unsupported dtype bool"),
        (np.array([[1, 2**31]]), None, ValueError, "Value out of range: 2147483648"),
        (np.zeros((1, 2), np.float32), np.array([-(2**31) - 1]), ValueError, "out of range: -2147483649"),
        (np.zeros((3, 2), dtype=np.float32), np.zeros(2), IndexError, "index 2 is out of bounds"),
    ],
)
def test_dense_writer_refuses_what_the_sdk_refuses(array, labels, error, message):
    out = io.BytesIO()
    with pytest.raises(error, match=message):
        write_numpy_to_dense_tensor(out, array, labels)
    assert out.getvalue() == b"", "nothing is written before an error"


def test_labels_matching_the_column_count_are_used_from_the_start():
    array = np.ones((2, 3), dtype=np.float32)
    labels = np.array([5, 6, 7], dtype=np.float32)
    assert _dense(array, labels) == reference.dense(array, labels[:2])


def test_sparse_writer_refuses_dense_input_and_bad_dtypes():
    with pytest.raises(TypeError, match="Array must be sparse"):
        write_spmatrix_to_sparse_tensor(io.BytesIO(), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="Unsupported dtype int32 on array"):
        write_spmatrix_to_sparse_tensor(io.BytesIO(), scipy.sparse.csr_matrix(np.eye(2, dtype=np.int32)))
    with pytest.raises(ValueError, match="Labels must be a Vector"):
        write_spmatrix_to_sparse_tensor(io.BytesIO(), scipy.sparse.eye(2, format="csr"), np.zeros((2, 1)))
