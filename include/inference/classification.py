"""Validation inference of a classifier endpoint: the arrays a classification report is built from.

Two answer shapes are read, whichever the endpoint sends (told apart by the answer's content type):

* ``text/csv`` (XGBoost's default): one line per record, either one number (the class index of
  ``multi:softmax``, or a probability / score that ``threshold`` turns into 0 or 1) or a comma-separated
  probability vector (``multi:softprob``), whose argmax is the class;
* ``application/json`` (Linear Learner's default; XGBoost's too when asked): ``{"predictions": [{...}]}``
  where a record has ``predicted_label`` and ``score`` (Linear Learner) or only ``score`` (XGBoost, read
  as a CSV value is). ``application/jsonlines`` carries the same records one per line.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable

import numpy as np

from include.inference.batches import CSV, BatchAnswer, invoke_in_batches

FEATURE_DIM = 784


def read_libsvm_objects(
    bodies: Iterable[bytes], n_features: int = FEATURE_DIM
) -> tuple[np.ndarray, np.ndarray]:
    """Dense features and labels of libsvm objects (1-based indices, as MnistToS3Operator writes them)."""
    from sklearn.datasets import load_svmlight_file  # loads when a task runs, not when a DAG is parsed

    features, labels = [], []
    for number, body in enumerate(bodies):
        try:
            matrix, vector = load_svmlight_file(io.BytesIO(body), n_features=n_features, zero_based=False)
        except ValueError as error:
            raise ValueError(f"libsvm object {number} is not {n_features}-feature libsvm: {error}") from None
        features.append(matrix.toarray().astype(np.float32))
        labels.append(vector.astype(np.int64))
    if not features:
        raise ValueError("No validation data objects were given")
    return np.concatenate(features), np.concatenate(labels)


def classification_predictions(
    runtime_client,
    endpoint_name: str,
    features: np.ndarray,
    labels: np.ndarray,
    *,
    batch_size: int = 500,
    content_type: str = CSV,
    threshold: float | None = None,
) -> bytes:
    """Each row's predicted class from the endpoint, as an ``.npz`` of images, labels, predictions
    and (when the endpoint answers them) scores.

    ``content_type`` is the request format: ``text/csv``, or ``text/libsvm`` for an XGBoost model trained
    on libsvm (its columns are 1-based and zero pixels are missing, which CSV cannot express). No Accept
    header is sent, so each algorithm answers in its default shape. ``threshold`` turns one-number scores
    (XGBoost ``binary:logistic``) into 0/1 labels; without it such a number must be a class index.
    """
    features = np.asarray(features, dtype=np.float32)
    labels = np.asarray(labels).astype(np.int64).ravel()
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(f"{len(features)} feature rows (shape {features.shape}) but {len(labels)} labels")
    if len(labels) == 0:
        raise ValueError("No records to validate")
    predictions, scores = [], []
    answers = invoke_in_batches(
        runtime_client, endpoint_name, features, batch_size=batch_size, content_type=content_type, accept=None
    )
    for answer in answers:
        batch_predictions, batch_scores = parse_answer(answer, threshold)
        if len(batch_predictions) != answer.rows:
            raise ValueError(
                f"Endpoint {endpoint_name} answered {len(batch_predictions)} predictions "
                f"for {answer.rows} rows"
            )
        predictions.extend(batch_predictions)
        scores.extend(batch_scores)
    arrays = {
        "images": features,
        "labels": labels,
        "predictions": np.asarray(predictions, dtype=np.int64),
    }
    if scores and all(score is not None for score in scores):
        arrays["scores"] = _score_array(scores)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def parse_answer(answer: BatchAnswer, threshold: float | None = None) -> tuple[list[int], list]:
    """Predicted classes and scores (None where the answer has none) of one endpoint answer."""
    media_type = answer.content_type.split(";")[0].strip().lower()
    text = answer.body.decode("utf-8")
    if media_type == "text/csv":
        records = [_csv_record(line) for line in text.splitlines() if line.strip()]
    elif media_type == "application/json":
        records = _json_records(json.loads(text))
    elif media_type == "application/jsonlines":
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        raise ValueError(
            f"Cannot read predictions answered as {answer.content_type!r}; expected text/csv, "
            "application/json or application/jsonlines"
        )
    parsed = [_record_prediction(record, threshold) for record in records]
    return [label for label, _ in parsed], [score for _, score in parsed]


def _csv_record(line: str) -> dict:
    values = [float(cell) for cell in line.split(",")]
    return {"score": values[0] if len(values) == 1 else values}


def _json_records(document) -> list[dict]:
    if not isinstance(document, dict) or not isinstance(document.get("predictions"), list):
        raise ValueError(f'A JSON answer must be {{"predictions": [...]}}, got {str(document)[:200]}')
    return document["predictions"]


def _record_prediction(record: dict, threshold: float | None) -> tuple[int, float | list[float] | None]:
    if not isinstance(record, dict) or ("predicted_label" not in record and "score" not in record):
        raise ValueError(f"A prediction needs predicted_label or score, got {str(record)[:200]}")
    score = record.get("score")
    if "predicted_label" in record:
        return int(record["predicted_label"]), score
    if isinstance(score, list):
        return int(np.argmax(score)), score
    score = float(score)
    if threshold is not None:
        return int(score >= threshold), score
    if not score.is_integer():
        raise ValueError(
            f"Prediction {score} is a score, not a class index; pass threshold= to turn scores into labels"
        )
    return int(score), None


def _score_array(scores: list) -> np.ndarray:
    widths = {len(score) if isinstance(score, list) else 0 for score in scores}
    if len(widths) > 1:
        raise ValueError(f"Scores of different lengths {sorted(widths)} in one set of predictions")
    return np.asarray(scores, dtype=np.float64)
