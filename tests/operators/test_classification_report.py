"""ClassificationReportOperator end to end against an S3 endpoint."""

from __future__ import annotations

import io
import json

import boto3
import numpy as np
import pytest

from operators.classification_report import ClassificationReportOperator

BUCKET = "classification-reports"


@pytest.fixture
def s3(aws_connection: str):
    client = boto3.client("s3", endpoint_url=aws_connection, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


def _put_npz(s3, key: str, **arrays: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    s3.put_object(Bucket=BUCKET, Key=key, Body=buffer.getvalue())
    return f"s3://{BUCKET}/{key}"


def _report_objects(s3, prefix: str) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


class _Dag:
    dag_id = "xgboost_mnist"


def test_report_and_metrics_are_written(s3) -> None:
    labels = np.repeat(np.arange(10), 20)
    predictions = labels.copy()
    predictions[:5] = 6  # five zeros taken for sixes
    predictions[20:22] = 7  # two ones taken for sevens
    uri = _put_npz(
        s3,
        "run/predictions.npz",
        images=np.random.default_rng(1).random((200, 784), dtype=np.float32),
        labels=labels,
        predictions=predictions,
        scores=np.random.default_rng(2).random((200, 10)),
    )
    operator = ClassificationReportOperator(
        task_id="accuracy_report",
        predictions_s3_uri=uri,
        report_s3_prefix=f"s3://{BUCKET}/run/report/",
        title="XGBoost on MNIST",
        class_names=[str(digit) for digit in range(10)],
        samples=4,
    )
    result = operator.execute({"run_id": "manual__1", "dag": _Dag()})

    assert result["accuracy"] == pytest.approx(193 / 200)
    assert result["misclassified"] == 7
    assert result["report_s3_uri"] == f"s3://{BUCKET}/run/report/report.html"
    assert result["metrics_s3_uri"] == f"s3://{BUCKET}/run/report/metrics.json"
    document = json.loads(s3.get_object(Bucket=BUCKET, Key="run/report/metrics.json")["Body"].read())
    assert document["accuracy"] == pytest.approx(0.965)
    assert document["records"] == 200
    assert document["confusion_matrix"][0][0] == 15
    assert document["confusion_matrix"][0][6] == 5
    assert document["confusion_matrix"][1][7] == 2
    assert document["per_class"][0]["recall"] == pytest.approx(0.75)
    assert document["per_class"][6]["precision"] == pytest.approx(20 / 25)
    assert document["per_class"][6]["support"] == 20
    assert document["class_names"] == [str(digit) for digit in range(10)]
    assert (document["dag_id"], document["run_id"], document["predictions"]) == (
        "xgboost_mnist",
        "manual__1",
        uri,
    )
    page = s3.get_object(Bucket=BUCKET, Key="run/report/report.html")["Body"].read().decode()
    assert "id='metric-accuracy'>0.965<" in page
    assert "data:image/png;base64," in page


def test_perfect_predictions_have_no_montage(s3) -> None:
    labels = np.array([0, 1, 1, 0])
    uri = _put_npz(
        s3, "perfect/predictions.npz", images=np.zeros((4, 784)), labels=labels, predictions=labels
    )
    operator = ClassificationReportOperator(
        task_id="report",
        predictions_s3_uri=uri,
        report_s3_prefix=f"s3://{BUCKET}/perfect/report",
        class_names=["not a zero", "a zero"],
    )
    result = operator.execute({"run_id": "manual__2"})
    assert result["accuracy"] == 1.0
    page = s3.get_object(Bucket=BUCKET, Key="perfect/report/report.html")["Body"].read().decode()
    assert "No digit was misclassified." in page
    assert "<th>a zero</th>" in page


def test_predictions_without_predictions_fail_naming_what_is_missing(s3) -> None:
    uri = _put_npz(s3, "missing/predictions.npz", images=np.zeros((2, 784)), labels=np.zeros(2))
    operator = ClassificationReportOperator(
        task_id="report", predictions_s3_uri=uri, report_s3_prefix=f"s3://{BUCKET}/missing/report"
    )
    with pytest.raises(ValueError, match=r"lack the arrays \['predictions'\]"):
        operator.execute({"run_id": "manual__1"})
    assert _report_objects(s3, "missing/report") == []


def test_arrays_of_different_lengths_fail_naming_the_lengths(s3) -> None:
    uri = _put_npz(
        s3,
        "ragged/predictions.npz",
        images=np.zeros((3, 784)),
        labels=np.zeros(3),
        predictions=np.zeros(2),
    )
    operator = ClassificationReportOperator(
        task_id="report", predictions_s3_uri=uri, report_s3_prefix=f"s3://{BUCKET}/ragged/report"
    )
    with pytest.raises(ValueError, match=r"different lengths \{'images': 3, 'labels': 3, 'predictions': 2\}"):
        operator.execute({"run_id": "manual__1"})
    assert _report_objects(s3, "ragged/report") == []


def test_predicted_classes_without_a_name_are_rejected(s3) -> None:
    uri = _put_npz(
        s3,
        "unnamed/predictions.npz",
        images=np.zeros((2, 784)),
        labels=np.array([0, 1]),
        predictions=np.array([0, 2]),
    )
    operator = ClassificationReportOperator(
        task_id="report",
        predictions_s3_uri=uri,
        report_s3_prefix=f"s3://{BUCKET}/unnamed/report",
        class_names=["no", "yes"],
    )
    with pytest.raises(ValueError, match=r"Classes \[2\] occur"):
        operator.execute({"run_id": "manual__1"})


def test_a_negative_sample_count_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="samples must be 0 or more, got -1"):
        ClassificationReportOperator(
            task_id="report", predictions_s3_uri="s3://b/p.npz", report_s3_prefix="s3://b/r", samples=-1
        )
