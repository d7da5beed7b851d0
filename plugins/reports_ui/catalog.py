"""Which reports exist: the XCom return values in the metadata database that name a ``report_s3_uri``.

Reports are found only through what report operators returned, never through a path a user gives, so a
request can reach no S3 object other than a report some task instance wrote.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow.models.dagrun import DagRun
from airflow.models.xcom import XCOM_RETURN_KEY, XComModel
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

REPORT_URI_KEY = "report_s3_uri"
METRICS_URI_KEY = "metrics_s3_uri"
# The index shows this many reports at most, newest first.
DEFAULT_LIMIT = 500


@dataclass(frozen=True)
class Report:
    """One report: the task instance that wrote it, where it is, and the headline numbers it returned."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    report_s3_uri: str
    metrics_s3_uri: str | None
    run_after: datetime | None
    run_state: str | None
    headline: dict[str, int | float] = field(default_factory=dict)


def _report_query():
    # The text match narrows the scan in SQL on every backend; _to_report checks the decoded value.
    return (
        select(
            XComModel.dag_id,
            XComModel.run_id,
            XComModel.task_id,
            XComModel.map_index,
            XComModel.value,
            DagRun.run_after,
            DagRun.state,
        )
        .join(DagRun, DagRun.id == XComModel.dag_run_id)
        .where(XComModel.key == XCOM_RETURN_KEY, cast(XComModel.value, String).like(f"%{REPORT_URI_KEY}%"))
    )


def _to_report(row: Any) -> Report | None:
    value = XComModel.deserialize_value(row)
    if not isinstance(value, dict) or not isinstance(value.get(REPORT_URI_KEY), str):
        return None
    uri = value[REPORT_URI_KEY]
    if not uri.startswith("s3://"):
        return None
    metrics = value.get(METRICS_URI_KEY)
    headline = {
        name: number
        for name, number in value.items()
        if isinstance(number, int | float) and not isinstance(number, bool)
    }
    return Report(
        dag_id=row.dag_id,
        run_id=row.run_id,
        task_id=row.task_id,
        map_index=row.map_index,
        report_s3_uri=uri,
        metrics_s3_uri=metrics if isinstance(metrics, str) else None,
        run_after=row.run_after,
        run_state=str(row.state) if row.state is not None else None,
        headline=headline,
    )


def list_reports(
    session: Session,
    dag_ids: Collection[str],
    *,
    run_id: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[Report]:
    """The reports of the DAGs ``dag_ids`` (of one run if ``run_id`` is given), newest run first."""
    if not dag_ids:
        return []
    query = _report_query().where(XComModel.dag_id.in_(list(dag_ids)))
    if run_id is not None:
        query = query.where(XComModel.run_id == run_id)
    query = query.order_by(
        DagRun.run_after.desc(), DagRun.id.desc(), XComModel.task_id, XComModel.map_index
    ).limit(limit)
    return [report for row in session.execute(query) if (report := _to_report(row)) is not None]


def find_report(session: Session, dag_id: str, run_id: str, task_id: str, map_index: int) -> Report | None:
    """The report written by one task instance, or None if it wrote none."""
    query = _report_query().where(
        XComModel.dag_id == dag_id,
        XComModel.run_id == run_id,
        XComModel.task_id == task_id,
        XComModel.map_index == map_index,
    )
    row = session.execute(query).first()
    return _to_report(row) if row is not None else None


def run_exists(session: Session, dag_id: str, run_id: str) -> bool:
    query = select(DagRun.id).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
    return session.scalar(query) is not None
