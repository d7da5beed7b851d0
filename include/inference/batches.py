"""Send a matrix to an endpoint as CSV requests and collect the JSON predictions in order."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import numpy as np

# SageMaker rejects InvokeEndpoint bodies above 6 MB; stay well below it whatever the row width.
MAX_REQUEST_BYTES = 5 * 1024 * 1024


def csv_body(rows: np.ndarray) -> bytes:
    """Rows as headerless CSV, the ``text/csv`` request format of the built-in algorithms."""
    buffer = io.StringIO()
    np.savetxt(buffer, np.atleast_2d(rows), delimiter=",", fmt="%.9g")
    return buffer.getvalue().encode()


def _batches(features: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(features), batch_size):
        yield features[start : start + batch_size]


def predict(runtime_client, endpoint_name: str, features: np.ndarray, batch_size: int = 500) -> list[dict]:
    """Predictions of ``endpoint_name`` for every row of ``features``, in row order.

    ``runtime_client`` is a boto3 ``sagemaker-runtime`` client (in DAGs, the one of
    ``AwsBaseHook(client_type="sagemaker-runtime")`` so the connection's endpoint is honoured).
    """
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2:
        raise ValueError(f"Features must be a 2-D matrix, got shape {features.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    predictions: list[dict] = []
    for batch in _batches(features, batch_size):
        body = csv_body(batch)
        if len(body) > MAX_REQUEST_BYTES:
            raise ValueError(
                f"A batch of {len(batch)} rows is {len(body)} bytes as CSV, above the "
                f"{MAX_REQUEST_BYTES}-byte request limit; lower batch_size"
            )
        response = runtime_client.invoke_endpoint(
            EndpointName=endpoint_name, ContentType="text/csv", Accept="application/json", Body=body
        )
        answer = json.loads(response["Body"].read())
        batch_predictions = answer.get("predictions")
        if batch_predictions is None or len(batch_predictions) != len(batch):
            raise ValueError(
                f"Endpoint {endpoint_name} answered {len(batch_predictions or [])} predictions "
                f"for {len(batch)} rows"
            )
        predictions.extend(batch_predictions)
    return predictions
