"""``sourcedir.tar.gz``: a script-mode source directory packed as SageMaker's framework images unpack it.

The archive holds the directory's files at their paths relative to it (so the entry point sits at the
root, where ``sagemaker_program`` names it). Bytecode caches and hidden files stay out, and the bytes
depend on the files' names and contents only (fixed timestamps, owners and modes), so packing the same
directory twice uploads the same object.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

ARCHIVE_NAME = "sourcedir.tar.gz"
_FILE_MODE = 0o644
_EXECUTABLE_MODE = 0o755


def source_files(directory: Path) -> list[Path]:
    """The files a source directory ships, sorted by relative path."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"Source directory {str(directory)!r} does not exist or is not a directory")
    return sorted(
        path for path in directory.rglob("*") if path.is_file() and not _left_out(path.relative_to(directory))
    )


def _left_out(relative: Path) -> bool:
    return any(part.startswith(".") or part == "__pycache__" for part in relative.parts) or (
        relative.suffix == ".pyc"
    )


def pack_source_dir(directory: Path, entry_point: str) -> bytes:
    """The ``sourcedir.tar.gz`` bytes of ``directory``, which must hold ``entry_point``."""
    directory = Path(directory)
    files = source_files(directory)
    names = [path.relative_to(directory).as_posix() for path in files]
    if entry_point not in names:
        raise ValueError(
            f"Entry point {entry_point!r} is not in source directory {str(directory)!r}; it holds {names}"
        )
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path, name in zip(files, names, strict=True):
            data = path.read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = _EXECUTABLE_MODE if path.stat().st_mode & 0o111 else _FILE_MODE
            info.mtime = 0
            archive.addfile(info, io.BytesIO(data))
    compressed = io.BytesIO()
    with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return compressed.getvalue()
