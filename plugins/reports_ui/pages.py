"""HTML of the reports UI's own pages. Every value from the database is escaped; the pages use no script."""

from __future__ import annotations

import html
from collections.abc import Callable
from itertools import groupby

from reports_ui.catalog import Report

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1d2630; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; } h3 { font-size: 1rem; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin-bottom: 1rem; }
td, th { border: 1px solid #c8d0d8; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #eef2f5; } td.number { text-align: right; }
.muted { color: #5b6875; font-weight: normal; }
"""


def _number(value: int | float) -> str:
    return str(value) if isinstance(value, int) else f"{value:.4g}"


def _metric_cell(value: int | float | None) -> str:
    return "<td></td>" if value is None else f"<td class='number'>{_number(value)}</td>"


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def _reports_table(reports: list[Report], report_href: Callable[[Report], str]) -> str:
    metric_names = list(dict.fromkeys(name for report in reports for name in report.headline))
    header = "".join(f"<th>{html.escape(name)}</th>" for name in metric_names)
    rows = []
    for report in reports:
        task = html.escape(report.task_id)
        if report.map_index >= 0:
            task += f" <span class='muted'>[{report.map_index}]</span>"
        cells = "".join(_metric_cell(report.headline.get(name)) for name in metric_names)
        link = f"<a class='report-link' href='{html.escape(report_href(report))}'>Open report</a>"
        rows.append(f"<tr><td>{task}</td>{cells}<td>{link}</td></tr>")
    return (
        f"<table><thead><tr><th>task</th>{header}<th></th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _run_heading(report: Report, level: str, run_href: Callable[[Report], str] | None) -> str:
    run = html.escape(report.run_id)
    if run_href is not None:
        run = f"<a href='{html.escape(run_href(report))}'>{run}</a>"
    details = ", ".join(
        part
        for part in (
            report.run_state,
            report.run_after.isoformat(timespec="seconds") if report.run_after else None,
        )
        if part
    )
    return f"<{level} class='run'>{run} <span class='muted'>{html.escape(details)}</span></{level}>"


def index_page(
    reports: list[Report],
    report_href: Callable[[Report], str],
    run_href: Callable[[Report], str],
) -> str:
    """All reports, grouped by DAG and then by run; runs keep the newest-first order of ``reports``."""
    if not reports:
        return _page("Reports", "<p id='no-reports'>No report has been written yet.</p>")
    sections = []
    for dag_id, of_dag in groupby(sorted(reports, key=lambda r: r.dag_id), key=lambda r: r.dag_id):
        runs = []
        for _, of_run in groupby(of_dag, key=lambda r: r.run_id):
            run_reports = list(of_run)
            heading = _run_heading(run_reports[0], "h3", run_href)
            runs.append(heading + _reports_table(run_reports, report_href))
        sections.append(f"<section class='dag'><h2>{html.escape(dag_id)}</h2>{''.join(runs)}</section>")
    return _page("Reports", "".join(sections))


def run_page(
    dag_id: str, run_id: str, reports: list[Report], report_href: Callable[[Report], str], index_href: str
) -> str:
    """The reports of one DAG run (the "Reports" tab of a run in the Airflow UI)."""
    back = f"<p><a href='{html.escape(index_href)}'>All reports</a></p>"
    if not reports:
        body = "<p id='no-reports'>This run has written no report (yet).</p>"
    else:
        body = _run_heading(reports[0], "h2", None) + _reports_table(reports, report_href)
    return _page(f"Reports of {dag_id}", back + body)


def message_page(title: str, message: str) -> str:
    """A short page for "not found" and "cannot be read" answers."""
    return _page(title, f"<p>{html.escape(message)}</p>")
