"""Batch transform results read back as the script-mode seed reads them.

The seed's transform input is one CSV file per test digit, ``data-<i>.csv`` (one line of 784 pixels), so
its output ``data-<i>.csv.out`` is the model's whole answer for digit ``i`` of the test split: the JSON
``[[p0, ..., p9]]`` of the framework's default output handler. The notebook reads it with
``ast.literal_eval(output)[0]`` and takes the index of the largest probability.
"""

from __future__ import annotations

import ast
import io
import re
from collections.abc import Iterable

import numpy as np

_DIGIT_FILE = re.compile(r"(?:^|/)data-(\d+)\.csv$")


def predicted_digit(output: bytes) -> int:
    """The digit a ``.out`` answers, as the seed reads it: ``ast.literal_eval(output)[0]``, argmax."""
    text = output.decode("utf-8")
    try:
        probabilities = ast.literal_eval(text)[0]
        return max(range(len(probabilities)), key=probabilities.__getitem__)
    except (ValueError, SyntaxError, TypeError, IndexError, KeyError):
        raise ValueError(f"A transform output is not [[p0, ..., p9]]: {text[:80]!r}") from None


def digit_index(key: str) -> int:
    """Which test digit the input object ``key`` holds: ``.../data-17.csv`` is digit 17."""
    found = _DIGIT_FILE.search(key)
    if found is None:
        raise ValueError(f"{key!r} is not a one-digit input file named data-<i>.csv")
    return int(found.group(1))


def pair_digit_outputs(
    images: np.ndarray, labels: np.ndarray, outputs: Iterable[tuple[str, bytes]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(images, labels, predictions)`` of the digits that ``outputs`` answer, in their order.

    ``outputs`` are ``(input key, .out body)`` pairs; ``data-<i>.csv``'s answer goes with ``images[i]`` and
    ``labels[i]``, the test split's digit ``i``.
    """
    indices, predictions = [], []
    for key, body in outputs:
        index = digit_index(key)
        if index >= len(labels):
            raise ValueError(f"{key} answers digit {index}, but the test split holds {len(labels)} digits")
        indices.append(index)
        predictions.append(predicted_digit(body))
    if not indices:
        raise ValueError("No transform output to read")
    return images[indices], labels[indices], np.asarray(predictions, dtype=np.int64)


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
