"""Every training DAG can be swept by backfill onto its own leaderboard: parse-time checks of the five DAGs
(their runs are in ``test_<dag>_run.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from dag_support import load_dag

from operators.sweep_params import run_sweep

# dag id: (params a grid may override, leaderboard, ranking metric, direction)
TRAINING_DAGS = {
    "kmeans_mnist": (
        ("k", "epochs", "init_method", "mini_batch_size"),
        "kmeans-mnist",
        "test:msd",
        "minimize",
    ),
    "xgboost_mnist": (
        ("eta", "gamma", "min_child_weight", "num_round", "max_depth"),
        "xgboost-mnist",
        "accuracy",
        "maximize",
    ),
    "linear_learner_mnist": (
        ("epochs", "mini_batch_size", "num_models", "model_selection_criteria"),
        "linear-learner-mnist",
        "accuracy",
        "maximize",
    ),
    "pca_kmeans_mnist": (
        ("num_components", "k", "epochs", "mini_batch_size"),
        "pca-kmeans-mnist",
        "purity",
        "maximize",
    ),
    "mnist_batch_transform": (
        ("hidden_units", "max_iter", "alpha"),
        "mnist-batch-transform",
        "accuracy",
        "maximize",
    ),
}


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


def _another_value(param):
    schema = param.schema
    if "enum" in schema:
        return next(value for value in schema["enum"] if value != param.value)
    if schema.get("type") == "number":
        return param.value / 2
    return param.value + 1
