"""Byte identity with the SageMaker SDK: its real output (fixtures) and the reference's worked examples."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

from include.recordio import read_dense, write_numpy_to_dense_tensor, write_spmatrix_to_sparse_tensor

SDK_OUTPUT = Path(__file__).resolve().parent / "sdk_output"
CASES = sorted(path.stem for path in SDK_OUTPUT.glob("*.rec"))


def _written(writer, array, labels=None) -> bytes:
    out = io.BytesIO()
    writer(out, array, labels)
    return out.getvalue()


def test_every_sdk_fixture_is_present():
    assert len(CASES) == 13


@pytest.mark.parametrize("case", CASES)
def test_output_is_identical_to_the_sdk(case):
    inputs = np.load(SDK_OUTPUT / f"{case}.npz")
    labels = inputs.get("labels")
    expected = (SDK_OUTPUT / f"{case}.rec").read_bytes()
    if str(inputs["kind"]) == "dense":
        assert _written(write_numpy_to_dense_tensor, inputs["array"], labels) == expected
    else:
        matrix = scipy.sparse.csr_matrix(inputs["array"]).asformat(str(inputs["format"]))
        assert _written(write_spmatrix_to_sparse_tensor, matrix, labels) == expected


@pytest.mark.parametrize("case", CASES)
def test_sdk_output_reads_back(case):
    inputs = np.load(SDK_OUTPUT / f"{case}.npz")
    features, labels = read_dense((SDK_OUTPUT / f"{case}.rec").read_bytes())
    array = inputs["array"]
    expected = array.astype(np.int32) if array.dtype == np.int64 else array
    n_rows = array.shape[0]
    assert features.shape == expected.shape
    # NaN payloads compare by bits; the SDK quiets float32 signalling NaNs.
    quiet = expected.copy()
    if quiet.dtype == np.float32:
        bits = quiet.view(np.uint32)
        bits[np.isnan(quiet)] |= 0x00400000
    assert features.tobytes() == np.ascontiguousarray(quiet).tobytes()
    if "labels" in inputs:
        expected_labels = inputs["labels"][:n_rows]
        if expected_labels.dtype == np.int64:
            expected_labels = expected_labels.astype(np.int32)
        np.testing.assert_array_equal(labels, expected_labels)
    else:
        assert labels is None


WORKED_EXAMPLES = {
    # reference/sagemaker_formats.md §1.4, actual SDK output
    "float32 row, float32 label": (
        np.array([[1, 2, 3]], dtype=np.float32),
        np.array([1.0], dtype=np.float32),
        "0a23d7ce30000000"
        "0a1a0a0676616c7565731210120e0a0c0000803f0000004000004040"
        "12120a0676616c756573120812060a040000803f",
    ),
    "float64 row, int64 label": (
        np.array([[1, 2]], dtype=np.float64),
        np.array([3], dtype=np.int64),
        "0a23d7ce31000000"
        "0a1e0a0676616c75657312141a120a10000000000000f03f0000000000000040"
        "120f0a0676616c75657312053a030a0103000000",
    ),
    "int64 row": (
        np.array([[1, -1]], dtype=np.int64),
        None,
        "0a23d7ce1b0000000a190a0676616c756573120f3a0d0a0b01ffffffffffffffffff0100",
    ),
    "empty float32 row": (
        np.zeros((1, 0), dtype=np.float32),
        None,
        "0a23d7ce0e0000000a0c0a0676616c756573120212000000",
    ),
}


@pytest.mark.parametrize("name", WORKED_EXAMPLES)
def test_worked_examples_of_the_reference(name):
    array, labels, expected_hex = WORKED_EXAMPLES[name]
    assert _written(write_numpy_to_dense_tensor, array, labels).hex() == expected_hex


def test_mnist_row_prefix_of_the_reference():
    row = np.zeros((1, 784), dtype=np.float32)
    written = _written(write_numpy_to_dense_tensor, row)
    assert written[4:8] == (3156).to_bytes(4, "little")
    assert written[8:28].hex() == "0ad1180a0676616c75657312c61812c3180ac018"


def test_sparse_worked_example_of_the_reference():
    matrix = scipy.sparse.csr_matrix(np.array([[0, 2.5, 0, 0, 1], [0, 0, 0, 0, 0]], dtype=np.float32))
    written = _written(write_spmatrix_to_sparse_tensor, matrix)
    first_payload = "0a1d0a0676616c756573121312110a08000020400000803f120201041a0105"
    all_zero_payload = "0a0f0a0676616c756573120512031a0105"
    expected = "0a23d7ce1f000000" + first_payload + "00" + "0a23d7ce11000000" + all_zero_payload + "000000"
    assert written.hex() == expected
