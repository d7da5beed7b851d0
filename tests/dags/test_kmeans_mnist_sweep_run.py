"""kmeans_mnist swept by date: three runs with one grid and three logical dates (what
``airflow backfill create`` makes) train three different grid points, and the shared leaderboard ends
with one row per run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from include.sagemaker_requests.names import run_names
from tests.support.dags import fast_dag, read_json

pytestmark = pytest.mark.slow

# @weekly fires on Sundays: a backfill of 1-21 January 2026 runs these three dates.
SUNDAYS = [datetime(2026, 1, day, tzinfo=UTC) for day in (4, 11, 18)]
GRID = {"k": [6, 8, 12]}


def test_three_logical_dates_train_three_points_onto_one_leaderboard(clients: dict) -> None:
    dag = fast_dag("kmeans_mnist")
    conf = {"sweep_grid": GRID, "sweep_start": "2026-01-01", "validation_records": 200}
    runs = [dag.test(logical_date=sunday, run_conf=conf) for sunday in SUNDAYS]
    assert [run.state for run in runs] == ["success"] * 3

    trained_k = [
        clients["sagemaker"].describe_training_job(
            TrainingJobName=run_names("kmeans_mnist", run.run_id).training_job
        )["HyperParameters"]["k"]
        for run in runs
    ]
    assert trained_k == ["6", "8", "12"]

    # The board is shared by every kmeans_mnist run, including other tests' runs on the same S3.
    board = read_json(clients["s3"], "leaderboards/kmeans-mnist/leaderboard.json")
    assert board["entries"] == len(board["rows"])
    rows = {row["run_id"]: row for row in board["rows"]}
    assert {run.run_id for run in runs} <= set(rows)
    for run, sunday, k in zip(runs, SUNDAYS, (6, 8, 12), strict=True):
        row = rows[run.run_id]
        assert row["hyperparameters"] == {
            "k": k,
            "epochs": 1,
            "init_method": "random",
            "mini_batch_size": 500,
        }
        assert datetime.fromisoformat(row["logical_date"]) == sunday
        assert set(row["metrics"]) >= {"purity", "nmi", "ari", "test:msd"}
        assert row["report_uri"].endswith("/report/report.html")
    msd = [row["metrics"]["test:msd"] for row in board["rows"]]
    assert msd == sorted(msd)
    ranks = [row["rank"] for row in board["rows"]]
    assert ranks[0] == 1
    assert ranks == sorted(ranks)
