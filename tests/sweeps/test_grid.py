"""Sweep grids: validation errors name the bad key or value, expansion order is fixed, and a run's
logical date picks consecutive points for consecutive daily or weekly runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from include.sweeps.grid import (
    MAX_POINTS,
    GridError,
    apply_point,
    expand,
    parse_start,
    period_index,
    point_for_date,
    point_label,
    schedule_period,
    sweep_values,
    validate_grid,
)


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ([8, 10], "must be an object mapping hyperparameter names"),
        ({"k": 8}, "Grid name 'k' must map to a non-empty list of values; got 8"),
        ({"k": []}, "Grid name 'k' has an empty list of values"),
        ({"k": [8, None]}, "Grid name 'k' has value None at position 1"),
        ({"k": [8, [10]]}, "Grid name 'k' has value [10] at position 1"),
        ({"k": [8, 8]}, "Grid name 'k' lists the value 8 more than once"),
        ({"": [1]}, "Grid names must be non-empty strings; got ''"),
    ],
)
def test_invalid_grids_are_refused_naming_the_problem(grid, message) -> None:
    with pytest.raises(GridError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate_grid(grid)


def test_a_name_outside_the_allowed_set_is_refused() -> None:
    with pytest.raises(
        GridError,
        match=r"Grid name 'kk' is not a hyperparameter this DAG sweeps; choose from \['epochs', 'k'\]",
    ):
        validate_grid({"kk": [1]}, allowed={"k", "epochs"})


def test_true_and_one_are_different_values() -> None:
    assert validate_grid({"flag": [1, True]}) == {"flag": [1, True]}


def test_too_many_points_are_refused() -> None:
    with pytest.raises(GridError, match=f"at most {MAX_POINTS}"):
        validate_grid({"a": list(range(30)), "b": list(range(30))})


def test_points_are_the_product_with_names_sorted_and_the_last_varying_fastest() -> None:
    points = expand({"k": [8, 10, 12], "init_method": ["random", "kmeans++"]})
    assert points == [
        {"init_method": "random", "k": 8},
        {"init_method": "random", "k": 10},
        {"init_method": "random", "k": 12},
        {"init_method": "kmeans++", "k": 8},
        {"init_method": "kmeans++", "k": 10},
        {"init_method": "kmeans++", "k": 12},
    ]
    # The order does not depend on the order the names were given in.
    assert expand({"init_method": ["random", "kmeans++"], "k": [8, 10, 12]}) == points
    assert expand({}) == []


def test_point_label_is_a_valid_sagemaker_tag_value() -> None:
    assert point_label({"init_method": "kmeans++", "k": 8}) == "init_method=kmeans++ k=8"


def test_schedule_periods() -> None:
    assert schedule_period("@daily") == timedelta(days=1)
    assert schedule_period("@weekly") == timedelta(weeks=1)
    assert schedule_period(timedelta(hours=6)) == timedelta(hours=6)
    with pytest.raises(GridError, match="Schedule '@monthly' has no fixed period"):
        schedule_period("@monthly")
    with pytest.raises(GridError, match="must be positive"):
        schedule_period(timedelta(0))


def test_parse_start() -> None:
    assert parse_start("2026-01-01") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_start("2026-01-01T06:00:00+02:00") == datetime(2026, 1, 1, 4, tzinfo=UTC)
    with pytest.raises(GridError, match="Sweep start 'next week' is not a date"):
        parse_start("next week")


def test_daily_runs_take_consecutive_points_and_wrap_around() -> None:
    grid = {"k": [8, 10, 12]}
    days = [datetime(2026, 3, day, tzinfo=UTC) for day in range(1, 8)]
    picked = [point_for_date(grid, day, "2026-03-01", "@daily") for day in days]
    assert [index for index, _ in picked] == [0, 1, 2, 0, 1, 2, 0]
    assert [point["k"] for _, point in picked] == [8, 10, 12, 8, 10, 12, 8]


def test_weekly_runs_take_consecutive_points_whatever_day_they_fire() -> None:
    # @weekly fires on Sundays; 2026-01-01 is a Thursday. A backfill of 1-21 January runs 4, 11 and 18.
    sundays = [datetime(2026, 1, day, tzinfo=UTC) for day in (4, 11, 18, 25)]
    grid = {"k": [8, 10, 12]}
    assert [point_for_date(grid, sunday, "2026-01-01", "@weekly")[0] for sunday in sundays] == [0, 1, 2, 0]


def test_a_date_before_the_start_counts_backwards() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert period_index(datetime(2025, 12, 31, tzinfo=UTC), start, timedelta(days=1)) == -1
    assert point_for_date({"k": [8, 10, 12]}, datetime(2025, 12, 31, tzinfo=UTC), start, "@daily")[0] == 2


def test_picking_from_an_empty_grid_is_an_error() -> None:
    with pytest.raises(GridError, match="The grid is empty"):
        point_for_date({}, datetime(2026, 1, 1, tzinfo=UTC), "2026-01-01", "@daily")


def test_apply_point_overrides_matching_values_of_the_same_type() -> None:
    base = {"k": 10, "init_method": "random", "tol": 0.1}
    assert apply_point(base, {"k": 8, "tol": 1}) == {"k": 8, "init_method": "random", "tol": 1}
    with pytest.raises(GridError, match="Grid value '8' for 'k' is a str; 'k' takes a int such as 10"):
        apply_point(base, {"k": "8"})
    with pytest.raises(GridError, match="Grid value True for 'k' is a bool"):
        apply_point(base, {"k": True})
    with pytest.raises(GridError, match="Grid name 'epochs' is not one of the swept values"):
        apply_point(base, {"epochs": 2})


def test_sweep_values_use_the_params_as_given_without_a_grid() -> None:
    base = {"k": 10, "init_method": "random"}
    monday = datetime(2026, 1, 5, tzinfo=UTC)
    assert sweep_values(base, {}, monday, "2026-01-01", "@weekly") == {
        "index": None,
        "point": {},
        "values": base,
    }
    swept = sweep_values(base, {"k": [8, 12]}, monday, "2026-01-01", "@weekly")
    assert swept == {"index": 0, "point": {"k": 8}, "values": {"k": 8, "init_method": "random"}}
    with pytest.raises(GridError, match="Grid name 'epochs' is not a hyperparameter this DAG sweeps"):
        sweep_values(base, {"epochs": [1, 2]}, monday, "2026-01-01", "@weekly")
