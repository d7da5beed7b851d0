"""FastFile channels mounted as read-only FUSE filesystems of their objects, read from the store on access.

On SageMaker a FastFile channel is a view of the S3 prefix at ``/opt/ml/input/data/<channel>``: SageMaker
"streams data directly from S3 to the container with no code changes, and provides file system access to
the data. Users can author their training script to interact with these files as if they were stored on
disk" (API reference, ``AlgorithmSpecification.TrainingInputMode``,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_AlgorithmSpecification.html), and
"algorithms that support File mode can seamlessly work with FastFile mode"
(https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html;
the input modes compared: https://docs.aws.amazon.com/sagemaker/latest/dg/model-access-training-data.html).
So the files are real, read-only, with their sizes, seekable and memory-mappable, their bytes fetched
from S3 as they are read.

:class:`FastFileMount` gives one host's share of a channel the same shape: a child process
(:mod:`include.local_sagemaker.fastfile_server`) mounts the objects' relative paths, directories
included, with their listed sizes, and serves reads by ranged GETs from the engine's object store; an
object never read is never fetched. The server cannot outlive its job or the engine: it is started with
``PR_SET_PDEATHSIG(SIGKILL)`` from the job's thread, which stops the mount before it ends (the runner's
clean-up), and mounted with libfuse3's ``auto_unmount``, so the mount goes when the server goes.
:func:`unmount_stale` lazily unmounts what a crash may still have left under the engine's work root.

Where FUSE is unavailable (no ``/dev/fuse``, no ``fusermount3``, no ``mfusepy``, or the mount is refused,
as in an unprivileged container), the caller serves the channel as File mode instead
(:func:`~include.local_sagemaker.channel_feeds.stage_channel`).
"""

from __future__ import annotations

import collections
import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from include.local_sagemaker.channels import ChannelError, ChannelObject, object_path
from include.local_sagemaker.object_store import ObjectStore
from include.local_sagemaker.process_tree import dies_with_this_process

__all__ = ["FastFileMount", "MountRefused", "unavailable_reason", "unmount", "unmount_stale"]

MOUNT_TIMEOUT_SECONDS = 15.0
_POLL_SECONDS = 0.02


class MountRefused(Exception):
    """The channel could not be mounted; the message says why."""


def unavailable_reason() -> str | None:
    """Why FUSE cannot serve a FastFile channel on this machine, or None if it may."""
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse does not exist"
    if shutil.which("fusermount3") is None:
        return "fusermount3 is not installed (Debian package fuse3)"
    if importlib.util.find_spec("mfusepy") is None:
        return "the Python package mfusepy is not installed"
    return None


def _files(objects: list[ChannelObject], channel_dir: Path) -> list[list]:
    """``[relative path, bucket, key, size]`` of each object; keys that cannot all be files are refused."""
    files, directories = {}, set()
    for item in objects:
        relative = object_path(channel_dir, item).relative_to(channel_dir).as_posix()
        parents = {parent.as_posix() for parent in Path(relative).parents} - {"."}
        if relative in directories or relative in files or parents & files.keys():
            raise ChannelError(
                f"ClientError: s3://{item.bucket}/{item.key} cannot be presented as {item.relative_path!r} "
                "in the channel's directory: another key makes that path a directory or a file already"
            )
        directories |= parents
        files[relative] = [relative, item.bucket, item.key, item.size or 0]
    return list(files.values())


class FastFileMount:
    """FastFile mode for one channel of one host: its objects mounted at ``channel_dir``."""

    def __init__(self, store: ObjectStore, objects: list[ChannelObject], channel_dir: Path):
        self.store = store
        self.channel_dir = channel_dir
        self.files = _files(objects, channel_dir)
        self.fetched: list[str] = []  # keys, one entry per ranged GET
        self.process: subprocess.Popen | None = None
        self._diagnostics: collections.deque[str] = collections.deque(maxlen=20)
        self._reader: threading.Thread | None = None

    def start(self) -> FastFileMount:
        """Mount the channel and return once it is mounted; raises :class:`MountRefused` if it cannot be."""
        self.channel_dir.mkdir(parents=True, exist_ok=True)
        spec = {
            "mountpoint": str(self.channel_dir),
            "endpoint": self.store.endpoint,
            "access_key": self.store.access_key,
            "secret_key": self.store.secret_key,
            "files": self.files,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "include.local_sagemaker.fastfile_server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=dies_with_this_process(),
            start_new_session=True,  # a Ctrl-C meant for the engine leaves the mount to its clean-up
        )
        self._reader = threading.Thread(target=self._read_reports, name=f"fastfile-{id(self)}", daemon=True)
        self._reader.start()
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.write(json.dumps(spec).encode())
            self.process.stdin.close()
        deadline = time.monotonic() + MOUNT_TIMEOUT_SECONDS
        while not os.path.ismount(self.channel_dir):
            if self.process.poll() is not None:
                self._reader.join(timeout=5)
                said = self._diagnostics[-1] if self._diagnostics else "no message"
                raise MountRefused(f"mounting failed (exit code {self.process.returncode}: {said})")
            if time.monotonic() > deadline:
                self.stop()
                raise MountRefused(f"the mount did not appear within {MOUNT_TIMEOUT_SECONDS:.0f} s")
            time.sleep(_POLL_SECONDS)
        return self

    def _read_reports(self) -> None:
        for raw in self.process.stdout:
            line = raw.decode("utf-8", errors="replace").strip()
            try:
                self._record_fetch(json.loads(line)["fetched"])
            except (ValueError, KeyError, TypeError):
                if line:
                    self._diagnostics.append(line)

    def _record_fetch(self, key: str) -> None:
        self.fetched.append(key)

    def stop(self, timeout: float = 5.0) -> None:
        """Unmount the channel and end its server."""
        if self.process is None:
            return
        unmount(self.channel_dir)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self._reader is not None:
            self._reader.join(timeout)


def _fuse_mounts() -> list[Path]:
    """Mount points of this mount namespace's FUSE filesystems (``/proc/self/mountinfo``)."""
    mounts = []
    with open("/proc/self/mountinfo", encoding="utf-8") as mountinfo:
        for line in mountinfo:
            fields, _, rest = line.partition(" - ")
            if rest.split(" ", 1)[0].startswith("fuse"):
                # Spaces and such in a mount point are octal escapes (\040).
                point = fields.split(" ")[4].encode().decode("unicode_escape")
                mounts.append(Path(point))
    return mounts


def unmount(mountpoint: Path) -> None:
    """Unmount the FUSE filesystem at ``mountpoint`` if one is there; lazily if it is busy."""
    if mountpoint not in _fuse_mounts():
        return
    if subprocess.run(["fusermount3", "-u", str(mountpoint)], capture_output=True).returncode:
        subprocess.run(["fusermount3", "-uz", str(mountpoint)], capture_output=True)


def unmount_stale(root: Path) -> None:
    """Unmount every FUSE filesystem under ``root`` (left by an engine that died), deepest first, so that
    removing job directories is not stopped by them."""
    if shutil.which("fusermount3") is None:
        return
    for mountpoint in sorted((m for m in _fuse_mounts() if m.is_relative_to(root)), reverse=True):
        subprocess.run(["fusermount3", "-uz", str(mountpoint)], capture_output=True)
