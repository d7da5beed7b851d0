"""The two params that let a backfill sweep any training DAG, and the hyperparameters a run settles on.

A training DAG lists the params a grid may override (its hyperparameters), takes ``sweep_params(...)`` in
its params, and calls :func:`run_sweep` in its ``plan_run`` task; each run of a backfill then trains the
grid point its logical date picks (:mod:`include.sweeps.grid`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from airflow.sdk import Param

from include.sweeps.grid import sweep_values, validate_grid


def sweep_params(
    start_date: datetime,
    swept_names: Sequence[str],
    *,
    example: Mapping[str, list],
    section: str | None = None,
) -> dict[str, Param]:
    """``{"sweep_grid": Param, "sweep_start": Param}`` for a DAG whose grid may override ``swept_names``.

    The grid's schema only admits those names, each with a non-empty list, so the trigger form and
    ``--dag-run-conf`` refuse a typo before the run starts. ``example``, a grid over some of those names,
    is shown in the description. ``section`` names the trigger form's group of fields they appear in.
    """
    names = list(swept_names)
    if not names or not all(isinstance(name, str) and name for name in names):
        raise ValueError(f"A sweep needs the names of the params it may override; got {swept_names!r}")
    validate_grid(example, allowed=names)
    in_section = {"section": section} if section else {}
    return {
        "sweep_grid": Param(
            {},
            type="object",
            propertyNames={"enum": names},
            additionalProperties={"type": "array", "minItems": 1},
            title="Sweep grid",
            description=f"Values to sweep by logical date, e.g. {json.dumps(example)}: each run takes the "
            "grid point of its schedule period after the sweep start and overrides the params of the "
            f"same name ({', '.join(names)}). Empty: use the params as given.",
            **in_section,
        ),
        "sweep_start": Param(
            start_date.date().isoformat(),
            type="string",
            format="date",
            title="Sweep start",
            description="The schedule period of this date takes the grid's first point, the next period "
            "the second, and so on, wrapping around after the last.",
            **in_section,
        ),
    }


def run_sweep(swept_names: Sequence[str], schedule: str, *, dag: Any, dag_run: Any, params: Mapping) -> dict:
    """The hyperparameters of this run: ``{"index", "point", "values"}`` from
    :func:`include.sweeps.grid.sweep_values`, its base being the ``swept_names`` params as given.

    A param declared ``type: number`` is a float here even when given as ``4``, so a grid may sweep it
    with fractions.
    """
    base = {name: _as_declared(dag.params.get_param(name).schema, params[name]) for name in swept_names}
    return sweep_values(
        base,
        params["sweep_grid"],
        dag_run.logical_date or dag_run.run_after,
        params["sweep_start"],
        schedule,
    )


def _as_declared(schema: Mapping[str, Any], value: Any) -> Any:
    if schema.get("type") == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
