"""ClusteringReportOperator end to end against an S3 endpoint."""

from __future__ import annotations

import io
import json

import boto3
import numpy as np
import pytest

from operators.clustering_report import ClusteringReportOperator


@pytest.fixture
def s3(aws_connection: str):
    client = boto3.client("s3", endpoint_url=aws_connection, region_name="us-east-1")
    client.create_bucket(Bucket="reports")
    return client


def _put_npz(s3, key: str, **arrays: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    s3.put_object(Bucket="reports", Key=key, Body=buffer.getvalue())
    return f"s3://reports/{key}"


def test_report_and_metrics_are_written(s3) -> None:
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(10), 20)
    clusters = labels.copy()
    clusters[:20] = 3  # the zeros land in cluster 3: purity drops to 0.9
    uri = _put_npz(
        s3,
        "run/predictions.npz",
        images=rng.random((200, 784)),
        labels=labels,
        clusters=clusters,
        distances=rng.random(200),
    )
    operator = ClusteringReportOperator(
        task_id="report", predictions_s3_uri=uri, report_s3_prefix="s3://reports/run/report"
    )
    result = operator.execute({"run_id": "manual__1"})

    assert result["purity"] == pytest.approx(0.9)
    assert result["report_s3_uri"] == "s3://reports/run/report/report.html"
    document = json.loads(s3.get_object(Bucket="reports", Key="run/report/metrics.json")["Body"].read())
    assert document["purity"] == pytest.approx(0.9)
    assert document["cluster_sizes"]["3"] == 40
    page = s3.get_object(Bucket="reports", Key="run/report/report.html")["Body"].read().decode()
    assert "data:image/png;base64," in page


def test_predictions_without_clusters_fail_naming_what_is_missing(s3) -> None:
    uri = _put_npz(s3, "bad/predictions.npz", images=np.zeros((2, 784)), labels=np.zeros(2))
    operator = ClusteringReportOperator(
        task_id="report", predictions_s3_uri=uri, report_s3_prefix="s3://reports/bad/report"
    )
    with pytest.raises(ValueError, match=r"lack the arrays \['clusters'\]"):
        operator.execute({"run_id": "manual__1"})
    assert "Contents" not in s3.list_objects_v2(Bucket="reports", Prefix="bad/report")
