"""``ReportLink``: the "Report" button of a report operator's task instance, opening the report in the
reports UI (``plugins/reports_plugin.py``).

Airflow 3 computes an operator's extra links on the worker when the task ends and stores them as XComs
(key ``_link_ReportLink``); the api-server reads that XCom back, so it never imports this class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.configuration import conf
from airflow.sdk import BaseOperatorLink
from reports_ui.urls import URL_PREFIX, report_path

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey


class ReportLink(BaseOperatorLink):
    """Links a task instance to the page rendering the report it wrote."""

    name = "Report"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        # [api] base_url makes the link absolute, so it works wherever the UI shows it.
        base_url = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
        path = report_path(ti_key.dag_id, ti_key.run_id, ti_key.task_id, ti_key.map_index)
        return f"{base_url}{URL_PREFIX}{path}"
