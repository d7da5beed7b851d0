"""What every report operator does on S3: read the predictions ``.npz`` and write ``report.html`` +
``metrics.json`` under the report prefix."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from airflow.providers.amazon.aws.hooks.s3 import S3Hook


def read_prediction_arrays(
    hook: S3Hook, predictions_s3_uri: str, required: Sequence[str], optional: Sequence[str] = ()
) -> dict[str, np.ndarray]:
    """The ``required`` (and present ``optional``) arrays of the ``.npz`` at ``predictions_s3_uri``.

    Fails naming the missing arrays, or the arrays whose lengths differ from ``required[0]``'s.
    """
    bucket, key = S3Hook.parse_s3_url(predictions_s3_uri)
    body = hook.get_key(key, bucket).get()["Body"].read()
    wanted = (*required, *optional)
    with np.load(io.BytesIO(body), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files if name in wanted}
    missing = [name for name in required if name not in arrays]
    if missing:
        optional_note = f" ({', '.join(optional)} optional)" if optional else ""
        raise ValueError(
            f"Predictions {predictions_s3_uri} lack the arrays {missing}; "
            f"expected {list(wanted)}{optional_note}"
        )
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(
            f"Predictions {predictions_s3_uri} have arrays of different lengths {lengths}; "
            "every array needs one entry per record"
        )
    return arrays


def run_context(context: Any, predictions_s3_uri: str) -> dict[str, str]:
    """Which run and which predictions a report is about, shown on the page and kept in metrics.json."""
    return {
        "dag_id": context["dag"].dag_id if context.get("dag") else "",
        "run_id": context.get("run_id", ""),
        "predictions": predictions_s3_uri,
    }


def write_report_files(hook: S3Hook, report_s3_prefix: str, page: str, document: dict) -> dict[str, str]:
    """Write ``<prefix>/report.html`` and ``<prefix>/metrics.json``; return their ``s3://`` URIs as
    ``report_s3_uri`` and ``metrics_s3_uri``."""
    bucket, prefix = S3Hook.parse_s3_url(report_s3_prefix.rstrip("/") + "/")
    report_key, metrics_key = f"{prefix}report.html", f"{prefix}metrics.json"
    hook.load_string(page, report_key, bucket, replace=True)
    hook.load_string(json.dumps(document, indent=2), metrics_key, bucket, replace=True)
    return {"report_s3_uri": f"s3://{bucket}/{report_key}", "metrics_s3_uri": f"s3://{bucket}/{metrics_key}"}
