"""Small data sets for the algorithm tests."""

from __future__ import annotations

import numpy as np


def blobs(
    rows: int = 600, centres: int = 3, dim: int = 5, seed: int = 7
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Well separated Gaussian blobs: ``(features float32, labels, true centres)``."""
    rng = np.random.default_rng(seed)
    true_centres = rng.uniform(-20, 20, size=(centres, dim))
    labels = rng.integers(0, centres, size=rows)
    features = true_centres[labels] + rng.normal(0, 0.5, size=(rows, dim))
    return features.astype(np.float32), labels, true_centres


def csv_bytes(features: np.ndarray, labels: np.ndarray | None = None) -> bytes:
    """CSV without header; labels (if any) in the first column."""
    table = features if labels is None else np.column_stack([labels, features])
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in table).encode()
