"""LeaderboardOperator against the local engine's S3: entries are stored one object each, a retry
rewrites the same objects, and the views rank every run's entries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from operators.leaderboard import LeaderboardOperator

pytestmark = pytest.mark.slow

BUCKET = "leaderboard-tests"


@pytest.fixture
def bucket(aws_connection, s3_client) -> str:
    s3_client.create_bucket(Bucket=BUCKET)
    return BUCKET


def _context(run_id: str) -> dict:
    logical_date = datetime(2026, 1, 4, tzinfo=UTC)
    return {"dag_run": SimpleNamespace(dag_id="kmeans_sweep", run_id=run_id, logical_date=logical_date)}


def _entry(k: int, msd: float | None) -> dict:
    return {"hyperparameters": {"k": k}, "metrics": {"test:msd": msd}, "training_job": f"job-k{k}"}


def _board(name: str, entries, **kwargs) -> LeaderboardOperator:
    return LeaderboardOperator(
        task_id="record_leaderboard", bucket=BUCKET, leaderboard=name, entries=entries, **kwargs
    )


def test_entries_are_appended_and_ranked_across_runs(bucket, s3_client, unique) -> None:
    name = unique("board")
    first = _board(name, [_entry(8, 2.5), _entry(10, 1.5)]).execute(_context("scheduled__2026-01-04"))
    second = _board(name, _entry(12, 2.0)).execute(_context("scheduled__2026-01-05"))

    assert first["entries"] == 2
    assert second["entries"] == 3
    assert first["run_best"]["hyperparameters"] == {"k": 10}
    assert second["run_best"]["hyperparameters"] == {"k": 12}
    assert second["report_s3_uri"] == f"s3://{BUCKET}/leaderboards/{name}/leaderboard.html"
    document = json.loads(
        s3_client.get_object(Bucket=BUCKET, Key=f"leaderboards/{name}/leaderboard.json")["Body"].read()
    )
    ranked = [(row["hyperparameters"]["k"], row["rank"]) for row in document["rows"]]
    assert ranked == [(10, 1), (12, 2), (8, 3)]
    assert {row["run_id"] for row in document["rows"]} == {
        "scheduled__2026-01-04",
        "scheduled__2026-01-05",
    }


def test_a_retry_rewrites_its_entries_instead_of_adding_rows(bucket, unique) -> None:
    name = unique("board-retry")
    first = _board(name, [_entry(8, 2.5)]).execute(_context("manual__retry"))
    again = _board(name, [_entry(8, 2.4)]).execute(_context("manual__retry"))
    assert again["written"] == first["written"]
    assert again["entries"] == 1


def test_an_entry_without_the_metric_is_listed_unranked(bucket, unique) -> None:
    name = unique("board-unranked")
    result = _board(name, [_entry(8, None)]).execute(_context("manual__none"))
    assert result["entries"] == 1
    assert result["run_best"] is None


def test_no_entries_and_a_bad_direction_are_refused(bucket, unique) -> None:
    with pytest.raises(ValueError, match="No entries to append"):
        _board(unique("board-empty"), []).execute(_context("manual__empty"))
    with pytest.raises(ValueError, match="Direction 'upward'"):
        _board("never", [], direction="upward")
