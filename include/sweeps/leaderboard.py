"""A leaderboard shared by many DAG runs, kept as one storage object per entry.

Layout under a bucket (or any store)::

    leaderboards/<name>/entries/<entry id>.json    one object per entry, written once, never rewritten
    leaderboards/<name>/leaderboard.json|.csv|.html   views of all entries, ranked by one metric

An entry's id is ``<dag>-<run token>-<index>`` (:func:`entry_id`): unique per DAG, run and point, and the
same on every retry of that run. Appending never reads or rewrites another run's object, so runs of any
concurrency cannot lose each other's entries; a retried task rewrites its own entry with the same content.
The views are derived from the entries: every writer re-lists after writing them and writes them again
until the listing is stable, so the views a finished writer leaves include every entry appended before
it finished (S3 lists and reads its own writes consistently).

Storage goes through :class:`EntryStore`, so this module has no AWS or Airflow dependency.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from include.sagemaker_requests.names import run_token, slug
from include.sweeps import views

DIRECTIONS = ("minimize", "maximize")
ENTRY_SUFFIX = ".json"
# Re-renders a writer tries before leaving the views to the writers still appending.
PUBLISH_ATTEMPTS = 5
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class EntryStore(Protocol):
    """The storage a leaderboard needs: put, list by prefix and get whole objects by key."""

    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def keys(self, prefix: str) -> list[str]: ...

    def get(self, key: str) -> bytes: ...


class LeaderboardError(ValueError):
    """A leaderboard name, entry or ranking that cannot be used; the message names the offending value."""


@dataclass(frozen=True)
class Leaderboard:
    """Where a leaderboard lives in its store and how it ranks: by ``metric``, in ``direction``."""

    name: str
    metric: str = "test:msd"
    direction: str = "minimize"

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise LeaderboardError(
                f"Leaderboard name {self.name!r} must be 1-63 lowercase letters, digits, '-' or '_', "
                "starting with a letter or digit"
            )
        if self.direction not in DIRECTIONS:
            raise LeaderboardError(f"Direction {self.direction!r} must be one of {DIRECTIONS}")
        if not self.metric:
            raise LeaderboardError("A leaderboard needs the name of the metric it ranks by")

    @property
    def prefix(self) -> str:
        return f"leaderboards/{self.name}"

    @property
    def entries_prefix(self) -> str:
        return f"{self.prefix}/entries/"

    def entry_key(self, entry_id: str) -> str:
        return f"{self.entries_prefix}{entry_id}{ENTRY_SUFFIX}"

    def view_key(self, extension: str) -> str:
        return f"{self.prefix}/leaderboard.{extension}"


def entry_id(dag_id: str, run_id: str, index: int = 0) -> str:
    """``kmeans-sweep-20260104t000000-3f9a2c-2``: unique per DAG, run and point, stable across retries."""
    if not isinstance(index, int) or index < 0:
        raise LeaderboardError(f"An entry index must be a non-negative integer, got {index!r}")
    return f"{slug(dag_id)}-{run_token(run_id)}-{index}"


def check_entry(entry: Any) -> dict:
    """``entry`` if it is a usable leaderboard entry: an object whose ``hyperparameters`` is an object
    and whose ``metrics`` maps names to numbers (or null, for a metric a job did not report)."""
    if not isinstance(entry, Mapping):
        raise LeaderboardError(f"A leaderboard entry must be an object, got {entry!r}")
    hyperparameters, metrics = entry.get("hyperparameters"), entry.get("metrics")
    if not isinstance(hyperparameters, Mapping):
        raise LeaderboardError(f"Entry {entry!r} needs 'hyperparameters' as an object")
    if not isinstance(metrics, Mapping):
        raise LeaderboardError(f"Entry {entry!r} needs 'metrics' as an object of numbers")
    for name, value in metrics.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise LeaderboardError(f"Metric {name!r} of entry {entry!r} must be a number, got {value!r}")
    return dict(entry)


def append_entry(store: EntryStore, board: Leaderboard, entry_id: str, entry: Mapping[str, Any]) -> str:
    """Store ``entry`` as its own object; returns its key. ``recorded_at`` is added when missing."""
    document = check_entry({**entry, "entry_id": entry_id})
    document.setdefault("recorded_at", datetime.now(UTC).isoformat())
    key = board.entry_key(entry_id)
    store.put(key, json.dumps(document, sort_keys=True).encode(), "application/json")
    return key


def entry_keys(store: EntryStore, board: Leaderboard) -> list[str]:
    return sorted(key for key in store.keys(board.entries_prefix) if key.endswith(ENTRY_SUFFIX))


def read_entries(store: EntryStore, board: Leaderboard, keys: Iterable[str] | None = None) -> list[dict]:
    """Every entry of the leaderboard (or those under ``keys``), unranked."""
    entries = []
    for key in entry_keys(store, board) if keys is None else keys:
        try:
            entries.append(check_entry(json.loads(store.get(key))))
        except (ValueError, LeaderboardError) as error:
            raise LeaderboardError(f"Leaderboard entry {key} is not a valid entry: {error}") from error
    return entries


def rank(entries: Iterable[Mapping[str, Any]], metric: str, direction: str) -> list[dict]:
    """Entries best first by ``metric``, each with ``rank`` (1, 2, …; equal values share a rank).

    Entries without the metric follow, unranked (``rank`` None). Ties keep a stable order: earlier
    ``recorded_at`` first, then ``entry_id``.
    """
    if direction not in DIRECTIONS:
        raise LeaderboardError(f"Direction {direction!r} must be one of {DIRECTIONS}")
    sign = 1 if direction == "minimize" else -1
    scored, unscored = [], []
    for entry in entries:
        value = (entry.get("metrics") or {}).get(metric)
        (unscored if value is None else scored).append(dict(entry))

    def tie_break(entry: dict) -> tuple[str, str]:
        return (str(entry.get("recorded_at", "")), str(entry.get("entry_id", "")))

    scored.sort(key=lambda e: (sign * e["metrics"][metric], *tie_break(e)))
    unscored.sort(key=tie_break)
    ranked, previous, current_rank = [], None, 0
    for position, entry in enumerate(scored, start=1):
        value = entry["metrics"][metric]
        if value != previous:
            current_rank, previous = position, value
        ranked.append({**entry, "rank": current_rank})
    return ranked + [{**entry, "rank": None} for entry in unscored]


def publish(store: EntryStore, board: Leaderboard) -> dict:
    """Write ``leaderboard.json``, ``.csv`` and ``.html`` from all entries; returns the ranked document.

    The entries are listed again after writing, and the views rewritten while the listing changed (see the
    module docstring), at most :data:`PUBLISH_ATTEMPTS` times.
    """
    keys = entry_keys(store, board)
    for _ in range(PUBLISH_ATTEMPTS):
        document = leaderboard_document(board, read_entries(store, board, keys))
        store.put(board.view_key("json"), json.dumps(document, indent=2).encode(), "application/json")
        store.put(board.view_key("csv"), views.to_csv(document).encode(), "text/csv")
        store.put(board.view_key("html"), views.to_html(document).encode(), "text/html; charset=utf-8")
        latest = entry_keys(store, board)
        if latest == keys:
            break
        keys = latest
    return document


def leaderboard_document(board: Leaderboard, entries: Iterable[Mapping[str, Any]]) -> dict:
    """The content of ``leaderboard.json``: what is ranked, how, and the ranked rows."""
    rows = rank(entries, board.metric, board.direction)
    return {
        "name": board.name,
        "metric": board.metric,
        "direction": board.direction,
        "updated_at": datetime.now(UTC).isoformat(),
        "entries": len(rows),
        "rows": rows,
    }
