"""Background processes tracked by PID files, so ``down`` stops exactly what ``up`` started."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    # Run as this account (root only); PostgreSQL, for one, refuses to run as root.
    user: str | None = None


class PidFile:
    """``<run_dir>/<name>.pid`` holding ``pid create_time``: the start time guards against a reused PID."""

    def __init__(self, run_dir: Path, name: str):
        self.path = run_dir / f"{name}.pid"
        self.name = name

    def write(self, process: psutil.Process) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(f"{process.pid} {process.create_time()}\n")

    def process(self) -> psutil.Process | None:
        """The live process this file names, or None (a stale file is removed)."""
        if not self.path.exists():
            return None
        try:
            pid_text, created_text = self.path.read_text().split()
            process = psutil.Process(int(pid_text))
            if abs(process.create_time() - float(created_text)) < 0.01 and process.is_running():
                return process
        except (ValueError, psutil.NoSuchProcess, psutil.AccessDenied):
            pass
        self.path.unlink(missing_ok=True)
        return None


def start(spec: ProcessSpec, env: dict[str, str], run_dir: Path, log_dir: Path, cwd: Path) -> psutil.Process:
    """Start ``spec`` in its own session (so its whole process group can be stopped) with output to a log."""
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{spec.name}.log", "ab") as log:
        popen = subprocess.Popen(
            spec.argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **as_account(spec.user),
        )
    process = psutil.Process(popen.pid)
    PidFile(run_dir, spec.name).write(process)
    return process


def as_account(user: str | None) -> dict:
    """``subprocess`` arguments that run a child as ``user`` and its primary group only (None: as we are)."""
    return {"user": user, "group": user, "extra_groups": []} if user else {}


def stop(pid_file: PidFile, timeout: float = 30.0, sig: int = signal.SIGTERM) -> bool:
    """Stop the process named by ``pid_file`` and everything it started with ``sig``, then SIGKILL
    whatever is left after ``timeout`` seconds; True if one was running."""
    process = pid_file.process()
    if process is None:
        return False
    family = [process, *process.children(recursive=True)]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    for member in family:
        _signal(member, sig)
    _, alive = psutil.wait_procs(family, timeout=timeout)
    for member in alive:
        _signal(member, signal.SIGKILL)
    psutil.wait_procs(alive, timeout=5)
    pid_file.path.unlink(missing_ok=True)
    return True


def _signal(process: psutil.Process, sig: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
        process.send_signal(sig)


def responds(url: str) -> bool:
    """True when ``url`` answers HTTP with anything but a server error."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except OSError:
        return False


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, what: str, timeout: float, process: psutil.Process | None = None) -> None:
    """Poll ``check()`` until it is true; fail early if ``process`` died, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if process is not None and not process.is_running():
            raise RuntimeError(f"{what}: the process exited before it became ready")
        time.sleep(0.5)
    raise TimeoutError(f"{what}: not ready after {timeout:.0f} s")
