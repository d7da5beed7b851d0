"""The reports UI inside Airflow's real api-server app (FastAPI TestClient): real DAG runs wrote real
reports to an S3 server; the index lists them, the view renders them, and only logged-in users with read
access to the DAG get anything."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from include.devstack.settings import local_connection
from tests.support.report_dags import REPORT_TASKS, TEST_DAG_IDS, bundle_config, load_test_dag

ALPHA, BETA = TEST_DAG_IDS
USERS = {"admin": "admin-secret", "viewer": "viewer-secret"}


@pytest.fixture(scope="module")
def runs(s3_endpoint: str, airflow_db: str) -> Iterator[dict[str, str]]:
    """One finished run of each test DAG: ``{dag_id: run_id}``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_AWS_DEFAULT", local_connection(s3_endpoint))
        patch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", bundle_config())
        result = {}
        for dag_id in TEST_DAG_IDS:
            run = load_test_dag(dag_id).test()
            assert run.state == "success", f"{dag_id} ended {run.state}"
            result[dag_id] = run.run_id
        yield result


@pytest.fixture(scope="module")
def client(runs: dict, s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    passwords = tmp_path_factory.mktemp("auth") / "passwords.json"
    passwords.write_text(json.dumps(USERS))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_AWS_DEFAULT", local_connection(s3_endpoint))
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin,viewer:viewer")
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "reports-ui-test-secret-" + "x" * 60)
        from airflow.api_fastapi.app import create_app, purge_cached_app

        purge_cached_app()
        with TestClient(create_app()) as test_client:
            yield test_client
        purge_cached_app()


def _token(client: TestClient, user: str) -> str:
    response = client.post("/auth/token", json={"username": user, "password": USERS[user]})
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


@pytest.fixture(scope="module")
def viewer_cookie(client: TestClient) -> dict[str, str]:
    """What a browser sends after logging in to the UI: the ``_token`` cookie."""
    return {"_token": _token(client, "viewer")}


def _get(client: TestClient, path: str, cookies: dict[str, str] | None = None, **kwargs):
    client.cookies.clear()
    for name, value in (cookies or {}).items():
        client.cookies.set(name, value)
    return client.get(path, **kwargs)


def _report_path(dag_id: str, run_id: str, task_id: str | None = None) -> str:
    from reports_ui.urls import URL_PREFIX, report_path

    return URL_PREFIX + report_path(dag_id, run_id, task_id or REPORT_TASKS[dag_id])


def test_index_lists_the_reports_of_each_dag_and_run(client, runs, viewer_cookie) -> None:
    response = _get(client, "/reports/", viewer_cookie)
    assert response.status_code == 200
    page = response.text
    for dag_id, run_id in runs.items():
        assert f"<h2>{dag_id}</h2>" in page
        assert _report_path(dag_id, run_id).replace("&", "&amp;") in page
    assert "purity" in page
    assert "0.9" in page
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert "script-src" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_view_renders_the_report_with_a_restrictive_policy(client, runs, viewer_cookie) -> None:
    response = _get(client, _report_path(ALPHA, runs[ALPHA]), viewer_cookie)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert '<img id="montage"' in response.text
    assert "data:image/png;base64," in response.text
    assert "id='metric-purity'>0.9" in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "img-src data:" in policy
    assert "sandbox" in policy
    assert "script" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"


def test_a_bearer_token_works_like_the_login_cookie(client, runs) -> None:
    headers = {"Authorization": f"Bearer {_token(client, 'admin')}"}
    assert _get(client, _report_path(BETA, runs[BETA]), headers=headers).status_code == 200


def test_the_run_page_lists_that_runs_reports(client, runs, viewer_cookie) -> None:
    from reports_ui.urls import URL_PREFIX, run_reports_path

    response = _get(client, URL_PREFIX + run_reports_path(ALPHA, runs[ALPHA]), viewer_cookie)
    assert response.status_code == 200
    assert _report_path(ALPHA, runs[ALPHA]) in response.text
    assert BETA not in response.text


