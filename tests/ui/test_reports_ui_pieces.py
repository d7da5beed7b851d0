"""The reports UI's pure pieces: its URLs, its id checks and the escaping of its pages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from reports_ui.catalog import Report
from reports_ui.ids import is_valid_key, is_valid_run_id
from reports_ui.pages import index_page, run_page
from reports_ui.urls import report_path, run_reports_path

RUN_ID = "manual__2026-11-21T17:09:28.123456+00:00"


def test_every_id_is_one_encoded_path_segment() -> None:
    assert run_reports_path("kmeans_mnist", RUN_ID) == (
        "/dags/kmeans_mnist/runs/manual__2026-11-21T17%3A09%3A28.123456%2B00%3A00"
    )
    assert report_path("d", "a/../b", "t").endswith("/runs/a%2F..%2Fb/tasks/t")
    assert report_path("d", "r", "t", map_index=3) == "/dags/d/runs/r/tasks/t?map_index=3"


@pytest.mark.parametrize("value", ["kmeans_mnist", "group.task", "a-b_c.1"])
def test_airflow_ids_are_valid_keys(value: str) -> None:
    assert is_valid_key(value)


@pytest.mark.parametrize("value", ["", "..", "a..b", "a/b", "a\\b", "a b", "<script>", "x" * 251])
def test_other_strings_are_not_keys(value: str) -> None:
    assert not is_valid_key(value)


@pytest.mark.parametrize("value", [RUN_ID, "scheduled__2026-01-01T00:00:00+00:00", "my~run.1"])
def test_run_ids_are_valid(value: str) -> None:
    assert is_valid_run_id(value)


@pytest.mark.parametrize("value", ["", "..", "a/../b", "a/b", "a\\b", "a\x00b", "a\nb", "r" * 251])
def test_run_ids_with_separators_or_dot_dot_are_refused(value: str) -> None:
    assert not is_valid_run_id(value)


def _report(dag_id: str, run_id: str, when: int, **headline) -> Report:
    return Report(
        dag_id=dag_id,
        run_id=run_id,
        task_id="report",
        map_index=-1,
        report_s3_uri=f"s3://b/{dag_id}/{run_id}/report.html",
        metrics_s3_uri=None,
        run_after=datetime(2026, 1, when, tzinfo=UTC),
        run_state="success",
        headline=headline,
    )


def test_the_index_groups_by_dag_and_keeps_runs_newest_first() -> None:
    reports = [
        _report("b_dag", "new", 3, purity=0.91234),
        _report("a_dag", "x", 2),
        _report("b_dag", "old", 1),
    ]
    page = index_page(reports, report_href=lambda r: f"/view/{r.run_id}", run_href=lambda r: "/run")
    assert page.index("<h2>a_dag</h2>") < page.index("<h2>b_dag</h2>")
    assert page.index("/view/new") < page.index("/view/old")
    assert "0.9123" in page


def test_pages_escape_what_the_database_holds() -> None:
    hostile = "r<script>alert(1)</script>"
    page = run_page("d", hostile, [_report("d", hostile, 1)], lambda r: "/x?a=1&b='2'", "/")
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "href='/x?a=1&amp;b=&#x27;2&#x27;'" in page
