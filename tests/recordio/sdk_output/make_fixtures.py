"""Regenerates the fixtures in this directory with the real SageMaker SDK (not with our codec).

Run with the SDK's own virtualenv (see benchmarks/requirements-sdk.txt):
    .cache/sagemaker-sdk/bin/python tests/recordio/sdk_output/make_fixtures.py
Each case stores its inputs in ``<case>.npz`` and the SDK's output in ``<case>.rec``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import scipy.sparse
from sagemaker.amazon.common import write_numpy_to_dense_tensor, write_spmatrix_to_sparse_tensor

HERE = Path(__file__).resolve().parent
MAGIC_AS_FLOAT32 = np.array([0xCED7230A], dtype=np.uint32).view(np.float32)[0]
SIGNALLING_NAN32 = np.array([0x7F800001], dtype=np.uint32).view(np.float32)[0]


def dense_cases(rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    specials32 = np.array(
        [[np.nan, -0.0, np.inf, -np.inf, 1e-45, MAGIC_AS_FLOAT32, SIGNALLING_NAN32, 3.4e38]], dtype=np.float32
    )
    specials64 = np.array([[np.nan, -0.0, np.inf, -np.inf, 5e-324, 1.7e308]], dtype=np.float64)
    return {
        "f32_label_f32": (np.array([[1, 2, 3]], dtype=np.float32), np.array([1.0], dtype=np.float32)),
        "f64_label_i64": (np.array([[1, 2]], dtype=np.float64), np.array([3], dtype=np.int64)),
        "i64_no_label": (np.array([[1, -1], [2**31 - 1, -(2**31)]], dtype=np.int64), None),
        "empty_rows": (np.zeros((3, 0), dtype=np.float32), np.array([0, 1, 2], dtype=np.float32)),
        "specials_f32_label_f64": (specials32, np.array([np.nan], dtype=np.float64)),
        "specials_f64_label_f32": (specials64, np.array([-0.0], dtype=np.float32)),
        "random_f32_label_negative_i64": (
            rng.standard_normal((7, 33)).astype(np.float32),
            rng.integers(-(2**31), 2**31, 7),
        ),
        "random_f64_no_label": (rng.standard_normal((5, 40)), None),
        "mnist_shaped_f32_label_i64": (
            rng.integers(0, 256, (4, 784)).astype(np.float32) / 255,
            np.array([0, 7, 300, 9], dtype=np.int64),
        ),
        "labels_match_columns": (
            np.ones((2, 3), dtype=np.float32),
            np.array([5.0, 6.0, 7.0], dtype=np.float32),
        ),
    }


def sparse_cases(rng: np.random.Generator) -> dict[str, tuple[scipy.sparse.spmatrix, np.ndarray | None]]:
    random = scipy.sparse.random(6, 9, density=0.3, format="csr", random_state=7, dtype=np.float64)
    return {
        "sparse_f32_label_f32": (
            scipy.sparse.csr_matrix(np.array([[0, 2.5, 0, 0, 1], [0, 0, 0, 0, 0]], dtype=np.float32)),
            np.array([1.0, 0.0], dtype=np.float32),
        ),
        "sparse_f64_label_i64_csc": (random.tocsc(), rng.integers(0, 10, 6)),
        "sparse_i64_no_label": (
            scipy.sparse.csr_matrix(np.array([[0, -3, 0], [4, 0, 5]], dtype=np.int64)),
            None,
        ),
    }


def main() -> None:
    rng = np.random.default_rng(20240601)
    for name, (array, labels) in dense_cases(rng).items():
        out = io.BytesIO()
        write_numpy_to_dense_tensor(out, array, labels)
        _save(name, out.getvalue(), kind="dense", array=array, labels=labels)
    for name, (matrix, labels) in sparse_cases(rng).items():
        out = io.BytesIO()
        write_spmatrix_to_sparse_tensor(out, matrix, labels)
        _save(name, out.getvalue(), kind="sparse", array=matrix.toarray(), labels=labels, fmt=matrix.format)


def _save(name: str, output: bytes, *, kind: str, array, labels, fmt: str = "") -> None:
    extra = {} if labels is None else {"labels": labels}
    np.savez(HERE / f"{name}.npz", kind=kind, array=array, format=fmt, **extra)
    (HERE / f"{name}.rec").write_bytes(output)


if __name__ == "__main__":
    main()
