"""Log lines and metric definitions in the format of SageMaker's first-party algorithms.

The containers print ``[MM/DD/YYYY HH:MM:SS INFO <thread>] message`` to stdout, and report a
metric as ``#quality_metric: host=algo-1, test msd <loss>=0.0123``. SageMaker (and the engine)
extract ``FinalMetricDataList`` from those lines with the algorithm's metric-definition regexes,
so :func:`metric_definition` and :func:`log_quality_metric` are written from one template.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from typing import Literal, TextIO

Kind = Literal["loss", "score"]


def log(message: str, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Print one log line the way the first-party containers do (flushed, so the engine streams it)."""
    stamp = time.strftime("%m/%d/%Y %H:%M:%S")
    print(f"[{stamp} {level} {threading.get_ident()}] {message}", file=stream or sys.stdout, flush=True)


def quality_metric_line(host: str, channel: str, name: str, value: float, kind: Kind = "loss") -> str:
    """``#quality_metric: host=algo-1, test msd <loss>=12.5`` (``repr`` keeps every digit of the value)."""
    return f"#quality_metric: host={host}, {channel} {name} <{kind}>={_number(value)}"


def log_quality_metric(
    host: str, channel: str, name: str, value: float, kind: Kind = "loss", stream: TextIO | None = None
) -> None:
    """Log a metric both as ``#test_score`` (what a reader of the log sees) and as ``#quality_metric``
    (what the metric definitions match)."""
    log(f"#{channel}_score ({host}) : ('{name}', {_number(value)})", stream=stream)
    log(quality_metric_line(host, channel, name, value, kind), stream=stream)


def metric_definition(channel: str, name: str, kind: Kind = "loss") -> dict[str, str]:
    """The SageMaker metric definition matching :func:`quality_metric_line` for ``channel:name``."""
    return {
        "Name": f"{channel}:{name}",
        "Regex": f"#quality_metric: host=\\S+, {channel} {name} <{kind}>=(\\S+)",
    }


def _number(value: float) -> str:
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return repr(value)
