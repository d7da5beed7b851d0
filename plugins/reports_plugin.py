"""The "Reports" Airflow plugin: lists the reports written by the report operators and renders them
inside the Airflow UI (a "Reports" entry in the navigation, a "Reports" tab on every DAG run).

Airflow imports this file in every process, so it only declares things; the FastAPI app (and FastAPI,
SQLAlchemy queries, the S3 hook) load in the api-server on the first request to ``/reports``.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from airflow.configuration import conf
from airflow.plugins_manager import AirflowPlugin
from reports_ui.urls import URL_PREFIX

# The UI frames these URLs as given, so they carry the path of [api] base_url when Airflow is served below /.
_BASE = urlsplit(conf.get("api", "base_url", fallback="") or "").path.rstrip("/") + URL_PREFIX


class _ReportsApp:
    """An ASGI app that builds the real one on its first request."""

    def __init__(self) -> None:
        self._app = None

    async def __call__(self, scope, receive, send) -> None:
        if self._app is None:
            from reports_ui.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


class ReportsPlugin(AirflowPlugin):
    name = "reports"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": _ReportsApp(), "url_prefix": URL_PREFIX, "name": "Reports"}
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "Reports",
            "href": f"{_BASE}/",
            "destination": "nav",
            "url_route": "reports",
            "nav_top_level": True,
        },
        {
            "name": "Reports",
            "href": f"{_BASE}/dags/{{DAG_ID}}/runs/{{RUN_ID}}",
            "destination": "dag_run",
            "url_route": "run-reports",
        },
    ]
