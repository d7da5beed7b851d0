"""Hyperparameter grids: validate one, expand it into points, and pick the point of a scheduled run.

A grid maps hyperparameter names to non-empty lists of values::

    {"k": [8, 10, 12], "init_method": ["random", "kmeans++"]}

Its points are the cartesian product in a fixed order: names alphabetically (a grid that went through
JSON with sorted keys expands the same way), values in the order given, the last name varying fastest.
The grid above gives ``{"init_method": "random", "k": 8}``, ``{"init_method": "random", "k": 10}``, …,
``{"init_method": "kmeans++", "k": 12}``.

**Which point a run gets.** The point's index is the number of whole schedule periods between the sweep's
start and the run's logical date, modulo the number of points::

    index = floor((logical_date - start) / period) mod len(points)

Consecutive runs of a fixed-period schedule (``@hourly``, ``@daily``, ``@weekly`` or a ``timedelta``) lie
exactly one period apart, so they take consecutive points whatever time of day or week the schedule fires,
and ``airflow backfill create --from-date A --to-date B`` walks the grid point by point, wrapping around
after the last one. A logical date before the start counts backwards (it is still a valid point).
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

# SageMaker's own ceiling on the training jobs of one tuning job; a larger grid is almost surely a typo.
MAX_POINTS = 500
SCHEDULE_PERIODS = {
    "@hourly": timedelta(hours=1),
    "@daily": timedelta(days=1),
    "@weekly": timedelta(weeks=1),
}

Value = str | int | float | bool
Point = dict[str, Value]


class GridError(ValueError):
    """A sweep grid, schedule or start date that cannot be used; the message names the offending value."""


def validate_grid(grid: Any, allowed: Collection[str] | None = None) -> dict[str, list[Value]]:
    """``grid`` checked and copied with its names in expansion order.

    ``allowed``, if given, is the set of hyperparameter names the caller can sweep; any other name is an
    error. Values must be strings, numbers or booleans, and none may repeat within a name.
    """
    if not isinstance(grid, Mapping):
        raise GridError(
            "A sweep grid must be an object mapping hyperparameter names to lists of values, "
            f'e.g. {{"k": [8, 10]}}; got {type(grid).__name__} {grid!r}'
        )
    checked: dict[str, list[Value]] = {}
    for name in sorted(grid, key=str):
        if not isinstance(name, str) or not name.strip():
            raise GridError(f"Grid names must be non-empty strings; got {name!r}")
        if allowed is not None and name not in allowed:
            raise GridError(
                f"Grid name {name!r} is not a hyperparameter this DAG sweeps; choose from {sorted(allowed)}"
            )
        checked[name] = _checked_values(name, grid[name])
    points = 1
    for values in checked.values():
        points *= len(values)
    if points > MAX_POINTS:
        sizes = {name: len(values) for name, values in checked.items()}
        raise GridError(f"The grid has {points} points ({sizes}); at most {MAX_POINTS} are allowed")
    return checked


def _checked_values(name: str, values: Any) -> list[Value]:
    if not isinstance(values, list | tuple):
        raise GridError(f"Grid name {name!r} must map to a non-empty list of values; got {values!r}")
    if not values:
        raise GridError(f"Grid name {name!r} has an empty list of values; give at least one")
    seen: set[tuple[type, Value]] = set()
    for position, value in enumerate(values):
        if not isinstance(value, str | int | float | bool):
            raise GridError(
                f"Grid name {name!r} has value {value!r} at position {position}; values must be strings, "
                "numbers or booleans"
            )
        # True == 1 in Python, but they are different hyperparameter values.
        identity = (type(value), value)
        if identity in seen:
            raise GridError(f"Grid name {name!r} lists the value {value!r} more than once")
        seen.add(identity)
    return list(values)


def expand(grid: Any, allowed: Collection[str] | None = None) -> list[Point]:
    """Every point of ``grid`` (validated first), in the order described in this module's docstring.

    An empty grid has no points.
    """
    checked = validate_grid(grid, allowed)
    if not checked:
        return []
    names = list(checked)
    return [
        dict(zip(names, combination, strict=True)) for combination in itertools.product(*checked.values())
    ]


def point_label(point: Mapping[str, Value]) -> str:
    """``k=8 init_method=random``: a point as one short line (valid as a SageMaker tag value)."""
    return " ".join(f"{name}={value}" for name, value in point.items())


def schedule_period(schedule: str | timedelta) -> timedelta:
    """The fixed period of a DAG schedule: ``@hourly``, ``@daily``, ``@weekly`` or a ``timedelta``."""
    if isinstance(schedule, timedelta):
        if schedule <= timedelta(0):
            raise GridError(f"A schedule period must be positive; got {schedule}")
        return schedule
    if schedule in SCHEDULE_PERIODS:
        return SCHEDULE_PERIODS[schedule]
    raise GridError(
        f"Schedule {schedule!r} has no fixed period; sweeps by date need one of {sorted(SCHEDULE_PERIODS)} "
        "or a timedelta"
    )


def parse_start(text: str | date | datetime) -> datetime:
    """The sweep's start as an aware datetime: ``2026-01-01`` is midnight UTC; naive times are UTC."""
    if isinstance(text, datetime):
        moment = text
    elif isinstance(text, date):
        moment = datetime(text.year, text.month, text.day)
    else:
        try:
            moment = datetime.fromisoformat(str(text).strip())
        except ValueError:
            raise GridError(
                f"Sweep start {text!r} is not a date; use YYYY-MM-DD or an ISO 8601 date and time"
            ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def period_index(logical_date: datetime, start: datetime, period: timedelta) -> int:
    """How many whole ``period``s ``logical_date`` lies after ``start`` (negative before it)."""
    logical_date = logical_date if logical_date.tzinfo else logical_date.replace(tzinfo=UTC)
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    return (logical_date - start) // period


def point_for_date(
    grid: Any,
    logical_date: datetime,
    start: str | date | datetime,
    schedule: str | timedelta,
    allowed: Collection[str] | None = None,
) -> tuple[int, Point]:
    """``(index, point)`` of the grid point a run with ``logical_date`` takes (see the module docstring)."""
    points = expand(grid, allowed)
    if not points:
        raise GridError("The grid is empty: there is no point to pick")
    index = period_index(logical_date, parse_start(start), schedule_period(schedule)) % len(points)
    return index, points[index]


def apply_point(base: Mapping[str, Value], point: Mapping[str, Value]) -> dict[str, Value]:
    """``base`` with ``point``'s values; each must be of the type of the value it replaces (an integer
    may replace a float), and name a key of ``base``."""
    values = dict(base)
    for name, value in point.items():
        if name not in base:
            raise GridError(f"Grid name {name!r} is not one of the swept values {sorted(base)}")
        expected = type(base[name])
        compatible = type(value) is expected or (expected is float and type(value) is int)
        if not compatible:
            raise GridError(
                f"Grid value {value!r} for {name!r} is a {type(value).__name__}; "
                f"{name!r} takes a {expected.__name__} such as {base[name]!r}"
            )
        values[name] = value
    return values


def sweep_values(
    base: Mapping[str, Value],
    grid: Any,
    logical_date: datetime,
    start: str | date | datetime,
    schedule: str | timedelta,
) -> dict[str, Any]:
    """The values a run uses: ``base`` as given when ``grid`` is empty, else overridden by the point its
    ``logical_date`` picks. Returns ``{"index": int | None, "point": {...}, "values": {...}}``."""
    if not grid:
        return {"index": None, "point": {}, "values": dict(base)}
    index, point = point_for_date(grid, logical_date, start, schedule, allowed=base.keys())
    return {"index": index, "point": point, "values": apply_point(base, point)}
