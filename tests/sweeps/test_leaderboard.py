"""The shared leaderboard: entries as one object each, ranking by a metric in either direction, the JSON,
CSV and HTML views, and concurrent appends to S3 that never lose an entry."""

from __future__ import annotations

import csv
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from include.sweeps.entries import final_metrics, report_entry, training_entry
from include.sweeps.leaderboard import (
    Leaderboard,
    LeaderboardError,
    append_entry,
    entry_id,
    publish,
    rank,
    read_entries,
)
from include.sweeps.views import to_csv, to_html


class MemoryStore:
    """An in-memory EntryStore, to test the logic without S3."""

    def __init__(self):
        self.objects: dict[str, bytes] = {}
        self.lock = threading.Lock()

    def put(self, key: str, body: bytes, content_type: str) -> None:
        with self.lock:
            self.objects[key] = body

    def keys(self, prefix: str) -> list[str]:
        with self.lock:
            return [key for key in self.objects if key.startswith(prefix)]

    def get(self, key: str) -> bytes:
        with self.lock:
            return self.objects[key]


class Boto3Store:
    """An EntryStore over one bucket of a real S3 API (the local engine's here)."""

    def __init__(self, client, bucket: str):
        self.client, self.bucket = client, bucket

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def keys(self, prefix: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()


def _entry(k: int, msd: float | None, **extra) -> dict:
    return {"hyperparameters": {"k": k}, "metrics": {"test:msd": msd, "purity": 0.5}, **extra}


def test_entry_ids_are_unique_per_dag_run_and_index_and_stable() -> None:
    run = "backfill__2026-01-04T00:00:00+00:00"
    assert entry_id("kmeans_mnist", run, 0) == entry_id("kmeans_mnist", run, 0)
    ids = {entry_id(dag, run, index) for dag in ("kmeans_mnist", "kmeans_sweep") for index in (0, 1)}
    assert len(ids) == 4
    assert entry_id("kmeans_mnist", run, 2).startswith("kmeans-mnist-20260104t000000-")
    with pytest.raises(LeaderboardError, match="non-negative integer, got -1"):
        entry_id("kmeans_mnist", run, -1)


def test_bad_names_directions_and_entries_are_refused() -> None:
    with pytest.raises(LeaderboardError, match="Leaderboard name 'Bad Name'"):
        Leaderboard("Bad Name")
    with pytest.raises(LeaderboardError, match="Direction 'lowest' must be one of"):
        Leaderboard("ok", direction="lowest")
    store, board = MemoryStore(), Leaderboard("ok")
    with pytest.raises(LeaderboardError, match="needs 'hyperparameters' as an object"):
        append_entry(store, board, "e-0", {"metrics": {}})
    with pytest.raises(LeaderboardError, match=r"Metric 'test:msd' of entry .* must be a number, got 'low'"):
        append_entry(store, board, "e-0", {"hyperparameters": {}, "metrics": {"test:msd": "low"}})
    assert store.objects == {}


def test_each_entry_is_its_own_object_and_a_rewrite_replaces_it() -> None:
    store, board = MemoryStore(), Leaderboard("kmeans-mnist")
    key = append_entry(store, board, "run-a-0", _entry(8, 2.0))
    assert key == "leaderboards/kmeans-mnist/entries/run-a-0.json"
    append_entry(store, board, "run-b-0", _entry(10, 1.0))
    append_entry(store, board, "run-a-0", _entry(8, 2.0))  # a retry of run a
    entries = read_entries(store, board)
    assert sorted(e["entry_id"] for e in entries) == ["run-a-0", "run-b-0"]


def test_a_corrupt_entry_is_reported_by_key() -> None:
    store, board = MemoryStore(), Leaderboard("kmeans-mnist")
    store.put("leaderboards/kmeans-mnist/entries/broken.json", b"{not json", "application/json")
    with pytest.raises(LeaderboardError, match=r"entries/broken\.json is not a valid entry"):
        read_entries(store, board)


def test_ranking_minimize_and_maximize_ties_and_missing_metrics() -> None:
    entries = [
        _entry(8, 3.0, entry_id="a", recorded_at="1"),
        _entry(10, 1.0, entry_id="b", recorded_at="2"),
        _entry(12, None, entry_id="c", recorded_at="0"),
        _entry(14, 1.0, entry_id="d", recorded_at="3"),
    ]
    lowest_first = rank(entries, "test:msd", "minimize")
    assert [(e["entry_id"], e["rank"]) for e in lowest_first] == [("b", 1), ("d", 1), ("a", 3), ("c", None)]
    highest_first = rank(entries, "test:msd", "maximize")
    assert [(e["entry_id"], e["rank"]) for e in highest_first] == [("a", 1), ("b", 2), ("d", 2), ("c", None)]
    with pytest.raises(LeaderboardError, match="Direction 'up'"):
        rank(entries, "test:msd", "up")


def test_publish_writes_json_csv_and_html_ranked() -> None:
    store, board = MemoryStore(), Leaderboard("kmeans-mnist", "test:msd", "minimize")
    for k, msd in ((8, 3.5), (10, 1.25), (12, 2.0)):
        append_entry(store, board, f"run-{k}-0", _entry(k, msd, run_id=f"run {k}", report_uri="s3://b/<r>"))
    document = publish(store, board)
    stored = json.loads(store.get("leaderboards/kmeans-mnist/leaderboard.json"))
    assert stored["entries"] == document["entries"] == 3
    assert [row["hyperparameters"]["k"] for row in stored["rows"]] == [10, 12, 8]

    rows = list(csv.DictReader(io.StringIO(store.get("leaderboards/kmeans-mnist/leaderboard.csv").decode())))
    assert [row["k"] for row in rows] == ["10", "12", "8"]
    assert [row["rank"] for row in rows] == ["1", "2", "3"]
    assert list(rows[0])[:4] == ["rank", "test:msd", "purity", "k"]

    page = store.get("leaderboards/kmeans-mnist/leaderboard.html").decode()
    assert page.startswith("<!DOCTYPE html>")
    assert "src=" not in page  # self-contained
    assert "href=" not in page
    assert "s3://b/&lt;r&gt;" in page  # values are escaped
    assert page.index("run 10") < page.index("run 12") < page.index("run 8")
    assert "<tr class='best'>" in page


def test_views_of_an_empty_board() -> None:
    document = {
        "name": "x",
        "metric": "m",
        "direction": "minimize",
        "updated_at": "t",
        "entries": 0,
        "rows": [],
    }
    assert to_csv(document).splitlines()[0].startswith("rank,m,")
    assert "0 entries ranked by m" in to_html(document)


def test_training_entry_reads_final_metrics_and_the_model() -> None:
    job = {
        "TrainingJobName": "job-1",
        "FinalMetricDataList": [
            {"MetricName": "test:msd", "Value": 1.5},
            {"MetricName": "test:ssd", "Value": 9},
        ],
        "ModelArtifacts": {"S3ModelArtifacts": "s3://b/job-1/output/model.tar.gz"},
    }
    assert final_metrics({}) == {}
    entry = training_entry(job, {"k": 8}, {"purity": 0.7}, report_uri="s3://b/report.html")
    assert entry == {
        "hyperparameters": {"k": 8},
        "metrics": {"test:msd": 1.5, "test:ssd": 9.0, "purity": 0.7},
        "training_job": "job-1",
        "model_artifact": "s3://b/job-1/output/model.tar.gz",
        "report_uri": "s3://b/report.html",
    }


def test_report_entry_takes_the_named_metrics_and_the_report_uri() -> None:
    job = {
        "TrainingJobName": "job-2",
        "FinalMetricDataList": [{"MetricName": "validation:merror", "Value": 0.1}],
    }
    report = {"accuracy": 0.91, "macro_f1": 0.9, "records": 500, "report_s3_uri": "s3://b/r/report.html"}
    entry = report_entry(job, {"eta": 0.2}, report, ("accuracy",), sweep_point=1)
    assert entry["metrics"] == {"validation:merror": 0.1, "accuracy": 0.91}
    assert entry["report_uri"] == "s3://b/r/report.html"
    assert entry["sweep_point"] == 1
    with pytest.raises(ValueError, match="purity"):
        report_entry(job, {"eta": 0.2}, report, ("purity",))


def test_concurrent_runs_appending_to_s3_never_lose_an_entry(s3_endpoint: str) -> None:
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="leaderboard-race")
    store, board = Boto3Store(client, "leaderboard-race"), Leaderboard("race")
    runs = [f"scheduled__2026-01-{day:02d}T00:00:00+00:00" for day in range(1, 13)]
    start = threading.Barrier(len(runs))

    def one_run(position: int) -> None:
        start.wait()  # every run appends and publishes at the same moment
        for index in range(2):
            append_entry(
                store, board, entry_id("race_dag", runs[position], index), _entry(position, position + index)
            )
        publish(store, board)

    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        list(pool.map(one_run, range(len(runs))))

    assert len(read_entries(store, board)) == 2 * len(runs)
    # Every run published after its own append, so the views the last writer left hold every entry.
    final = json.loads(store.get(board.view_key("json")))
    assert final["entries"] == 2 * len(runs)
    assert [row["metrics"]["test:msd"] for row in final["rows"]][:3] == [0, 1, 1]
