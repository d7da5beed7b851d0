"""The report step: a run's predictions rendered as ``report.html`` and ``metrics.json`` under its prefix."""

from __future__ import annotations

from collections.abc import Sequence

from operators.classification_report import ClassificationReportOperator
from operators.clustering_report import ClusteringReportOperator


def clustering_report(run, predictions, title: str) -> ClusteringReportOperator:
    """The ``clustering_report`` task: purity, NMI, ARI and the cluster × digit table of ``predictions``
    (the ``.npz`` URI ``validate`` returns), titled ``title`` (a template)."""
    return ClusteringReportOperator(
        task_id="clustering_report",
        predictions_s3_uri=predictions,
        report_s3_prefix=run["report_prefix"],
        title=title,
    )


def classification_report(
    run, predictions, title: str, class_names: Sequence[str], task_id: str = "classification_report"
) -> ClassificationReportOperator:
    """The ``classification_report`` task (or ``task_id``): accuracy, per-class precision, recall and F1
    and the confusion matrix of ``predictions`` over ``class_names``, titled ``title`` (a template)."""
    return ClassificationReportOperator(
        task_id=task_id,
        predictions_s3_uri=predictions,
        report_s3_prefix=run["report_prefix"],
        title=title,
        class_names=list(class_names),
    )
