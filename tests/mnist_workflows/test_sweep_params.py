"""The shared sweep params and the hyperparameters a run settles on, with a real DAG's params."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from airflow.sdk import DAG, Param
from airflow.sdk.definitions.param import ParamValidationError

from include.sweeps.grid import GridError
from mnist_workflows.sweep_params import run_sweep, sweep_params

START = datetime(2026, 1, 1)
NAMES = ("eta", "max_depth")


def test_the_two_params_default_to_no_sweep_from_the_start_date() -> None:
    params = sweep_params(START, NAMES, example={"eta": [0.1, 0.3]})
    assert set(params) == {"sweep_grid", "sweep_start"}
    assert params["sweep_grid"].resolve() == {}
    assert params["sweep_start"].resolve() == "2026-01-01"
    assert '{"eta": [0.1, 0.3]}' in params["sweep_grid"].description
    assert "eta, max_depth" in params["sweep_grid"].description


def test_the_grid_schema_refuses_names_not_swept_and_empty_lists() -> None:
    grid = sweep_params(START, NAMES, example={"max_depth": [3, 6]})["sweep_grid"]
    assert grid.resolve({"eta": [0.1, 0.2], "max_depth": [3]}) == {"eta": [0.1, 0.2], "max_depth": [3]}
    with pytest.raises(ParamValidationError, match="etta"):
        grid.resolve({"etta": [0.1]})
    with pytest.raises(ParamValidationError):
        grid.resolve({"eta": []})
    with pytest.raises(ParamValidationError):
        grid.resolve({"eta": 0.1})


def test_a_sweep_needs_names_and_an_example_of_them() -> None:
    with pytest.raises(ValueError, match=r"\(\)"):
        sweep_params(START, (), example={})
    with pytest.raises(GridError, match="'k'"):
        sweep_params(START, NAMES, example={"k": [8]})


def _dag() -> DAG:
    return DAG(
        "sweep_params_test",
        schedule="@weekly",
        start_date=START,
        params={
            "eta": Param(0.2, type="number"),
            "gamma": Param(4, type="number"),
            "max_depth": Param(5, type="integer"),
            **sweep_params(START, ("eta", "gamma", "max_depth"), example={"gamma": [0.5, 1.5]}),
        },
    )


def _params(dag: DAG, **conf) -> dict:
    return {name: dag.params[name] for name in dag.params} | conf


def test_without_a_grid_the_run_uses_the_params_as_given() -> None:
    dag = _dag()
    run = SimpleNamespace(logical_date=datetime(2026, 1, 18, tzinfo=UTC), run_after=None)
    sweep = run_sweep(("eta", "max_depth"), "@weekly", dag=dag, dag_run=run, params=_params(dag))
    assert sweep == {"index": None, "point": {}, "values": {"eta": 0.2, "max_depth": 5}}


def test_each_week_takes_the_next_point_and_a_number_param_takes_fractions() -> None:
    dag = _dag()
    params = _params(dag, sweep_grid={"gamma": [0.5, 1.5], "max_depth": [3, 6]})
    picked = [
        run_sweep(
            ("eta", "gamma", "max_depth"),
            "@weekly",
            dag=dag,
            dag_run=SimpleNamespace(logical_date=datetime(2026, 1, day, tzinfo=UTC), run_after=None),
            params=params,
        )
        for day in (4, 11, 18, 25)
    ]
    assert [sweep["index"] for sweep in picked] == [0, 1, 2, 3]
    assert [(s["values"]["gamma"], s["values"]["max_depth"]) for s in picked] == [
        (0.5, 3),
        (0.5, 6),
        (1.5, 3),
        (1.5, 6),
    ]
    assert picked[0]["values"]["eta"] == 0.2


def test_an_integer_param_refuses_a_fraction() -> None:
    dag = _dag()
    run = SimpleNamespace(logical_date=None, run_after=datetime(2026, 1, 4, tzinfo=UTC))
    params = _params(dag, sweep_grid={"max_depth": [2.5]})
    with pytest.raises(GridError, match=r"2\.5"):
        run_sweep(("max_depth",), "@weekly", dag=dag, dag_run=run, params=params)
