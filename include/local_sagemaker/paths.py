"""Paths built from request data (bucket names, keys, channel files, log groups, resource names),
confined to the engine's state directory: nothing a client sends can name a file outside it."""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from include.local_sagemaker.failures import JobFailure


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


def extract_archive(archive_path: Path, destination: Path, failure: Callable[[Exception], str]) -> None:
    """Extract a tar archive a client supplied into ``destination``, with tarfile's ``data`` filter (no
    member may land outside it, be a device or keep unsafe modes); an archive that cannot be read fails
    the job with :class:`JobFailure` and ``failure(error)`` as its reason."""
    try:
        with tarfile.open(archive_path, mode="r:*") as archive:
            archive.extractall(destination, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise JobFailure(failure(error)) from error
