"""Sharded, atomic output files: shard ``i`` of a split is ``part-<i:05d>.<ext>``.

Each shard is written to a hidden temporary file and renamed into place when complete, so a reader never
sees half a shard; a failure removes the temporary file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

DEFAULT_ROWS_PER_SHARD = 10_000


def shard_bounds(n_rows: int, rows_per_shard: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of each shard; an empty split still yields one empty shard."""
    if rows_per_shard < 1:
        raise ValueError(f"rows_per_shard must be at least 1, got {rows_per_shard}")
    if n_rows == 0:
        yield 0, 0
        return
    for start in range(0, n_rows, rows_per_shard):
        yield start, min(start + rows_per_shard, n_rows)


def shard_name(index: int, extension: str) -> str:
    return f"part-{index:05d}.{extension}"


def write_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write`` with a temporary path beside ``path``; rename it to ``path`` if ``write`` returns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(temp_name))
        os.replace(temp_name, path)
    finally:
        Path(temp_name).unlink(missing_ok=True)
    return path
