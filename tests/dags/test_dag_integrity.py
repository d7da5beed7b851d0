"""Every DAG file imports anywhere: no connection, no variable, no network at parse time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAG_FILES = sorted(p for p in (REPO / "dags").glob("*.py") if not p.name.startswith("_"))

# Parses each DAG file in turn, in a fresh interpreter that fails on any network access, with no
# AIRFLOW_CONN_* / AIRFLOW_VAR_* set, and prints what the checks below need. A heavy library counts
# against the first file that imports it (its test fails), so one interpreter serves all files.
_PARSE = r"""
import json, sys

def forbid_network(event, args):
    if event in ("socket.connect", "socket.getaddrinfo"):
        raise RuntimeError(f"network access at parse time: {event} {args!r}")

sys.addaudithook(forbid_network)
HEAVY = ("sklearn", "matplotlib", "fastparquet", "xgboost")
from airflow.dag_processing.dagbag import DagBag

parsed = {}
for dag_file in sys.argv[1:]:
    already_imported = {name for name in HEAVY if name in sys.modules}
    bag = DagBag(dag_folder=dag_file)
    parsed[dag_file] = {
        "errors": {k: str(v) for k, v in bag.import_errors.items()},
        "dags": {
            dag_id: {
                "tags": sorted(dag.tags),
                "doc_md": dag.doc_md,
                "owners": sorted({t.owner for t in dag.tasks}),
                "retries": sorted({t.retries for t in dag.tasks if not t.is_teardown}),
                "tasks": len(dag.tasks),
            }
            for dag_id, dag in bag.dags.items()
        },
        "heavy_modules": sorted(set(HEAVY) & set(sys.modules) - already_imported),
    }
print(json.dumps(parsed))
"""


@pytest.fixture(scope="module")
def parsed_dag_files() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
    result = subprocess.run(
        [sys.executable, "-c", _PARSE, *map(str, DAG_FILES)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_there_are_dags() -> None:
    assert DAG_FILES, "dags/ holds no DAG file"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=[p.name for p in DAG_FILES])
def test_dag_file_parses_offline_with_no_configuration(dag_file: Path, parsed_dag_files: dict) -> None:
    parsed = parsed_dag_files[str(dag_file)]
    assert parsed["errors"] == {}
    # The dag-processor re-parses every file often: the libraries tasks use load when a task runs.
    assert parsed["heavy_modules"] == [], f"{dag_file.name} imports {parsed['heavy_modules']} at parse time"
    assert parsed["dags"], f"{dag_file.name} defines no DAG"
    for dag_id, dag in parsed["dags"].items():
        assert dag["tags"], f"{dag_id} has no tags"
        assert len(dag["doc_md"] or "") > 100, f"{dag_id} has no real doc_md"
        assert dag["owners"], f"{dag_id} has no task"
        assert "airflow" not in dag["owners"], f"{dag_id} tasks keep the default owner"
        assert min(dag["retries"], default=0) >= 1, f"{dag_id} has tasks without retries"
        assert dag["tasks"] > 1
