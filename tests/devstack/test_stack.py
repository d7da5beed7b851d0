"""`make up` / `make down`: the whole local stack starts, serves the project's DAGs, and stops cleanly."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from include.devstack.api_client import AirflowApi
from include.devstack.processes import PidFile, free_port
from include.devstack.settings import StackSettings
from include.devstack.stack import ENGINE, down, process_specs, up

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _project_dag_ids() -> set[str]:
    # Each DAG file is named after the DAG it defines (WorkflowSpec: ``dags/<dag_id>.py``).
    return {path.stem for path in (REPO / "dags").glob("*.py")}


def test_up_serves_the_dags_and_down_leaves_nothing_running(tmp_path: Path) -> None:
    settings = StackSettings(root=tmp_path, api_port=free_port(), engine_port=free_port())
    started: list[psutil.Process] = []
    try:
        up(settings)
        for spec in process_specs(settings):
            process = PidFile(settings.run_dir, spec.name).process()
            assert process is not None, f"{spec.name} is not running"
            started += [process, *process.children(recursive=True)]

        api = AirflowApi(settings.api_url)
        expected = _project_dag_ids()
        assert expected, "no dag_id found in dags/"
        deadline = time.monotonic() + 240
        listed: set[str] = set()
        while time.monotonic() < deadline and not expected <= listed:
            time.sleep(3)
            listed = api.dag_ids()
        assert expected <= listed, f"API lists {sorted(listed)}, expected {sorted(expected)}"
        assert api.import_errors() == []

        if any(spec.name == ENGINE for spec in process_specs(settings)):
            with urllib.request.urlopen(settings.engine_url, timeout=5) as response:
                assert response.status == 200
    finally:
        down(settings)

    _, alive = psutil.wait_procs(started, timeout=10)
    assert not alive, f"still running after down: {[p.pid for p in alive]}"
    assert not list(settings.run_dir.glob("*.pid"))