@pytest.mark.parametrize(
    "credentials",
    [{}, {"cookies": {"_token": "not-a-jwt"}}, {"headers": {"Authorization": "Bearer not-a-jwt"}}],
    ids=["no login", "forged cookie", "forged bearer"],
)
def test_requests_without_a_valid_login_get_no_report(client, runs, credentials) -> None:
    for path in ("/reports/", _report_path(ALPHA, runs[ALPHA])):
        response = _get(client, path, credentials.get("cookies"), headers=credentials.get("headers"))
        assert response.status_code in (401, 403), (path, response.status_code)
        assert "data:image/png" not in response.text
        assert "purity" not in response.text


def test_unknown_and_malicious_ids_are_not_found(client, runs, viewer_cookie) -> None:
    alpha_run, beta_run = runs[ALPHA], runs[BETA]
    paths = [
        _report_path(ALPHA, beta_run),  # another DAG's run
        _report_path(ALPHA, alpha_run, "predictions"),  # a task that wrote no report
        _report_path(ALPHA, "manual__1999-01-01T00:00:00+00:00"),
        _report_path("no_such_dag", alpha_run, "clustering_report"),
        f"/reports/dags/{ALPHA}/runs/%2E%2E/tasks/clustering_report",
        f"/reports/dags/{ALPHA}/runs/..%2F..%2Fetc/tasks/passwd",
        f"/reports/dags/{ALPHA}/runs/{alpha_run}%2F..%2F{beta_run}/tasks/clustering_report",
        f"/reports/dags/%2E%2E/runs/{alpha_run}/tasks/clustering_report",
        _report_path(ALPHA, alpha_run) + "?map_index=3",
    ]
    for path in paths:
        response = _get(client, path, viewer_cookie)
        assert response.status_code == 404, (path, response.status_code, response.text[:200])
        assert "data:image/png" not in response.text
    assert _get(client, _report_path(ALPHA, alpha_run) + "?map_index=-7", viewer_cookie).status_code == 422


def test_a_user_without_read_access_to_the_dag_sees_neither_its_reports_nor_its_runs(
    client, runs, viewer_cookie, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.api_fastapi.app import get_auth_manager

    manager_class = type(get_auth_manager())
    allowed = manager_class.is_authorized_dag

    def deny_beta(self, *, method, user, access_entity=None, details=None):
        if details is not None and details.id == BETA:
            return False
        return allowed(self, method=method, user=user, access_entity=access_entity, details=details)

    monkeypatch.setattr(manager_class, "is_authorized_dag", deny_beta)
    assert _get(client, _report_path(BETA, runs[BETA]), viewer_cookie).status_code == 403
    index = _get(client, "/reports/", viewer_cookie).text
    assert ALPHA in index
    assert BETA not in index


def test_the_report_link_of_the_task_instance_points_at_its_report(client, runs) -> None:
    headers = {"Authorization": f"Bearer {_token(client, 'admin')}"}
    run_id = runs[ALPHA]
    response = client.get(
        f"/api/v2/dags/{ALPHA}/dagRuns/{run_id}/taskInstances/clustering_report/links", headers=headers
    )
    assert response.status_code == 200, response.text
    link = response.json()["extra_links"]["Report"]
    assert link.endswith(_report_path(ALPHA, run_id)), link
    assert _get(client, urlsplit(link).path, headers=headers).status_code == 200


def test_the_plugin_puts_reports_in_the_navigation_and_on_dag_runs(client) -> None:
    headers = {"Authorization": f"Bearer {_token(client, 'admin')}"}
    plugins = client.get("/api/v2/plugins", headers=headers).json()["plugins"]
    (reports,) = [plugin for plugin in plugins if plugin["name"] == "reports"]
    views = {view["destination"]: view for view in reports["external_views"]}
    assert views["nav"]["href"].endswith("/reports/")
    assert views["dag_run"]["href"].endswith("/reports/dags/{DAG_ID}/runs/{RUN_ID}")
    assert reports["fastapi_apps"][0]["url_prefix"] == "/reports"
    assert Path(reports["source"]).name == "reports_plugin.py"
