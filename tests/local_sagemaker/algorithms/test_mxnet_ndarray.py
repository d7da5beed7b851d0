"""MXNet NDArray files: byte layout of the reference example, round trips, and bad files."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from include.local_sagemaker.algorithms import mxnet_ndarray
from include.local_sagemaker.algorithms.mxnet_ndarray import NDArrayFormatError

# reference/sagemaker_formats.md §3: a list holding one 2x3 float32 array is these 96 bytes.
EXAMPLE_HEADER = bytes.fromhex(
    "1201000000000000"
    "0000000000000000"
    "0100000000000000"
    "c9fa93f9"
    "00000000"
    "02000000"
    "0200000000000000"
    "0300000000000000"
    "01000000"
    "00000000"
    "00000000"
)


def test_list_of_one_matrix_is_the_96_byte_reference_layout():
    matrix = np.arange(6, dtype=np.float32).reshape(2, 3)

    data = mxnet_ndarray.dumps([matrix])

    assert len(data) == 96
    assert data == EXAMPLE_HEADER + matrix.tobytes() + b"\0" * 8


def test_dict_carries_names_after_the_arrays():
    data = mxnet_ndarray.dumps({"mean": np.zeros((1, 2), np.float32), "s": np.ones(3, np.float32)})

    assert data.endswith(struct.pack("<Q", 2) + struct.pack("<Q", 4) + b"mean" + struct.pack("<Q", 1) + b"s")


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.uint8, np.int32, np.int8, np.int64])
def test_round_trip_keeps_dtype_shape_and_values(dtype, tmp_path):
    array = (np.arange(24) % 7).astype(dtype).reshape(2, 3, 4)
    path = tmp_path / "model_algo-1"

    mxnet_ndarray.save(path, {"v": array, "s": array[0, 0]})
    loaded = mxnet_ndarray.load(path)

    assert list(loaded) == ["v", "s"]
    assert loaded["v"].dtype == np.dtype(dtype)
    np.testing.assert_array_equal(loaded["v"], array)
    np.testing.assert_array_equal(loaded["s"], array[0, 0])


def test_unnamed_file_loads_as_a_list():
    loaded = mxnet_ndarray.loads(mxnet_ndarray.dumps([np.ones((2, 2)), np.zeros(3)]))

    assert isinstance(loaded, list)
    assert [a.shape for a in loaded] == [(2, 2), (3,)]


def test_big_endian_input_is_written_little_endian():
    array = np.array([1.5, -2.0], dtype=">f4")

    data = mxnet_ndarray.dumps([array])

    assert np.array([1.5, -2.0], dtype="<f4").tobytes() in data
    np.testing.assert_array_equal(mxnet_ndarray.loads(data)[0], [1.5, -2.0])


def test_unsupported_dtype_is_refused_with_its_name():
    with pytest.raises(NDArrayFormatError, match="complex128"):
        mxnet_ndarray.dumps([np.zeros(2, dtype=np.complex128)])


def test_wrong_magic_is_reported():
    with pytest.raises(NDArrayFormatError, match="header magic 0x1"):
        mxnet_ndarray.loads(struct.pack("<QQQ", 1, 0, 0))


def test_truncated_file_names_the_missing_part_and_offset(tmp_path):
    path = tmp_path / "model_algo-1"
    path.write_bytes(mxnet_ndarray.dumps([np.ones((2, 3), np.float32)])[:70])

    with pytest.raises(
        NDArrayFormatError, match=r"model_algo-1: truncated file: array 0 data needs 24 bytes at offset 64"
    ):
        mxnet_ndarray.load(path)


def test_sparse_arrays_are_refused():
    data = bytearray(mxnet_ndarray.dumps([np.ones(2, np.float32)]))
    data[28:32] = struct.pack("<i", 2)  # storage type csr

    with pytest.raises(NDArrayFormatError, match="sparse"):
        mxnet_ndarray.loads(bytes(data))
