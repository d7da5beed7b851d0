"""A ranked leaderboard document (see :func:`include.sweeps.leaderboard.leaderboard_document`) as CSV and
as a small self-contained HTML page."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Mapping
from typing import Any

# Entry fields shown after the metrics and hyperparameters, in this order.
CONTEXT_FIELDS = (
    "dag_id",
    "run_id",
    "logical_date",
    "training_job",
    "report_uri",
    "model_artifact",
    "entry_id",
)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2630; }
h1 { font-size: 1.4rem; } p { color: #5b6875; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
td, th { border: 1px solid #c8d0d8; padding: 0.25rem 0.5rem; text-align: left; }
th { background: #eef2f5; }
td.number { text-align: right; }
tr.best { background: #d9f0dd; font-weight: 600; }
"""


def columns(document: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """``(metrics, hyperparameters)`` named in the rows: the ranking metric first, the rest sorted."""
    rows = document["rows"]
    metric = document["metric"]
    others = sorted({name for row in rows for name in row.get("metrics", {})} - {metric})
    hyperparameters = sorted({name for row in rows for name in row.get("hyperparameters", {})})
    return [metric, *others], hyperparameters


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _table(document: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    metrics, hyperparameters = columns(document)
    header = ["rank", *metrics, *hyperparameters, *CONTEXT_FIELDS]
    body = [
        [
            _cell(row.get("rank")),
            *(_cell(row.get("metrics", {}).get(name)) for name in metrics),
            *(_cell(row.get("hyperparameters", {}).get(name)) for name in hyperparameters),
            *(_cell(row.get(field)) for field in CONTEXT_FIELDS),
        ]
        for row in document["rows"]
    ]
    return header, body


def to_csv(document: Mapping[str, Any]) -> str:
    """One header line (rank, metrics, hyperparameters, run context) and one line per row, best first."""
    header, body = _table(document)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(body)
    return out.getvalue()


def to_html(document: Mapping[str, Any]) -> str:
    """The leaderboard as a page with no external resources; the best row is highlighted."""
    header, body = _table(document)
    numeric = {0, *range(1, 1 + len(columns(document)[0]))}
    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    rows = []
    for row, cells in zip(document["rows"], body, strict=True):
        css = " class='best'" if row.get("rank") == 1 else ""
        tds = "".join(
            f"<td{' class=number' if i in numeric else ''}>{html.escape(cell)}</td>"
            for i, cell in enumerate(cells)
        )
        rows.append(f"<tr{css}>{tds}</tr>")
    title = f"Leaderboard {document['name']}"
    caption = (
        f"{document['entries']} entries ranked by {document['metric']} ({document['direction']}), "
        f"updated {document['updated_at']}"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(caption)}</p>
<table><thead><tr>{head}</tr></thead>
<tbody>{"".join(rows)}</tbody></table>
</body></html>
"""
