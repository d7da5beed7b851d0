"""``ClusteringReportOperator``: how well an endpoint's clusters match the true digits, as HTML + JSON."""

from __future__ import annotations

from typing import Any

import numpy as np

from operators.report import PredictionReportOperator


class ClusteringReportOperator(PredictionReportOperator):
    """Write a clustering report of validation predictions to ``<report_s3_prefix>/report.html`` and
    ``<report_s3_prefix>/metrics.json``.

    The predictions are an ``.npz`` object on S3 with the arrays ``images`` (n × 784 pixels), ``labels``
    (true digits), ``clusters`` (the assigned cluster of each image, e.g. an endpoint's
    ``closest_cluster``) and, optionally, ``distances`` (``distance_to_cluster``). The report holds a
    montage of sample digits per cluster, cluster sizes, the cluster × label contingency table, purity,
    NMI, ARI and mean distance to cluster. The XCom result is the headline metrics plus the S3 URIs of
    both files.

    :param predictions_s3_uri: ``s3://bucket/key.npz`` of the predictions.
    :param report_s3_prefix: ``s3://bucket/prefix`` under which the report is written.
    :param title: heading of the report.
    :param samples_per_cluster: at most this many digits are drawn per cluster.
    :param aws_conn_id: Airflow connection for S3 (its endpoint_url is honoured in local mode).
    """

    ui_color = "#f5e6c8"
    required_arrays = ("images", "labels", "clusters")
    optional_arrays = ("distances",)

    def __init__(self, *, title: str = "Clustering report", samples_per_cluster: int = 12, **kwargs: Any):
        super().__init__(title=title, **kwargs)
        if samples_per_cluster < 1:
            raise ValueError(f"samples_per_cluster must be at least 1, got {samples_per_cluster}")
        self.samples_per_cluster = samples_per_cluster

    def report(self, arrays: dict[str, np.ndarray], about: dict[str, str]) -> tuple[dict, str, dict]:
        # scikit-learn and matplotlib load here, not when the dag-processor parses a DAG using this operator.
        from include.reports.clustering import clustering_metrics
        from include.reports.html import clustering_report_html
        from include.reports.montage import cluster_montage

        metrics = clustering_metrics(arrays["clusters"], arrays["labels"], arrays.get("distances"))
        montage = cluster_montage(arrays["images"], arrays["clusters"], self.samples_per_cluster)
        page = clustering_report_html(self.title, metrics, montage, about)
        document = {
            **metrics.summary(),
            "cluster_sizes": metrics.cluster_sizes,
            "contingency": metrics.contingency,
            "cluster_ids": metrics.cluster_ids,
            "label_ids": metrics.label_ids,
        }
        self.log.info(
            "Clustering report: purity %.3f, NMI %.3f, ARI %.3f over %d records",
            metrics.purity,
            metrics.nmi,
            metrics.ari,
            metrics.records,
        )
        return metrics.summary(), page, document
