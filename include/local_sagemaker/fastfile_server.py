"""The FUSE server of one FastFile channel: its objects as read-only files, read from the store on access.

Run as ``python -m include.local_sagemaker.fastfile_server`` by
:class:`~include.local_sagemaker.fastfile.FastFileMount`, which writes the mount's description to its
stdin as JSON (``mountpoint``, the store's ``endpoint``, ``access_key`` and ``secret_key``, and
``files``: ``[relative path, bucket, key, size]`` each) and reads its stdout: one JSON line
``{"fetched": key, "start": offset, "bytes": n}`` per ranged GET, anything else a diagnostic. It serves
in the foreground until unmounted, and is mounted ``ro,auto_unmount``: writes fail with EROFS, and the
mount goes away with this process however it ends.

Each open file keeps the last range it fetched (at least :data:`READ_AHEAD_BYTES`), so that sequential
reads, which the kernel issues 128 KiB at a time, cost one GET per :data:`READ_AHEAD_BYTES`.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import stat
import sys
import threading
import time

import mfusepy as fuse

from include.local_sagemaker.object_store import ObjectStore

READ_AHEAD_BYTES = 1 << 20  # what one GET fetches at least, and what an open file holds at most
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


class _OpenFile:
    """An open file's object and the range of it last fetched."""

    def __init__(self, bucket: str, key: str, size: int):
        self.bucket, self.key, self.size = bucket, key, size
        self.start = 0
        self.data = b""
        self.lock = threading.Lock()


class ObjectFiles(fuse.Operations):
    """A read-only tree of ``files`` (``{"/relative/path": (bucket, key, size)}``) and their directories."""

    use_ns = True

    def __init__(self, store: ObjectStore, files: dict[str, tuple[str, str, int]], report=None):
        self.store = store
        self.files = files
        self.report = report or (lambda key, start, count: None)
        self.directories: dict[str, set[str]] = {"/": set()}
        for path in files:
            parts = path.strip("/").split("/")
            for depth, part in enumerate(parts):
                self.directories.setdefault("/" + "/".join(parts[:depth]), set()).add(part)
        self.mounted_ns = time.time_ns()
        self._handles = itertools.count(1)
        self._open: dict[int, _OpenFile] = {}

    def _times(self) -> dict:
        return {"st_atime": self.mounted_ns, "st_mtime": self.mounted_ns, "st_ctime": self.mounted_ns}

    def getattr(self, path, fh=None):
        if path in self.directories:
            return {"st_mode": stat.S_IFDIR | 0o555, "st_nlink": 2, **self._times()}
        if path in self.files:
            size = self.files[path][2]
            return {"st_mode": stat.S_IFREG | 0o444, "st_nlink": 1, "st_size": size, **self._times()}
        raise fuse.FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        if path not in self.directories:
            raise fuse.FuseOSError(errno.ENOTDIR if path in self.files else errno.ENOENT)
        return [".", "..", *sorted(self.directories[path])]

    def open(self, path, flags):
        if path not in self.files:
            raise fuse.FuseOSError(errno.ENOENT)
        if flags & _WRITE_FLAGS:
            raise fuse.FuseOSError(errno.EROFS)
        handle = next(self._handles)
        self._open[handle] = _OpenFile(*self.files[path])
        return handle

    def read(self, path, size, offset, fh):
        item = self._open[fh]
        with item.lock:
            end = min(offset + size, item.size)
            if offset >= end:
                return b""
            if not item.start <= offset or end > item.start + len(item.data):
                length = min(max(end - offset, READ_AHEAD_BYTES), item.size - offset)
                data = self.store.read_range(item.bucket, item.key, offset, length)
                if data is None:  # deleted since the job listed it
                    raise fuse.FuseOSError(errno.EIO)
                self.report(item.key, offset, len(data))
                item.start, item.data = offset, data
            return item.data[offset - item.start : end - item.start]

    def release(self, path, fh):
        self._open.pop(fh, None)
        return 0


def main() -> None:
    spec = json.load(sys.stdin)
    store = ObjectStore(spec["endpoint"], spec["access_key"], spec["secret_key"])
    files = {"/" + relative: (bucket, key, size) for relative, bucket, key, size in spec["files"]}
    lock = threading.Lock()

    def report(key: str, start: int, count: int) -> None:
        with lock:
            print(json.dumps({"fetched": key, "start": start, "bytes": count}), flush=True)

    fuse.FUSE(
        ObjectFiles(store, files, report),
        spec["mountpoint"],
        foreground=True,
        ro=True,
        auto_unmount=True,
        fsname="local-sagemaker-fastfile",
    )


if __name__ == "__main__":
    main()
