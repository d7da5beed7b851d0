"""``make demo``'s progress lines: each task's start and end, read from the run's metadata database."""

from __future__ import annotations

import io
import sqlite3
from contextlib import closing
from datetime import datetime

from include.devstack.progress import ProgressPrinter, TaskState, latest_run_id, task_states, watch

START = datetime(2026, 12, 1, 22, 31, 7)
END = datetime(2026, 12, 1, 22, 31, 40, 500000)


def test_a_task_is_reported_when_it_starts_and_when_it_ends_with_its_duration() -> None:
    printer = ProgressPrinter()

    plan = TaskState("plan_run", -1, "success", datetime(2026, 12, 1, 22, 31, 5), START)

    assert printer.changes([plan, TaskState("train", -1, "queued")]) == [
        "22:31:07  +   2.0 s  plan_run  success (2.0 s)"
    ]
    assert printer.changes([plan, TaskState("train", -1, "running", START)]) == [
        "22:31:07  +   2.0 s  train  started"
    ]
    assert printer.changes([plan, TaskState("train", -1, "running", START)]) == []
    assert printer.changes([plan, TaskState("train", -1, "success", START, END)]) == [
        "22:31:40  +  35.5 s  train  success (33.5 s)"
    ]


def test_mapped_tasks_deferrals_and_failures_each_get_a_line_in_start_order() -> None:
    printer = ProgressPrinter()
    later = datetime(2026, 12, 1, 22, 32)
    snapshot = [
        TaskState("teardown", -1, "upstream_failed", None, None),
        TaskState("train", 1, "deferred", later),
        TaskState("train", 0, "failed", START, END),
    ]

    lines = printer.changes(snapshot)

    assert [line.split(" s  ", 1)[1] for line in lines] == [
        "train[0]  failed (33.5 s)",
        "train[1]  deferred",
        "teardown  upstream_failed",
    ]


def _database(path) -> None:
    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(
            """
            CREATE TABLE dag_run (id INTEGER PRIMARY KEY, dag_id TEXT, run_id TEXT);
            CREATE TABLE task_instance (dag_id TEXT, run_id TEXT, task_id TEXT, map_index INTEGER,
                                        state TEXT, start_date TEXT, end_date TEXT);
            INSERT INTO dag_run VALUES (1, 'kmeans_mnist', 'earlier'), (2, 'other', 'other-run');
            INSERT INTO task_instance VALUES
                ('kmeans_mnist', 'earlier', 'plan_run', -1, 'success',
                 '2026-11-30 10:00:00.000000', '2026-11-30 10:00:01.000000'),
                ('other', 'other-run', 'plan_run', -1, 'running', '2026-12-01 22:31:00.000000', NULL);
            """
        )
        connection.commit()


def _add_run(path, run_id: str, *tasks: tuple) -> None:
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("INSERT INTO dag_run (dag_id, run_id) VALUES ('kmeans_mnist', ?)", (run_id,))
        connection.executemany(
            "INSERT INTO task_instance VALUES ('kmeans_mnist', ?, ?, ?, ?, ?, ?)",
            [(run_id, *task) for task in tasks],
        )
        connection.commit()


def test_only_the_run_started_after_the_watch_began_is_read(tmp_path) -> None:
    database = tmp_path / "airflow.db"
    assert latest_run_id(database, "kmeans_mnist") == 0  # no database yet: nothing to read
    _database(database)
    before = latest_run_id(database, "kmeans_mnist")
    assert task_states(database, "kmeans_mnist", before) == []

    _add_run(
        database,
        "manual__now",
        ("plan_run", -1, "success", "2026-12-01 22:31:07.000000", "2026-12-01 22:31:40.500000"),
        ("ingest_mnist", -1, "running", "2026-12-01 22:31:41.000000", None),
    )

    assert sorted(task_states(database, "kmeans_mnist", before), key=lambda t: t.task_id) == [
        TaskState("ingest_mnist", -1, "running", datetime(2026, 12, 1, 22, 31, 41), None),
        TaskState("plan_run", -1, "success", START, END),
    ]


class _Run:
    """A process that is running for ``polls`` polls and then exits."""

    def __init__(self, polls: int, on_poll) -> None:
        self.polls, self.on_poll = polls, on_poll

    def poll(self):
        self.polls -= 1
        self.on_poll(self.polls)
        return None if self.polls > 0 else 0


def test_watch_prints_every_change_until_the_run_ends(tmp_path) -> None:
    database = tmp_path / "airflow.db"
    _database(database)
    before = latest_run_id(database, "kmeans_mnist")

    def progress(polls_left: int) -> None:
        if polls_left == 2:
            _add_run(database, "manual__now", ("plan_run", -1, "running", "2026-12-01 22:31:07", None))
        if polls_left == 0:  # the run's last write lands as it exits
            with closing(sqlite3.connect(database)) as connection:
                connection.execute(
                    "UPDATE task_instance SET state = 'success', end_date = '2026-12-01 22:31:40.500000' "
                    "WHERE run_id = 'manual__now'"
                )
                connection.commit()

    out = io.StringIO()
    watch(_Run(3, progress), database, "kmeans_mnist", before, interval=0, out=out)

    assert out.getvalue().splitlines() == [
        "22:31:07  +   0.0 s  plan_run  started",
        "22:31:40  +  33.5 s  plan_run  success (33.5 s)",
    ]
