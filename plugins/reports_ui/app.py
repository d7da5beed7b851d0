"""The reports UI's FastAPI app, mounted by the plugin under ``/reports`` in Airflow's api-server.

Every route needs a logged-in user (Airflow's JWT, from the ``_token`` cookie the UI sets at login or
from an ``Authorization: Bearer`` header) and read access to the DAG concerned. A report is looked up in
the metadata database from (dag_id, run_id, task_id, map_index) and read from S3 through the
``aws_default`` connection; it is served with a Content-Security-Policy that lets its inline styles and
data: images through and nothing else.
"""

from __future__ import annotations

import logging
from typing import Annotated

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse

from reports_ui import catalog, pages, urls
from reports_ui.ids import is_valid_key, is_valid_run_id
from reports_ui.storage import ReportUnreadable, read_report

log = logging.getLogger(__name__)

# The report: its own inline styles and data: images, no script, no request anywhere, no form; framed only
# by Airflow's UI, and sandboxed (an opaque origin) even there.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'; sandbox"
)
# The app's own pages: inline styles and same-origin links, nothing else.
PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'"
)
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
}

ReadableDag = Depends(requires_access_dag("GET"))


def _html(body: str, status_code: int = 200, csp: str = PAGE_CSP) -> HTMLResponse:
    headers = {**COMMON_HEADERS, "Content-Security-Policy": csp}
    return HTMLResponse(body, status_code=status_code, headers=headers)


def _not_found(message: str) -> HTMLResponse:
    return _html(pages.message_page("Report not found", message), status_code=404)


def _app_path(request: Request, path: str) -> str:
    # root_path is where the api-server mounted this app (behind any [api] base_url path).
    return request.scope.get("root_path", "").rstrip("/") + path


def _report_href(request: Request):
    return lambda r: _app_path(request, urls.report_path(r.dag_id, r.run_id, r.task_id, r.map_index))


def create_app() -> FastAPI:
    app = FastAPI(title="Reports", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/")
    def index(request: Request, user: GetUserDep, session: SessionDep) -> HTMLResponse:
        """Every report of the DAGs this user may read, grouped by DAG and run, newest run first."""
        readable = get_auth_manager().get_authorized_dag_ids(user=user, method="GET")
        reports = catalog.list_reports(session, readable)
        return _html(
            pages.index_page(
                reports,
                report_href=_report_href(request),
                run_href=lambda r: _app_path(request, urls.run_reports_path(r.dag_id, r.run_id)),
            )
        )

    @app.get("/dags/{dag_id}/runs/{run_id}", dependencies=[ReadableDag])
    def run_reports(request: Request, dag_id: str, run_id: str, session: SessionDep) -> HTMLResponse:
        """The reports of one DAG run."""
        if not (is_valid_key(dag_id) and is_valid_run_id(run_id)) or not catalog.run_exists(
            session, dag_id, run_id
        ):
            return _not_found(f"There is no run {run_id!r} of the DAG {dag_id!r}.")
        reports = catalog.list_reports(session, [dag_id], run_id=run_id)
        return _html(pages.run_page(dag_id, run_id, reports, _report_href(request), _app_path(request, "/")))

    @app.get("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}", dependencies=[ReadableDag])
    def report(
        dag_id: str,
        run_id: str,
        task_id: str,
        session: SessionDep,
        map_index: Annotated[int, Query(ge=-1)] = -1,
    ) -> HTMLResponse:
        """The report written by one task instance, as the operator wrote it."""
        if not (is_valid_key(dag_id) and is_valid_run_id(run_id) and is_valid_key(task_id)):
            return _not_found("The DAG, run or task id is not a valid Airflow id.")
        found = catalog.find_report(session, dag_id, run_id, task_id, map_index)
        if found is None:
            return _not_found(
                f"The task {task_id!r} (map index {map_index}) of run {run_id!r} of the DAG {dag_id!r} "
                "has written no report."
            )
        try:
            body = read_report(found.report_s3_uri)
        except ReportUnreadable as error:
            log.warning("%s", error)
            return _html(pages.message_page("Report unavailable", str(error)), status_code=502)
        return _html(body, csp=REPORT_CSP)

    return app
