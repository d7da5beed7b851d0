"""Validation inference of a clustering endpoint: the arrays a clustering report is built from."""

from __future__ import annotations

import io
from collections.abc import Iterable

import numpy as np

from include.inference.batches import predict
from include.recordio import read_dense


def read_recordio_objects(bodies: Iterable[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of recordIO-protobuf objects, concatenated in order."""
    features, labels = [], []
    for body in bodies:
        matrix, vector = read_dense(io.BytesIO(body))
        if vector is None:
            raise ValueError("Validation data must carry labels; a recordIO object has none")
        features.append(matrix)
        labels.append(vector)
    if not features:
        raise ValueError("No validation data objects were given")
    return np.concatenate(features), np.concatenate(labels)


def cluster_predictions(
    runtime_client,
    endpoint_name: str,
    features: np.ndarray,
    labels: np.ndarray,
    *,
    images: np.ndarray | None = None,
) -> bytes:
    """Each row's cluster from the endpoint, as an ``.npz`` of images, labels, clusters, distances.

    ``images`` are the digits the report shows, one per row; they default to ``features``, and differ
    when the endpoint clusters a transformed representation (PCA projections, say) of the digits.
    """
    images = features if images is None else images
    if len(images) != len(features):
        raise ValueError(f"Got {len(images)} images for {len(features)} rows of features; give one per row")
    predictions = predict(runtime_client, endpoint_name, features)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        images=np.asarray(images, dtype=np.float32),
        labels=np.asarray(labels).astype(np.int64),
        clusters=np.array([p["closest_cluster"] for p in predictions]).astype(np.int64),
        distances=np.array([p["distance_to_cluster"] for p in predictions], dtype=np.float64),
    )
    return buffer.getvalue()
