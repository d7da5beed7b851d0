"""Batch transform results read back: predicted labels paired, in order, with the true labels.

A transform with ``SplitType=Line`` and ``AssembleWith=Line`` over CSV answers one line per record (the
first cell is the predicted label) in the order of the records, in one ``.out`` object per input object.
The inputs are the features-only copy of a label-first CSV split, so each ``.out`` is paired with the
labelled object of the same shard.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import numpy as np
import pandas as pd


def read_labelled_csv(body: bytes) -> tuple[np.ndarray, np.ndarray]:
    """``(features float32, labels int64)`` of headerless CSV rows ``label,feature,...``."""
    if not body.strip():
        raise ValueError("A labelled CSV object is empty")
    rows = pd.read_csv(io.BytesIO(body), header=None, dtype=np.float32).to_numpy()
    if rows.shape[1] < 2:
        raise ValueError(f"Labelled CSV rows need a label and features; got {rows.shape[1]} column(s)")
    return rows[:, 1:], rows[:, 0].astype(np.int64)


def read_predicted_labels(body: bytes) -> np.ndarray:
    """The label on each non-blank line of a transform output (its first CSV cell), as int64."""
    labels = []
    for number, line in enumerate(body.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        cell = line.split(",", 1)[0].strip()
        try:
            value = float(cell)
        except ValueError:
            raise ValueError(f"Line {number} of the transform output is not a label: {line[:80]!r}") from None
        if not value.is_integer():
            raise ValueError(f"Line {number} of the transform output is not a whole label: {cell!r}")
        labels.append(int(value))
    return np.asarray(labels, dtype=np.int64)


def pair_transform_output(
    labelled: Iterable[tuple[str, bytes]], outputs: Iterable[tuple[str, bytes]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(images, labels, predictions)`` from labelled CSV objects and their ``.out`` objects, in order.

    Both arguments are ``(name, body)`` pairs, the i-th output being the result of the i-th labelled
    object's features; a count that differs names both objects.
    """
    labelled, outputs = list(labelled), list(outputs)
    if len(labelled) != len(outputs):
        raise ValueError(
            f"{len(labelled)} labelled objects but {len(outputs)} transform outputs: "
            f"{[name for name, _ in labelled]} vs {[name for name, _ in outputs]}"
        )
    if not labelled:
        raise ValueError("No transform output to read")
    images, labels, predictions = [], [], []
    for (data_name, data), (output_name, output) in zip(labelled, outputs, strict=True):
        features, truth = read_labelled_csv(data)
        predicted = read_predicted_labels(output)
        if len(predicted) != len(truth):
            raise ValueError(
                f"{output_name} holds {len(predicted)} predictions for the "
                f"{len(truth)} records of {data_name}"
            )
        images.append(features)
        labels.append(truth)
        predictions.append(predicted)
    return np.concatenate(images), np.concatenate(labels), np.concatenate(predictions)


def predictions_npz(images: np.ndarray, labels: np.ndarray, predictions: np.ndarray) -> bytes:
    """The ``.npz`` a classification report reads: ``images``, ``labels`` and ``predictions``."""
    if not len(images) == len(labels) == len(predictions):
        raise ValueError(
            f"{len(images)} images, {len(labels)} labels and {len(predictions)} predictions must be as many"
        )
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        images=np.asarray(images, dtype=np.float32),
        labels=np.asarray(labels).astype(np.int64),
        predictions=np.asarray(predictions).astype(np.int64),
    )
    return buffer.getvalue()
