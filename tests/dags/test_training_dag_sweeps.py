"""Every training DAG can be swept by backfill onto its own leaderboard: parse-time checks of the five DAGs
(their runs are in ``test_<dag>_run.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from mnist_workflows.spec import DIRECTIONS, SWEPT_BY_DATE
from mnist_workflows.sweep_params import run_sweep
from tests.support.dags import load_dag

# dag id: (params a grid may override, leaderboard, ranking metric, direction), as the DAGs' specs state them
TRAINING_DAGS = {
    spec.dag_id: (spec.swept, spec.leaderboard, spec.metric, spec.direction) for spec in SWEPT_BY_DATE
}
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("dag_id", TRAINING_DAGS)
def test_the_dag_sweeps_its_hyperparameters_onto_its_leaderboard(dag_id: str) -> None:
    swept, leaderboard, metric, direction = TRAINING_DAGS[dag_id]
    dag = load_dag(dag_id)
    grid_param = dag.params.get_param("sweep_grid")
    assert grid_param.schema["propertyNames"]["enum"] == list(swept)
    assert dag.params["sweep_start"] == "2026-01-01"

    record = dag.get_task("record_leaderboard")
    assert (record.leaderboard, record.metric, record.direction) == (leaderboard, metric, direction)
    assert not record.is_setup
    assert not record.is_teardown
    # No teardown waits for it, so it is outside the setups' scope: clearing it never re-deploys an
    # endpoint, and the teardowns still run right after the report.
    assert not any(task.is_teardown for task in record.get_flat_relatives(upstream=False))


@pytest.mark.parametrize("dag_id", TRAINING_DAGS)
def test_a_grid_of_two_values_per_param_walks_week_by_week(dag_id: str) -> None:
    swept = TRAINING_DAGS[dag_id][0]
    dag = load_dag(dag_id)
    defaults = {name: dag.params[name] for name in dag.params}
    # Each swept param's default and one other value it accepts: every point must apply cleanly.
    grid = {name: [defaults[name], _another_value(dag.params.get_param(name))] for name in swept}
    sundays = [datetime(2026, 1, 4, tzinfo=UTC), datetime(2026, 1, 11, tzinfo=UTC)]
    picked = [
        run_sweep(
            swept,
            "@weekly",
            dag=dag,
            dag_run=SimpleNamespace(logical_date=sunday, run_after=None),
            params={**defaults, "sweep_grid": grid},
        )
        for sunday in sundays
    ]
    assert [sweep["index"] for sweep in picked] == [0, 1]
    assert picked[0]["values"] == {name: defaults[name] for name in swept}
    # Names expand alphabetically, the last varying fastest: the second week changes only that one.
    fastest = sorted(swept)[-1]
    assert picked[1]["values"] == {**picked[0]["values"], fastest: grid[fastest][1]}


@pytest.mark.parametrize("dag_id", TRAINING_DAGS)
def test_the_readme_sweep_table_states_the_spec(dag_id: str) -> None:
    swept, leaderboard, metric, direction = TRAINING_DAGS[dag_id]
    swept_names = ", ".join(f"`{name}`" for name in swept)
    row = f"| `{dag_id}` | {swept_names} | `{leaderboard}` | `{metric}`, {DIRECTIONS[direction]} |"
    assert row in README.read_text().splitlines()


def _another_value(param):
    schema = param.schema
    if "enum" in schema:
        return next(value for value in schema["enum"] if value != param.value)
    if schema.get("type") == "number":
        return param.value / 2
    return param.value + 1
