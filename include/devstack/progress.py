"""A DAG run's progress as it happens: each task's start and end, read from Airflow's metadata database.

``make demo`` runs its DAG with ``dag.test()`` in a child interpreter; :func:`watch` polls the run's task
instances in the SQLite database they share and prints each change as a line such as
``22:31:07  +  12.4 s  train  started`` or ``22:31:40  +  45.4 s  train  success (33.0 s)``: the time
(UTC) the task started or ended, that time counted from the run's first task, and what happened.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

# Where a task has got to that a person watching wants to know; scheduled and queued are not news.
FINISHED_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
REPORTED_STATES = FINISHED_STATES | {"running", "deferred", "up_for_retry", "up_for_reschedule"}


@dataclass(frozen=True)
class TaskState:
    """One task instance of the run as the metadata database holds it (dates naive UTC, as stored)."""

    task_id: str
    map_index: int
    state: str | None
    start_date: datetime | None = None
    end_date: datetime | None = None

    @property
    def label(self) -> str:
        return self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"


class ProgressPrinter:
    """Turns successive snapshots of a run's task instances into one line per change of state."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, int], str | None] = {}
        self._origin: datetime | None = None  # when the run's first task started

    def changes(self, tasks: Iterable[TaskState]) -> list[str]:
        """The lines for what changed since the last snapshot, in the order the tasks started."""
        tasks = sorted(tasks, key=lambda t: (t.start_date or datetime.max, t.task_id, t.map_index))
        starts = [task.start_date for task in tasks if task.start_date] + [self._origin or datetime.max]
        self._origin = min(starts) if min(starts) != datetime.max else None
        lines = []
        for task in tasks:
            key = (task.task_id, task.map_index)
            if task.state == self._seen.get(key) or task.state not in REPORTED_STATES:
                continue
            self._seen[key] = task.state
            lines.append(self._line(task))
        return lines

    def _line(self, task: TaskState) -> str:
        finished = task.state in FINISHED_STATES
        # A task that never ran (upstream_failed, skipped) has no dates: it is news now.
        when = (task.end_date if finished else task.start_date) or datetime.now(UTC).replace(tzinfo=None)
        since = (when - self._origin).total_seconds() if self._origin else 0.0
        what = "started" if task.state == "running" else task.state
        if finished and task.start_date and task.end_date:
            what += f" ({(task.end_date - task.start_date).total_seconds():.1f} s)"
        return f"{when:%H:%M:%S}  +{since:6.1f} s  {task.label}  {what}"


def latest_run_id(database: Path, dag_id: str) -> int:
    """The id of ``dag_id``'s newest run in ``database`` (0 if none): runs after it are new."""
    rows = _query(database, "SELECT MAX(id) FROM dag_run WHERE dag_id = ?", (dag_id,))
    return (rows[0][0] if rows else None) or 0


def task_states(database: Path, dag_id: str, after_run: int) -> list[TaskState]:
    """The task instances of ``dag_id``'s first run newer than the run ``after_run`` (none yet: ``[]``)."""
    rows = _query(
        database,
        "SELECT ti.task_id, ti.map_index, ti.state, ti.start_date, ti.end_date FROM task_instance ti "
        "JOIN dag_run dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id "
        "WHERE dr.id = (SELECT MIN(id) FROM dag_run WHERE dag_id = ? AND id > ?)",
        (dag_id, after_run),
    )
    return [
        TaskState(task, index, state, _date(start), _date(end)) for task, index, state, start, end in rows
    ]


def watch(
    process: subprocess.Popen,
    database: Path,
    dag_id: str,
    after_run: int,
    *,
    interval: float = 1.0,
    out: TextIO = sys.stdout,
) -> None:
    """Print the progress of the run ``process`` is making until it exits, then what its end changed."""
    printer = ProgressPrinter()
    while True:
        done = process.poll() is not None
        for line in printer.changes(task_states(database, dag_id, after_run)):
            print(line, file=out, flush=True)
        if done:
            return
        time.sleep(interval)


def _query(database: Path, sql: str, parameters: tuple) -> list[tuple]:
    if not database.exists():
        return []
    try:
        # Read-only and briefly: the run writes to the same file.
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1)) as connection:
            return connection.execute(sql, parameters).fetchall()
    except sqlite3.OperationalError:
        return []  # not migrated yet, or locked by a write this instant: the next poll sees it


def _date(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).replace(tzinfo=None) if value else None
