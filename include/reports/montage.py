"""Digits drawn as one PNG, as the seed notebooks show them: per cluster, or with captions."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display on workers
import matplotlib.pyplot as plt
import numpy as np


def cluster_montage(images: np.ndarray, clusters: np.ndarray, per_cluster: int = 12, side: int = 28) -> bytes:
    """A PNG with one row per cluster and up to ``per_cluster`` of its images (flattened ``side``²)."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 2 or images.shape[1] != side * side:
        raise ValueError(f"Images must be an (n, {side * side}) array, got shape {images.shape}")
    cluster_ids = sorted(int(c) for c in np.unique(clusters))
    figure, axes = plt.subplots(
        len(cluster_ids),
        per_cluster + 1,
        figsize=((per_cluster + 1) * 0.6, len(cluster_ids) * 0.62),
        squeeze=False,
    )
    for row, cluster in enumerate(cluster_ids):
        members = np.flatnonzero(clusters == cluster)[:per_cluster]
        axes[row, 0].text(0.5, 0.5, f"{cluster}", ha="center", va="center", fontsize=11)
        for column in range(per_cluster + 1):
            axes[row, column].axis("off")
        for column, index in enumerate(members, start=1):
            axes[row, column].imshow(images[index].reshape(side, side), cmap="gray_r", interpolation="none")
    figure.subplots_adjust(wspace=0.05, hspace=0.05, left=0.01, right=0.99, top=0.99, bottom=0.01)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    return buffer.getvalue()


def captioned_montage(images: np.ndarray, captions: list[str], columns: int = 8, side: int = 28) -> bytes:
    """A PNG grid of ``images`` (flattened ``side``²), each with its caption above it, ``columns`` a row."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 2 or images.shape[1] != side * side:
        raise ValueError(f"Images must be an (n, {side * side}) array, got shape {images.shape}")
    if len(captions) != len(images):
        raise ValueError(f"{len(images)} images but {len(captions)} captions")
    if len(images) == 0:
        raise ValueError("No images to draw")
    if columns < 1:
        raise ValueError(f"columns must be at least 1, got {columns}")
    rows = -(-len(images) // columns)
    columns = min(columns, len(images))
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 1.0, rows * 1.2), squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    for index, (image, caption) in enumerate(zip(images, captions, strict=True)):
        axis = axes[index // columns, index % columns]
        axis.imshow(image.reshape(side, side), cmap="gray_r", interpolation="none")
        axis.set_title(caption, fontsize=10, pad=2)
    figure.subplots_adjust(wspace=0.1, hspace=0.45, left=0.01, right=0.99, top=0.93, bottom=0.01)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    return buffer.getvalue()
