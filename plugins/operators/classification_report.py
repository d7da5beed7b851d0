"""``ClassificationReportOperator``: accuracy and confusion matrix of predictions, as HTML + JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from operators.report import PredictionReportOperator


class ClassificationReportOperator(PredictionReportOperator):
    """Write a classification report of validation predictions to ``<report_s3_prefix>/report.html`` and
    ``<report_s3_prefix>/metrics.json``.

    The predictions are an ``.npz`` object on S3 with the arrays ``images`` (n × 784 pixels), ``labels``
    (true classes) and ``predictions`` (predicted classes), as
    :func:`include.inference.classification.classification_predictions` writes them; a ``scores`` array
    may be present and is ignored. The report holds accuracy, macro F1, per-class precision, recall, F1
    and support, the confusion matrix (rows true, columns predicted) and a montage of misclassified
    digits captioned "true → predicted". ``metrics.json`` holds the same numbers plus the run's dag_id,
    run_id and the predictions URI. The XCom result is the headline metrics plus the S3 URIs of both files.

    :param predictions_s3_uri: ``s3://bucket/key.npz`` of the predictions.
    :param report_s3_prefix: ``s3://bucket/prefix`` under which the report is written.
    :param title: heading of the report.
    :param class_names: a name per class index (``["0", ..., "9"]``, ``["not 0", "0"]``); without it the
        classes are the labels that occur, named by number.
    :param samples: at most this many misclassified digits are drawn.
    :param aws_conn_id: Airflow connection for S3 (its endpoint_url is honoured in local mode).
    """

    template_fields: Sequence[str] = (*PredictionReportOperator.template_fields, "class_names")
    ui_color = "#d8e4f5"
    required_arrays = ("images", "labels", "predictions")

    def __init__(
        self,
        *,
        title: str = "Classification report",
        class_names: Sequence[str] | None = None,
        samples: int = 24,
        **kwargs: Any,
    ):
        super().__init__(title=title, **kwargs)
        if samples < 0:
            raise ValueError(f"samples must be 0 or more, got {samples}")
        self.class_names = class_names
        self.samples = samples

    def report(self, arrays: dict[str, np.ndarray], about: dict[str, str]) -> tuple[dict, str, dict]:
        # scikit-learn and matplotlib load here, not when the dag-processor parses a DAG using this operator.
        from include.reports.classification import classification_metrics, misclassified_indices
        from include.reports.html import classification_report_html
        from include.reports.montage import captioned_montage

        labels, predictions = arrays["labels"], arrays["predictions"]
        class_names = None if self.class_names is None else [str(name) for name in self.class_names]
        metrics = classification_metrics(labels, predictions, class_names)
        montage = None
        shown = misclassified_indices(labels, predictions, self.samples)
        if len(shown):
            name_of = dict(zip(metrics.class_ids, metrics.class_names, strict=True))
            captions = [f"{name_of[int(labels[i])]} → {name_of[int(predictions[i])]}" for i in shown]
            montage = captioned_montage(arrays["images"][shown], captions)
        page = classification_report_html(self.title, metrics, montage, about)
        document = {
            **metrics.summary(),
            "per_class": metrics.per_class(),
            "class_ids": metrics.class_ids,
            "class_names": metrics.class_names,
            "confusion_matrix": metrics.confusion,
        }
        self.log.info(
            "Classification report: accuracy %.4f, macro F1 %.4f, %d of %d records misclassified",
            metrics.accuracy,
            metrics.macro_f1,
            metrics.misclassified,
            metrics.records,
        )
        return metrics.summary(), page, document
