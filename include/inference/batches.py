"""Send a matrix to an endpoint in request-sized batches and collect the answers in row order."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

# SageMaker rejects InvokeEndpoint bodies above 6 MB; stay well below it whatever the row width.
MAX_REQUEST_BYTES = 5 * 1024 * 1024
CSV = "text/csv"
LIBSVM = "text/libsvm"
JSON = "application/json"


def csv_body(rows: np.ndarray) -> bytes:
    """Rows as headerless CSV, the ``text/csv`` request format of the built-in algorithms."""
    buffer = io.StringIO()
    np.savetxt(buffer, np.atleast_2d(rows), delimiter=",", fmt="%.9g")
    return buffer.getvalue().encode()


def libsvm_body(rows: np.ndarray) -> bytes:
    """Rows as libsvm lines ``0 index:value ...`` with 1-based indices and zeros left out.

    This is how MnistToS3Operator writes libsvm, so a model trained on those files sees the same columns
    (and the same missing values) at inference. The leading ``0`` is a placeholder label: XGBoost's libsvm
    parser takes the first token of a line as the label, so without it the first pixel would be lost.
    """
    lines = []
    for row in np.atleast_2d(rows):
        (columns,) = np.nonzero(row)
        entries = " ".join(f"{column + 1}:{row[column]:.9g}" for column in columns)
        lines.append(f"0 {entries}".rstrip())
    return ("\n".join(lines) + "\n").encode()


REQUEST_ENCODERS: dict[str, Callable[[np.ndarray], bytes]] = {CSV: csv_body, LIBSVM: libsvm_body}


@dataclass(frozen=True)
class BatchAnswer:
    """One InvokeEndpoint answer: how many rows were sent, the raw body and its content type."""

    rows: int
    body: bytes
    content_type: str


def _batches(features: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(features), batch_size):
        yield features[start : start + batch_size]


def invoke_in_batches(
    runtime_client,
    endpoint_name: str,
    features: np.ndarray,
    *,
    batch_size: int = 500,
    content_type: str = CSV,
    accept: str | None = JSON,
) -> Iterator[BatchAnswer]:
    """Send ``features`` to ``endpoint_name`` ``batch_size`` rows at a time; yield each answer in order.

    ``content_type`` is ``text/csv`` or ``text/libsvm``. With ``accept=None`` no Accept header is sent and
    each algorithm answers in its default type (CSV for XGBoost, JSON for Linear Learner); the answer's
    ``content_type`` tells which.
    """
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2:
        raise ValueError(f"Features must be a 2-D matrix, got shape {features.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if content_type not in REQUEST_ENCODERS:
        raise ValueError(f"content_type {content_type!r} must be one of {sorted(REQUEST_ENCODERS)}")
    encode = REQUEST_ENCODERS[content_type]
    for batch in _batches(features, batch_size):
        body = encode(batch)
        if len(body) > MAX_REQUEST_BYTES:
            raise ValueError(
                f"A batch of {len(batch)} rows is {len(body)} bytes as {content_type}, above the "
                f"{MAX_REQUEST_BYTES}-byte request limit; lower batch_size"
            )
        headers = {"Accept": accept} if accept else {}
        response = runtime_client.invoke_endpoint(
            EndpointName=endpoint_name, ContentType=content_type, Body=body, **headers
        )
        answer_type = response.get("ContentType") or accept or ""
        yield BatchAnswer(rows=len(batch), body=response["Body"].read(), content_type=answer_type)


def predict(runtime_client, endpoint_name: str, features: np.ndarray, batch_size: int = 500) -> list[dict]:
    """JSON predictions of ``endpoint_name`` for every row of ``features``, in row order.

    ``runtime_client`` is a boto3 ``sagemaker-runtime`` client (in DAGs, the one of
    ``AwsBaseHook(client_type="sagemaker-runtime")`` so the connection's endpoint is honoured).
    """
    predictions: list[dict] = []
    for answer in invoke_in_batches(runtime_client, endpoint_name, features, batch_size=batch_size):
        batch_predictions = json.loads(answer.body).get("predictions")
        if batch_predictions is None or len(batch_predictions) != answer.rows:
            raise ValueError(
                f"Endpoint {endpoint_name} answered {len(batch_predictions or [])} predictions "
                f"for {answer.rows} rows"
            )
        predictions.extend(batch_predictions)
    return predictions
