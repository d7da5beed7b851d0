"""Leaderboard entries of finished SageMaker training jobs (``DescribeTrainingJob`` responses)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def final_metrics(training: Mapping[str, Any]) -> dict[str, float]:
    """``{"test:msd": 1.23, ...}`` from a job's ``FinalMetricDataList`` (empty if it reported none)."""
    return {
        metric["MetricName"]: float(metric["Value"]) for metric in training.get("FinalMetricDataList") or []
    }


def training_entry(
    training: Mapping[str, Any],
    hyperparameters: Mapping[str, Any],
    extra_metrics: Mapping[str, float | None] | None = None,
    **context: Any,
) -> dict:
    """The entry of one training job: the ``hyperparameters`` that distinguish it, its final metrics plus
    ``extra_metrics`` (e.g. a clustering report's purity), its name and model artifact, and ``context``
    (``report_uri``, ``point``, …)."""
    return {
        "hyperparameters": dict(hyperparameters),
        "metrics": {**final_metrics(training), **(extra_metrics or {})},
        "training_job": training.get("TrainingJobName"),
        "model_artifact": (training.get("ModelArtifacts") or {}).get("S3ModelArtifacts"),
        **context,
    }


def report_entry(
    training: Mapping[str, Any],
    hyperparameters: Mapping[str, Any],
    report: Mapping[str, Any],
    metric_names: tuple[str, ...],
    **context: Any,
) -> dict:
    """:func:`training_entry` of a run whose report operator returned ``report`` (its headline metrics and
    ``report_s3_uri``): the ``metric_names`` come from the report and its URI becomes ``report_uri``."""
    missing = [name for name in metric_names if name not in report]
    if missing:
        raise ValueError(f"The report has no metric {missing}; it has {sorted(report)}")
    return training_entry(
        training,
        hyperparameters,
        {name: report[name] for name in metric_names},
        report_uri=report["report_s3_uri"],
        **context,
    )
