"""A small client of Airflow's REST API (``/api/v2``), doing what the UI does: unpause, trigger with
params, watch runs and task instances."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from include.devstack.settings import LOGIN

FINISHED = ("success", "failed")


class AirflowApiError(RuntimeError):
    """The API answered with an error status."""


class AirflowApi:
    def __init__(self, base_url: str, login: tuple[str, str] = LOGIN):
        self.base_url = base_url.rstrip("/")
        self._login = login
        self._token: str | None = None

    def _request(self, method: str, path: str, body: dict | None = None, token: bool = True) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {self._bearer()}"
        request = urllib.request.Request(
            self.base_url + path,
            data=None if body is None else json.dumps(body).encode(),
            headers=headers,
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            raise AirflowApiError(
                f"{method} {path} -> HTTP {error.code}: {error.read().decode(errors='replace')[:2000]}"
            ) from error
        return json.loads(payload) if payload else None

    def _bearer(self) -> str:
        if self._token is None:
            user, password = self._login
            answer = self._request(
                "POST", "/auth/token", {"username": user, "password": password}, token=False
            )
            self._token = answer["access_token"]
        return self._token

    def get(self, path: str) -> Any:
        return self._request("GET", path)

    def dag_ids(self) -> set[str]:
        return {dag["dag_id"] for dag in self.get("/api/v2/dags?limit=1000")["dags"]}

    def import_errors(self) -> list[dict]:
        return self.get("/api/v2/importErrors")["import_errors"]

    def unpause(self, dag_id: str) -> None:
        self._request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        """Trigger ``dag_id`` now with ``conf`` as its params, as the UI's trigger form does; the run id."""
        run = self._request(
            "POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}}
        )
        return run["dag_run_id"]

    def dag_run(self, dag_id: str, run_id: str) -> dict:
        return self.get(f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}")

    def dag_runs(self, dag_id: str) -> list[dict]:
        return self.get(f"/api/v2/dags/{dag_id}/dagRuns?limit=100&order_by=logical_date")["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict]:
        """Task instances of a run by task id (mapped instances are listed under ``task_id[index]``)."""
        quoted = urllib.parse.quote(run_id, safe="")
        listed = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances?limit=1000")
        return {
            ti["task_id"] if ti["map_index"] < 0 else f"{ti['task_id']}[{ti['map_index']}]": ti
            for ti in listed["task_instances"]
        }

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
        quoted = urllib.parse.quote(run_id, safe="")
        answer = self.get(
            f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{task_id}/logs/{try_number}"
            f"?full_content=true&map_index={map_index}"
        )
        content = answer["content"]
        if isinstance(content, list):
            return "\n".join(
                line.get("event", "") if isinstance(line, dict) else str(line) for line in content
            )
        return str(content)

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> dict:
        """Poll until the run finishes; the run, or TimeoutError naming each unfinished task's state."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.dag_run(dag_id, run_id)
            if run["state"] in FINISHED:
                return run
            if time.monotonic() > deadline:
                states = {task: ti["state"] for task, ti in self.task_instances(dag_id, run_id).items()}
                raise TimeoutError(f"{dag_id} {run_id} still {run['state']} after {timeout:.0f} s: {states}")
            time.sleep(2)
