from __future__ import annotations

import io
import json

import numpy as np
import pytest

from include.inference.batches import csv_body, predict


class RecordingRuntime:
    """Stands in for sagemaker-runtime: answers one prediction per CSV line, like k-means."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def invoke_endpoint(self, EndpointName, ContentType, Accept, Body):
        assert ContentType == "text/csv"
        self.bodies.append(Body)
        rows = np.loadtxt(io.BytesIO(Body), delimiter=",", ndmin=2)
        answer = {"predictions": [{"closest_cluster": float(row[0])} for row in rows]}
        return {"Body": io.BytesIO(json.dumps(answer).encode())}


def test_predictions_come_back_in_row_order_across_batches() -> None:
    features = np.arange(23 * 3, dtype=np.float32).reshape(23, 3)
    runtime = RecordingRuntime()
    predictions = predict(runtime, "ep", features, batch_size=5)
    assert [p["closest_cluster"] for p in predictions] == features[:, 0].tolist()
    assert len(runtime.bodies) == 5


def test_csv_body_keeps_float32_values_exactly() -> None:
    rows = np.array([[0.1, 1e-7, 123456.78]], dtype=np.float32)
    parsed = np.loadtxt(io.BytesIO(csv_body(rows)), delimiter=",", dtype=np.float32, ndmin=2)
    assert np.array_equal(parsed, rows)


def test_oversized_batches_are_refused_before_sending() -> None:
    runtime = RecordingRuntime()
    with pytest.raises(ValueError, match="lower batch_size"):
        predict(runtime, "ep", np.full((2000, 784), 0.123456789, dtype=np.float32), batch_size=2000)
    assert runtime.bodies == []
