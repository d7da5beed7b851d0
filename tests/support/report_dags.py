"""Small DAGs whose runs leave real reports behind: a task writes predictions to S3 and
ClusteringReportOperator turns them into ``report.html`` + ``metrics.json``, as kmeans_mnist does."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

BUCKET = "reports-ui-test"
# reports_ui_alpha runs ClusteringReportOperator; reports_ui_beta a plain task with the same XCom shape.
TEST_DAG_IDS = ("reports_ui_alpha", "reports_ui_beta")
REPORT_TASKS = {"reports_ui_alpha": "clustering_report", "reports_ui_beta": "summary_report"}
DAG_FILES = Path(__file__).resolve().parents[1] / "ui" / "dag_files"


def bundle_config() -> str:
    """``[dag_processor] dag_bundle_config_list`` with the test DAGs as the only bundle: ``dag.test()``
    runs only DAGs that a bundle holds."""
    return json.dumps(
        [
            {
                "name": "reports-ui-tests",
                "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": str(DAG_FILES)},
            }
        ]
    )


def load_test_dag(dag_id: str):
    """``dag_id`` as parsed from the test bundle, failing on any import error."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILES))
    assert not bag.import_errors, bag.import_errors
    return bag.dags[dag_id]


def predictions_npz(records: int = 200, seed: int = 7) -> bytes:
    """Ten digit classes whose clusters match them except for one class (purity 0.9)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), records // 10)
    clusters = labels.copy()
    clusters[: records // 10] = 3
    buffer = io.BytesIO()
    np.savez(
        buffer,
        images=rng.random((len(labels), 784)),
        labels=labels,
        clusters=clusters,
        distances=rng.random(len(labels)),
    )
    return buffer.getvalue()


def clustering_report_dag(dag_id: str):
    """``predictions`` (to S3) >> ``clustering_report`` (ClusteringReportOperator, as in kmeans_mnist)."""
    from airflow.sdk import DAG, task

    from operators.clustering_report import ClusteringReportOperator

    with DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:

        @task
        def predictions(dag_run=None) -> str:
            key = f"{dag_run.dag_id}/{dag_run.run_id}/predictions.npz"
            _put(key, predictions_npz())
            return f"s3://{BUCKET}/{key}"

        ClusteringReportOperator(
            task_id="clustering_report",
            predictions_s3_uri=predictions(),
            report_s3_prefix=f"s3://{BUCKET}/{{{{ dag.dag_id }}}}/{{{{ run_id }}}}/report",
            title="Test clustering — {{ run_id }}",
            samples_per_cluster=2,
        )
    return dag


def plain_report_dag(dag_id: str):
    """One task that writes a small report itself and returns the report operators' XCom shape."""
    from airflow.sdk import DAG, task

    with DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:

        @task
        def summary_report(dag_run=None) -> dict:
            prefix = f"{dag_run.dag_id}/{dag_run.run_id}/report"
            _put(f"{prefix}/report.html", b"<!DOCTYPE html><html><body><h1>Summary</h1></body></html>")
            _put(f"{prefix}/metrics.json", json.dumps({"accuracy": 0.5}).encode())
            return {
                "accuracy": 0.5,
                "report_s3_uri": f"s3://{BUCKET}/{prefix}/report.html",
                "metrics_s3_uri": f"s3://{BUCKET}/{prefix}/metrics.json",
            }

        summary_report()
    return dag


def _put(key: str, body: bytes) -> None:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    hook = S3Hook()
    if not hook.check_for_bucket(BUCKET):
        hook.create_bucket(BUCKET)
    hook.load_bytes(body, key, BUCKET, replace=True)
