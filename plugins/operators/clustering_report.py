"""``ClusteringReportOperator``: how well an endpoint's clusters match the true digits, as HTML + JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from operators.report_files import read_prediction_arrays, run_context, write_report_files
from operators.report_link import ReportLink

PREDICTION_ARRAYS = ("images", "labels", "clusters", "distances")


class ClusteringReportOperator(AwsBaseOperator[S3Hook]):
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
    :param aws_conn_id: Airflow connection for S3 (its endpoint_url is honoured in local mode).
    """

    aws_hook_class = S3Hook
    template_fields: Sequence[str] = aws_template_fields("predictions_s3_uri", "report_s3_prefix", "title")
    ui_color = "#f5e6c8"
    operator_extra_links = (ReportLink(),)

    def __init__(
        self,
        *,
        predictions_s3_uri: str,
        report_s3_prefix: str,
        title: str = "Clustering report",
        samples_per_cluster: int = 12,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.predictions_s3_uri = predictions_s3_uri
        self.report_s3_prefix = report_s3_prefix
        self.title = title
        if samples_per_cluster < 1:
            raise ValueError(f"samples_per_cluster must be at least 1, got {samples_per_cluster}")
        self.samples_per_cluster = samples_per_cluster

    def execute(self, context: Any) -> dict:
        # scikit-learn and matplotlib load here, not when the dag-processor parses a DAG using this operator.
        from include.reports.clustering import clustering_metrics
        from include.reports.html import clustering_report_html
        from include.reports.montage import cluster_montage

        arrays = read_prediction_arrays(
            self.hook, self.predictions_s3_uri, PREDICTION_ARRAYS[:3], optional=PREDICTION_ARRAYS[3:]
        )
        metrics = clustering_metrics(arrays["clusters"], arrays["labels"], arrays.get("distances"))
        montage = cluster_montage(arrays["images"], arrays["clusters"], self.samples_per_cluster)
        about = run_context(context, self.predictions_s3_uri)
        page = clustering_report_html(self.title, metrics, montage, about)
        document = {
            **metrics.summary(),
            "cluster_sizes": metrics.cluster_sizes,
            "contingency": metrics.contingency,
            "cluster_ids": metrics.cluster_ids,
            "label_ids": metrics.label_ids,
            **about,
        }
        locations = write_report_files(self.hook, self.report_s3_prefix, page, document)
        self.log.info(
            "Clustering report: purity %.3f, NMI %.3f, ARI %.3f over %d records",
            metrics.purity,
            metrics.nmi,
            metrics.ari,
            metrics.records,
        )
        return {**metrics.summary(), **locations}
