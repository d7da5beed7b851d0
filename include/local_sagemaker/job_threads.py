"""One daemon thread per running job, each with a stop flag: the bookkeeping every job runner shares."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RunningJob:
    thread: threading.Thread
    stop_requested: threading.Event = field(default_factory=threading.Event)


class JobThreads:
    """Starts ``target(name, running)`` on its own thread and forgets the job when the thread ends.

    ``shutting_down`` tells a job that its stop flag was raised by the engine stopping, not by a
    user's Stop* request (the job then ends Failed rather than Stopped).
    """

    def __init__(self, kind: str):
        self.kind = kind
        self.shutting_down = False
        self._running: dict[str, RunningJob] = {}
        self._lock = threading.Lock()

    def start(self, name: str, target: Callable[[str, RunningJob], None]) -> None:
        running = RunningJob(
            threading.Thread(target=self._run, args=(name, target), name=f"{self.kind}-{name}", daemon=True)
        )
        with self._lock:
            self._running[name] = running
        running.thread.start()

    def _run(self, name: str, target: Callable[[str, RunningJob], None]) -> None:
        try:
            target(name, self._running[name])
        finally:
            with self._lock:
                self._running.pop(name, None)

    def request_stop(self, name: str) -> None:
        with self._lock:
            running = self._running.get(name)
        if running:
            running.stop_requested.set()

    def shutdown(self, timeout: float = 30.0) -> None:
        """Raise every job's stop flag (the engine is stopping) and wait for their threads."""
        with self._lock:
            self.shutting_down = True
            running = list(self._running.values())
        for job in running:
            job.stop_requested.set()
        deadline = time.monotonic() + timeout
        for job in running:
            job.thread.join(max(0.0, deadline - time.monotonic()))
