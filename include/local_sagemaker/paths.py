"""Paths built from request data (bucket names, keys, channel files, log groups, resource names),
confined to the engine's state directory: nothing a client sends can name a file outside it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote


class PathEscapeError(ValueError):
    """A client-supplied name would resolve outside the directory it must stay in."""


def file_name(name: str) -> str:
    """One path component that stands for ``name``: percent-encoded (no ``/``), and never ``.`` or
    ``..``, whose dots are encoded too, so a name can never mean the directory or its parent."""
    encoded = quote(name, safe="")
    return encoded.replace(".", "%2E") if encoded in {"", ".", ".."} else encoded


def confined(root: Path, relative: str) -> Path:
    """``root / relative``, refused with :class:`PathEscapeError` if it resolves outside ``root``
    (``..`` segments, an absolute path, or a symlink on the way)."""
    base = root.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base) or target == base:
        raise PathEscapeError(f"{relative!r} resolves outside {base}")
    return target
