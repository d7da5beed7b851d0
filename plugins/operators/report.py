"""The report operators' base: ``ReportOperator`` (an S3 operator whose task has a "Report" button) and
``PredictionReportOperator`` (reads a predictions ``.npz`` and writes ``report.html`` + ``metrics.json``
under the report prefix)."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from operators.report_link import ReportLink


class ReportOperator(AwsBaseOperator[S3Hook]):
    """An operator writing a report to S3, linked from its task instance in the reports UI: its XCom
    result names the page as ``report_s3_uri``.

    :param aws_conn_id: Airflow connection for S3 (its endpoint_url is honoured in local mode).
    """

    aws_hook_class = S3Hook
    operator_extra_links = (ReportLink(),)


class PredictionReportOperator(ReportOperator):
    """Write a report of validation predictions to ``<report_s3_prefix>/report.html`` and
    ``<report_s3_prefix>/metrics.json``; the XCom result is the headline metrics plus the S3 URIs of both
    files (``report_s3_uri``, ``metrics_s3_uri``).

    A subclass names the arrays it reads from the predictions ``.npz`` (``required_arrays``, and
    ``optional_arrays`` used when present) and implements :meth:`report`.

    :param predictions_s3_uri: ``s3://bucket/key.npz`` of the predictions.
    :param report_s3_prefix: ``s3://bucket/prefix`` under which the report is written.
    :param title: heading of the report.
    """

    template_fields: Sequence[str] = aws_template_fields("predictions_s3_uri", "report_s3_prefix", "title")
    required_arrays: ClassVar[tuple[str, ...]]
    optional_arrays: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, predictions_s3_uri: str, report_s3_prefix: str, title: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.predictions_s3_uri = predictions_s3_uri
        self.report_s3_prefix = report_s3_prefix
        self.title = title

    def execute(self, context: Any) -> dict:
        arrays = self.read_prediction_arrays()
        about = {
            "dag_id": context["dag"].dag_id if context.get("dag") else "",
            "run_id": context.get("run_id", ""),
            "predictions": self.predictions_s3_uri,
        }
        summary, page, document = self.report(arrays, about)
        return {**summary, **self.write_report_files(page, {**document, **about})}

    def report(self, arrays: dict[str, np.ndarray], about: dict[str, str]) -> tuple[dict, str, dict]:
        """``(headline metrics, HTML page, metrics.json document)`` of the predictions ``arrays``;
        ``about`` (dag_id, run_id, predictions URI) is for the page, and is added to the document."""
        raise NotImplementedError

    def read_prediction_arrays(self) -> dict[str, np.ndarray]:
        """The required (and present optional) arrays of the ``.npz`` at ``predictions_s3_uri``.

        Fails naming the missing arrays, or the arrays whose lengths differ.
        """
        required, optional, uri = self.required_arrays, self.optional_arrays, self.predictions_s3_uri
        bucket, key = S3Hook.parse_s3_url(uri)
        body = self.hook.get_key(key, bucket).get()["Body"].read()
        wanted = (*required, *optional)
        with np.load(io.BytesIO(body), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files if name in wanted}
        missing = [name for name in required if name not in arrays]
        if missing:
            optional_note = f" ({', '.join(optional)} optional)" if optional else ""
            raise ValueError(
                f"Predictions {uri} lack the arrays {missing}; expected {list(wanted)}{optional_note}"
            )
        lengths = {name: len(array) for name, array in arrays.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(
                f"Predictions {uri} have arrays of different lengths {lengths}; "
                "every array needs one entry per record"
            )
        return arrays

    def write_report_files(self, page: str, document: dict) -> dict[str, str]:
        """Write ``<prefix>/report.html`` and ``<prefix>/metrics.json``; return their ``s3://`` URIs as
        ``report_s3_uri`` and ``metrics_s3_uri``."""
        bucket, prefix = S3Hook.parse_s3_url(self.report_s3_prefix.rstrip("/") + "/")
        report_key, metrics_key = f"{prefix}report.html", f"{prefix}metrics.json"
        self.hook.load_string(page, report_key, bucket, replace=True)
        self.hook.load_string(json.dumps(document, indent=2), metrics_key, bucket, replace=True)
        return {
            "report_s3_uri": f"s3://{bucket}/{report_key}",
            "metrics_s3_uri": f"s3://{bucket}/{metrics_key}",
        }
