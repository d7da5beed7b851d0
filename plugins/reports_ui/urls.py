"""The one place that spells the reports UI's URLs, for the app, the plugin and the operator link.

Paths are relative to the app's mount point ``URL_PREFIX``; every id is percent-encoded as one path
segment, so a ``/`` inside an id can never reach another route.
"""

from __future__ import annotations

from urllib.parse import quote

URL_PREFIX = "/reports"


def _segment(value: str) -> str:
    return quote(value, safe="")


def run_reports_path(dag_id: str, run_id: str) -> str:
    """The page listing the reports of one DAG run."""
    return f"/dags/{_segment(dag_id)}/runs/{_segment(run_id)}"


def report_path(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
    """The page rendering the report of one task instance (``map_index`` -1 for an unmapped task)."""
    path = f"{run_reports_path(dag_id, run_id)}/tasks/{_segment(task_id)}"
    return path if map_index < 0 else f"{path}?map_index={map_index}"
