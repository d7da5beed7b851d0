"""`make up` / `make down`: the whole local stack starts, serves the project's DAGs, and stops cleanly."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from include.devstack.processes import PidFile, free_port
from include.devstack.settings import LOGIN, StackSettings
from include.devstack.stack import ENGINE, down, process_specs, up

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _api(settings: StackSettings, path: str, token: str) -> dict:
    request = urllib.request.Request(settings.api_url + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _token(settings: StackSettings) -> str:
    user, password = LOGIN
    request = urllib.request.Request(
        settings.api_url + "/auth/token",
        data=json.dumps({"username": user, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["access_token"]


def _project_dag_ids() -> set[str]:
    ids = set()
    for path in (REPO / "dags").glob("*.py"):
        text = path.read_text()
        ids |= {line.split('"')[1] for line in text.splitlines() if line.strip().startswith('dag_id="')}
    return ids


def test_up_serves_the_dags_and_down_leaves_nothing_running(tmp_path: Path) -> None:
    settings = StackSettings(root=tmp_path, api_port=free_port(), engine_port=free_port())
    started: list[psutil.Process] = []
    try:
        up(settings)
        for spec in process_specs(settings):
            process = PidFile(settings.run_dir, spec.name).process()
            assert process is not None, f"{spec.name} is not running"
            started += [process, *process.children(recursive=True)]

        token = _token(settings)
        expected = _project_dag_ids()
        assert expected, "no dag_id found in dags/"
        deadline = time.monotonic() + 240
        listed: set[str] = set()
        while time.monotonic() < deadline and not expected <= listed:
            time.sleep(3)
            listed = {dag["dag_id"] for dag in _api(settings, "/api/v2/dags?limit=100", token)["dags"]}
        assert expected <= listed, f"API lists {sorted(listed)}, expected {sorted(expected)}"
        assert _api(settings, "/api/v2/importErrors", token)["total_entries"] == 0

        if any(spec.name == ENGINE for spec in process_specs(settings)):
            with urllib.request.urlopen(settings.engine_url, timeout=5) as response:
                assert response.status == 200
    finally:
        down(settings)

    _, alive = psutil.wait_procs(started, timeout=10)
    assert not alive, f"still running after down: {[p.pid for p in alive]}"
    assert not list(settings.run_dir.glob("*.pid"))
