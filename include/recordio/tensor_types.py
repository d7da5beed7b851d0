"""Which protobuf tensor a numpy dtype becomes: the SageMaker SDK's ``_resolve_type`` rules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TensorKind:
    """One of the ``Value`` oneof tensors and how its ``values`` are laid out on the wire."""

    name: str  # the SDK's name for it: "Int32", "Float64", "Float32"
    field: str  # the ``Value`` oneof member, e.g. "float32_tensor"
    tag: int  # the tag byte of that member inside ``Value``
    wire_dtype: np.dtype  # the dtype the values are encoded from and decoded to
    fixed_width: bool  # packed fixed-width floats (False: packed varints)


INT32 = TensorKind("Int32", "int32_tensor", 0x3A, np.dtype("<i4"), fixed_width=False)
FLOAT64 = TensorKind("Float64", "float64_tensor", 0x1A, np.dtype("<f8"), fixed_width=True)
FLOAT32 = TensorKind("Float32", "float32_tensor", 0x12, np.dtype("<f4"), fixed_width=True)
KINDS_BY_FIELD = {kind.field: kind for kind in (INT32, FLOAT64, FLOAT32)}


def resolve_tensor_kind(dtype: np.dtype) -> TensorKind:
    """The tensor an array of ``dtype`` is written as, exactly as the SDK decides it.

    ``np.dtype(int)`` (int64 on Linux and macOS) becomes an Int32Tensor, ``np.dtype(float)`` a Float64Tensor,
    float32 a Float32Tensor; every other dtype (int32, float16, bool, big-endian floats ...) is refused.
    """
    if dtype == np.dtype(int):
        return INT32
    if dtype == np.dtype(float):
        return FLOAT64
    if dtype == np.dtype("float32"):
        return FLOAT32
    raise ValueError(f"Unsupported dtype {dtype} on array")
