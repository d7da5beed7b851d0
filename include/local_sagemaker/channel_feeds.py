"""Pipe and FastFile channels: objects streamed from the object store while the container reads them.

**Pipe** (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html,
"Training Data"): the container reads channel ``train`` from the named pipes
``/opt/ml/input/data/train_0``, ``train_1``, … one per pass, opening the next when it is done with one;
"if the file for a given epoch doesn't exist yet, your code may need to retry". Each pipe carries the
concatenation of the host's objects of the channel in key order (recordIO records delimit themselves; CSV
objects simply follow one another), decompressed if ``CompressionType`` is ``Gzip`` (API ``Channel``:
"CompressionType is used only in Pipe input mode"), each wrapped in a recordIO record if
``RecordWrapperType`` is ``RecordIO`` ("SageMaker wraps each individual S3 object in a RecordIO record",
ibid.; framed as dmlc frames records, each object held whole to learn its length). :class:`PipeFeed`
writes them: it creates ``train_0``; when a reader opens it, creates ``train_1`` (so that a reader
reaching the end of one pass finds the next) and streams the objects into ``train_0`` chunk by chunk as
the reader consumes them, then closes it (the reader's EOF) and removes it. A reader that closes a pipe
early ends that pass. Nothing is written to disk: the channel's directory only ever holds the pipes.

**FastFile** (same page): the channel is a read-only folder of the objects at
``/opt/ml/input/data/<channel>``, fetched from S3 as they are read; "algorithms that support File mode can
seamlessly work with FastFile mode", and ``inputdataconfig.json`` says ``File``. Here it is a read-only
FUSE mount of real files (:class:`~include.local_sagemaker.fastfile.FastFileMount`); where FUSE is
unavailable, the channel is downloaded as in File mode and the job's log says so.

A Pipe feed runs on threads of the engine, stops when :meth:`PipeFeed.stop` is called (the job ended,
failed or was stopped) or when its pipe's reader goes away, and holds one chunk of an object at a time (a
whole object only to wrap it in a record).
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from include.local_sagemaker import fastfile
from include.local_sagemaker.channels import ChannelError, ChannelObject, download_objects, host_objects
from include.local_sagemaker.fastfile import FastFileMount, MountRefused
from include.local_sagemaker.object_store import ObjectStore
from include.recordio.framing import (
    COMPLETE,
    FIRST_PART,
    HEADER,
    LAST_PART,
    LENGTH_BITS,
    MAGIC,
    MIDDLE_PART,
    padding,
)

CHUNK_BYTES = 1 << 20  # what a feed holds of an object at a time
POLL_SECONDS = 0.02  # how often a feed looks for a reader of its pipe, or whether it must stop


class _Stopped(Exception):
    """The feed was stopped, or its pipe removed, while it waited."""


class _Feed:
    """A feed's objects, threads and stop flag, and writing objects into a pipe."""

    def __init__(
        self,
        store: ObjectStore,
        objects: list[ChannelObject],
        compression: str = "None",
        record_wrapper: str = "None",
    ):
        self.store = store
        self.objects = objects
        self.compression = compression
        self.record_wrapper = record_wrapper
        self.fetched: list[str] = []  # keys, in the order they were streamed (one entry per fetch)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, name=f"channel-feed-{id(self)}", daemon=True)
        self._threads = [running for running in self._threads if running.is_alive()] + [thread]
        thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End every thread of the feed (a writer blocked on a reader that stopped reading is abandoned by
        the next poll); pipes left are removed with the job's directory."""
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout)

    def _open_writer(self, path: Path) -> int:
        """Wait for a reader to open the pipe at ``path``; the pipe's write end, non-blocking."""
        while not self._stop.is_set():
            try:
                return os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as error:
                if error.errno == errno.ENOENT:  # removed: the job's directory is being cleaned up
                    raise _Stopped from None
                if error.errno != errno.ENXIO:  # ENXIO: no reader yet
                    raise
            self._stop.wait(POLL_SECONDS)
        raise _Stopped

    def _write(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._stop.is_set():
                raise _Stopped
            _, writable, _ = select.select([], [fd], [], POLL_SECONDS)
            if not writable:
                continue
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                continue

    def _send(self, fd: int, item: ChannelObject) -> None:
        """Stream one object into the pipe ``fd``. Raises ``BrokenPipeError`` if the reader closed it."""
        chunks = self.store.stream(item.bucket, item.key, CHUNK_BYTES)
        if chunks is None:  # deleted since the job listed it: the reader sees the data end here
            raise ChannelError(f"ClientError: s3://{item.bucket}/{item.key} was deleted during training")
        self.fetched.append(item.key)
        if self.compression == "Gzip":
            chunks = _decompressed(chunks)
        if self.record_wrapper == "RecordIO":
            chunks = _wrapped(item, b"".join(chunks))
        for chunk in chunks:
            self._write(fd, chunk)


def _decompressed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    for chunk in chunks:
        yield inflater.decompress(chunk)
    yield inflater.flush()


def _wrapped(item: ChannelObject, data: bytes) -> Iterator[bytes]:
    """``data`` framed as one recordIO record the way dmlc's ``RecordIOWriter::WriteRecord`` frames it
    (https://github.com/dmlc/dmlc-core/blob/main/src/recordio.cc): a record under 2^29 bytes, split into a
    multi-part record (flags 1, 2 … 3) at every 4-byte aligned occurrence of the magic, which is dropped
    there (readers put it back), zero-padded to 4 bytes at the end."""
    if len(data) >= 1 << LENGTH_BITS:
        raise ChannelError(
            f"ClientError: s3://{item.bucket}/{item.key} has {len(data)} bytes; RecordIO only accepts "
            f"records of less than 2^{LENGTH_BITS} bytes"
        )
    words = np.frombuffer(data, dtype="<u4", count=len(data) // 4)
    start = 0
    for position in (np.flatnonzero(words == MAGIC) * 4).tolist():
        yield HEADER.pack(
            MAGIC, (FIRST_PART if start == 0 else MIDDLE_PART) << LENGTH_BITS | position - start
        )
        yield data[start:position]
        start = position + 4
    yield HEADER.pack(MAGIC, (LAST_PART if start else COMPLETE) << LENGTH_BITS | len(data) - start)
    yield data[start:] + b"\0" * padding(len(data))


def _make_fifo(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    os.mkfifo(path, 0o600)


class PipeFeed(_Feed):
    """Pipe mode for one channel of one host: ``<data_dir>/<channel>_<n>``, one pipe per pass."""

    def __init__(
        self,
        store: ObjectStore,
        objects: list[ChannelObject],
        data_dir: Path,
        channel_name: str,
        compression: str = "None",
        record_wrapper: str = "None",
    ):
        super().__init__(store, objects, compression, record_wrapper)
        self.data_dir = data_dir
        self.channel_name = channel_name

    def pipe(self, epoch: int) -> Path:
        # Channel names match [A-Za-z0-9.\-_]+ (the API's pattern), so this is one name inside data_dir.
        return self.data_dir / f"{self.channel_name}_{epoch}"

    def start(self) -> PipeFeed:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _make_fifo(self.pipe(0))
        self._spawn(self._run)
        return self

    def _run(self) -> None:
        epoch = 0
        with contextlib.suppress(_Stopped):
            while True:
                path = self.pipe(epoch)
                fd = self._open_writer(path)
                try:
                    _make_fifo(self.pipe(epoch + 1))
                    for item in self.objects:
                        self._send(fd, item)
                except BrokenPipeError:
                    pass  # the reader is done with this pass early
                except ChannelError:
                    # The reader sees the pass end early and fails on what it read; no pass follows.
                    with contextlib.suppress(FileNotFoundError):
                        self.pipe(epoch + 1).unlink()
                    return
                finally:
                    os.close(fd)
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                epoch += 1


def input_mode(job: dict, channel: dict) -> str:
    """The channel's ``InputMode``, else the job's ``TrainingInputMode`` (the API's rule)."""
    return channel.get("InputMode") or job["AlgorithmSpecification"].get("TrainingInputMode", "File")


def stage_channel(
    store: ObjectStore,
    job: dict,
    channel: dict,
    data_dir: Path,
    host_index: int = 0,
    host_count: int = 1,
    note: Callable[[str], None] = lambda line: None,
) -> PipeFeed | FastFileMount | None:
    """Give one host ``channel`` under ``data_dir`` as its input mode says: File copies the objects to
    ``<data_dir>/<channel>`` (None is returned); Pipe starts a feed and FastFile a mount, which the caller
    stops. ``note`` receives a line for the job's log (FastFile served as File for lack of FUSE)."""
    role = job.get("RoleArn", "")
    objects = host_objects(store, channel, role, host_index, host_count)
    name, mode = channel["ChannelName"], input_mode(job, channel)
    if mode == "Pipe":
        compression = channel.get("CompressionType", "None")
        wrapper = channel.get("RecordWrapperType", "None")
        return PipeFeed(store, objects, data_dir, name, compression, wrapper).start()
    if mode == "FastFile":
        if channel["DataSource"]["S3DataSource"].get("S3DataType", "S3Prefix") != "S3Prefix":
            raise ChannelError(
                f"ClientError: Channel '{name}' uses FastFile input mode, which requires an S3DataType "
                "of S3Prefix; use File or Pipe input mode for a ManifestFile."
            )
        mount = FastFileMount(store, objects, data_dir / name)
        reason = fastfile.unavailable_reason()
        if reason is None:
            try:
                return mount.start()
            except MountRefused as refused:
                reason = str(refused)
        note(
            f"local engine: FastFile channel '{name}' is served as File here (its objects are downloaded "
            f"before training) because FUSE is unavailable: {reason}"
        )
    download_objects(store, objects, data_dir / name)
    return None
