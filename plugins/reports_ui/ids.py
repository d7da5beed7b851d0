"""Checks of the ids a request names, before any of them reaches the metadata database."""

from __future__ import annotations

import re

# Airflow's own rule for DAG and task ids (airflow.utils.helpers.KEY_REGEX) and its length limit (ID_LEN).
_KEY = re.compile(r"^[\w.-]+$")
_MAX_LENGTH = 250
# Run ids follow a configurable pattern; whatever it allows, a run id is one printable path segment.
_RUN_ID_FORBIDDEN = re.compile(r"[/\\\x00-\x1f\x7f]")


def is_valid_key(value: str) -> bool:
    """A DAG or task id as Airflow allows it."""
    return 0 < len(value) <= _MAX_LENGTH and bool(_KEY.match(value)) and ".." not in value


def is_valid_run_id(value: str) -> bool:
    """A run id with no path separator, control character or ``..``."""
    return 0 < len(value) <= _MAX_LENGTH and not _RUN_ID_FORBIDDEN.search(value) and ".." not in value
