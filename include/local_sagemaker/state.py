"""Durable resource state: one JSON document per resource, replaced atomically.

A reader after a crash sees either the previous or the next version of a document, never a torn
one, because every write goes to a temporary file that is fsynced and then renamed over the old one.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from urllib.parse import unquote

from include.local_sagemaker.paths import file_name


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new content, nothing between."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, document) -> None:
    write_bytes_atomic(path, json.dumps(document, sort_keys=True, indent=1).encode())


def remove_stale_temporaries(root: Path) -> None:
    """Delete temporary files a crash left behind mid-write."""
    if root.exists():
        for leftover in root.rglob(".*.tmp"):
            leftover.unlink(missing_ok=True)


class ResourceStore:
    """The documents of one resource kind (training jobs, models...) in memory and under ``root``.

    Documents are plain JSON-able dicts shaped like the ``Describe*`` response, so describing a
    resource is a copy of its document. The lock serialises writers; readers get copies.
    """

    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(root)
        self.lock = threading.RLock()
        self._documents: dict[str, dict] = {}
        for path in sorted(root.glob("*.json")):
            self._documents[unquote(path.stem)] = json.loads(path.read_text())

    def _path(self, name: str) -> Path:
        return self.root / f"{file_name(name)}.json"

    def __contains__(self, name: str) -> bool:
        return name in self._documents

    def get(self, name: str) -> dict | None:
        with self.lock:
            document = self._documents.get(name)
            return json.loads(json.dumps(document)) if document is not None else None

    def put(self, name: str, document: dict) -> None:
        with self.lock:
            write_json_atomic(self._path(name), document)
            self._documents[name] = json.loads(json.dumps(document))

    def update(self, name: str, **changes) -> dict:
        """Merge ``changes`` into the stored document and persist it; returns the new document."""
        with self.lock:
            document = self.get(name)
            if document is None:
                raise KeyError(name)
            document.update(changes)
            self.put(name, document)
            return document

    def delete(self, name: str) -> None:
        with self.lock:
            self._path(name).unlink(missing_ok=True)
            self._documents.pop(name, None)

    def names(self) -> list[str]:
        with self.lock:
            return list(self._documents)

    def all(self) -> list[dict]:
        with self.lock:
            return [self.get(name) for name in list(self._documents)]
