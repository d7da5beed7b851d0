"""How the hosts of a multi-instance training job combine their work: a job-local shared directory.

On SageMaker the containers ``algo-1`` … ``algo-N`` of a job talk over the cluster's network (the
built-in algorithms through their parameter servers). Here the engine gives every host of a job the same
directory, ``LOCAL_SAGEMAKER_HOST_EXCHANGE`` (``<work>/<job>/exchange``), and that directory is the
network: a host sends a message by writing ``<round>/<host>.npz`` (to a hidden temporary name, then
renamed, so a reader never sees half of it) and receives one by waiting for the file to appear. Each
wait is a barrier with a timeout: a host that is not heard from within ``timeout`` seconds fails the
job with an ``AlgorithmError`` that names it. (A host that fails ends the job sooner: the engine then
stops every host.)

The exchange is two collective operations, what SageMaker's algorithms need of their kvstore:
:meth:`HostExchange.gather` (every host's arrays to the leader, ``algo-1``, the first of ``hosts``)
and :meth:`HostExchange.broadcast` (the leader's arrays to every host), and their composition
:meth:`HostExchange.allreduce` (every host gets what the leader combined of all). A single-host job
needs no directory: they return at once.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from include.local_sagemaker.algorithms.base import TrainingContext
from include.local_sagemaker.failures import JobFailure

EXCHANGE_VARIABLE = "LOCAL_SAGEMAKER_HOST_EXCHANGE"
TIMEOUT_VARIABLE = "LOCAL_SAGEMAKER_HOST_EXCHANGE_TIMEOUT"
# How long a host waits for the others. The slowest host's share of the data must be read within it;
# the job's own MaxRuntimeInSeconds still bounds the whole.
DEFAULT_TIMEOUT_SECONDS = 3600.0
_POLL_SECONDS = 0.05

Message = dict[str, np.ndarray]


class HostExchange:
    """The collective operations between the hosts of one job (see the module docstring)."""

    def __init__(self, hosts: tuple[str, ...], current_host: str, directory: Path | None, timeout: float):
        if len(hosts) > 1 and directory is None:
            raise JobFailure(
                f"InternalServerError: a job of {len(hosts)} hosts needs ${EXCHANGE_VARIABLE}, the directory "
                "its hosts share; the engine sets it"
            )
        self.hosts = hosts
        self.current_host = current_host
        self.directory = directory
        self.timeout = timeout

    @classmethod
    def of(cls, context: TrainingContext) -> HostExchange:
        """The exchange of the job ``context`` belongs to, as the engine configured it."""
        directory = os.environ.get(EXCHANGE_VARIABLE)
        timeout = float(os.environ.get(TIMEOUT_VARIABLE) or DEFAULT_TIMEOUT_SECONDS)
        return cls(context.hosts, context.current_host, Path(directory) if directory else None, timeout)

    @classmethod
    def single_host(cls) -> HostExchange:
        """The exchange of a job of one host, ``algo-1``: every operation returns at once."""
        return cls(("algo-1",), "algo-1", None, 0.0)

    @property
    def leader(self) -> str:
        return self.hosts[0]

    @property
    def is_leader(self) -> bool:
        return self.current_host == self.leader

    @property
    def distributed(self) -> bool:
        return len(self.hosts) > 1

    def gather(self, name: str, message: Message) -> list[Message] | None:
        """Every host sends ``message``; the leader gets all of them in host order, the others None."""
        if not self.distributed:
            return [message]
        self._send(name, self.current_host, message)
        if not self.is_leader:
            return None
        return [self._receive(name, host) for host in self.hosts]

    def broadcast(self, name: str, message: Message | None) -> Message:
        """The leader sends ``message``; every host returns it."""
        if not self.distributed:
            return message
        if self.is_leader:
            self._send(name, self.leader, message)
            return message
        return self._receive(name, self.leader)

    def allreduce(self, name: str, message: Message, combine: Callable[[list[Message]], Message]) -> Message:
        """Every host sends ``message``; every host returns ``combine`` of all of them (in host order),
        computed once, by the leader. A single host returns ``combine([message])``."""
        gathered = self.gather(name, message)
        return self.broadcast(f"{name}-combined", None if gathered is None else combine(gathered))

    def _path(self, name: str, host: str) -> Path:
        return self.directory / name / f"{host}.npz"

    def _send(self, name: str, host: str, message: Message) -> None:
        path = self._path(name, host)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{host}.", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as stream:
                np.savez(stream, **message)
            os.replace(temporary, path)
        finally:
            Path(temporary).unlink(missing_ok=True)

    def _receive(self, name: str, host: str) -> Message:
        path = self._path(name, host)
        deadline = time.monotonic() + self.timeout
        while not path.exists():
            if time.monotonic() >= deadline:
                raise JobFailure(
                    f"AlgorithmError: {self.current_host} waited {self.timeout:g} s for '{name}' from "
                    f"{host}, which did not send it; see {host}'s log stream"
                )
            time.sleep(_POLL_SECONDS)
        with np.load(path) as arrays:
            return {key: arrays[key] for key in arrays.files}
