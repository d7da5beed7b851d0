"""``write_spmatrix_to_sparse_tensor``: the SDK's sparse writer (one ``Record`` per CSR row).

Each row's non-zeros are ``values``, their column indices ``keys`` and the column count ``shape``, exactly as
the SDK writes them. Rows are encoded by the protobuf library itself; sparse input is rarely large enough
for the per-row loop to matter, and the writer buffers rows so the file sees few large writes.
"""

from __future__ import annotations

import os
from typing import BinaryIO

import numpy as np
import scipy.sparse

from include.recordio.framing import frame, open_binary
from include.recordio.schema import Record
from include.recordio.tensor_types import resolve_tensor_kind

_ROWS_PER_WRITE = 4096


def write_spmatrix_to_sparse_tensor(
    file: BinaryIO | str | os.PathLike, array, labels: np.ndarray | None = None
) -> None:
    """Write a scipy sparse matrix (and optional 1-D labels) as recordIO-wrapped sparse ``Record``\\ s.

    A drop-in replacement for ``sagemaker.amazon.common.write_spmatrix_to_sparse_tensor``: any scipy sparse
    format is accepted and read in CSR order; dtype rules, error messages and output bytes are the SDK's.
    ``file`` is a binary file object (or a path).
    """
    if not scipy.sparse.issparse(array):
        raise TypeError("Array must be sparse")
    if len(array.shape) != 2:
        raise ValueError("Array must be a Matrix")
    label_kind = None
    if labels is not None:
        if len(labels.shape) != 1:
            raise ValueError("Labels must be a Vector")
        if labels.shape[0] not in array.shape:
            raise ValueError(f"Label shape {labels.shape} not compatible with array shape {array.shape}")
        label_kind = resolve_tensor_kind(labels.dtype)
    feature_kind = resolve_tensor_kind(array.dtype)

    csr = scipy.sparse.csr_matrix(array)
    n_rows, n_cols = csr.shape
    record = Record()
    with open_binary(file, "wb") as out:
        pending = []
        for row in range(n_rows):
            record.Clear()
            start, stop = csr.indptr[row], csr.indptr[row + 1]
            tensor = getattr(record.features["values"], feature_kind.field)
            tensor.values.extend(csr.data[start:stop])
            tensor.keys.extend(csr.indices[start:stop].astype(np.uint64))
            if labels is not None:
                getattr(record.label["values"], label_kind.field).values.extend([labels[row]])
            tensor.shape.extend([n_cols])
            pending.append(frame(record.SerializeToString()))
            if len(pending) == _ROWS_PER_WRITE:
                out.write(b"".join(pending))
                pending.clear()
        out.write(b"".join(pending))
