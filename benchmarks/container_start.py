"""A model server's start: forked from the engine's fork server, against a fresh interpreter.

    .venv/bin/python -m benchmarks.container_start

Starts a k-means model server (``python -m include.local_sagemaker.container serve``, a 10 × 784 model)
until it prints that it listens, then stops it, ROUNDS times each way, alternating: forked by a fork
server (``include.local_sagemaker.forkserver``, as the engine starts every built-in algorithm's container),
and as a fresh interpreter started with ``subprocess.Popen`` (the peer, as the engine started them
before). Prints the median seconds to listening and CPU seconds per start, and their ratios; the fork
server's own start, paid once per engine process, is printed apart.

Target: a container's start at least 10× cheaper in CPU than a fresh interpreter's.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from include.local_sagemaker.algorithms import mxnet_ndarray
from include.local_sagemaker.forkserver import CONTAINER_MODULE, ForkServer
from include.local_sagemaker.frameworks.container.model_server import READY_PREFIX
from include.local_sagemaker.process_tree import PARENT_PID_VARIABLE

ROUNDS = 7
KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _until_listening(process) -> None:
    for line in process.stdout:
        if line.startswith(READY_PREFIX.encode()):
            return
    raise RuntimeError(f"the model server exited with {process.wait()} before it listened")


def _start_and_stop(start) -> tuple[float, float]:
    """(seconds until the server listens, CPU seconds it used by then)."""
    began = time.perf_counter()
    process = start()
    _until_listening(process)
    seconds = time.perf_counter() - began
    cpu = _cpu_seconds(process.pid)
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)
    return seconds, cpu


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        model_dir = Path(scratch) / "model"
        model_dir.mkdir()
        mxnet_ndarray.save(
            model_dir / "model_algo-1", [np.random.default_rng(0).random((10, 784), np.float32)]
        )
        arguments = ["serve", "--model-dir", str(model_dir), "--image", KMEANS_IMAGE, "--port", "0"]
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}

        def fresh() -> subprocess.Popen:
            return subprocess.Popen(
                [sys.executable, "-m", CONTAINER_MODULE, *arguments],
                env={**environment, PARENT_PID_VARIABLE: str(os.getpid())},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        server = ForkServer()
        began = time.perf_counter()
        server.spawn(["--help"], environment).wait(timeout=120)  # the server's start, and its imports
        server_start = time.perf_counter() - began
        forked_runs, fresh_runs = [], []
        try:
            for _ in range(ROUNDS):
                forked_runs.append(_start_and_stop(lambda: server.spawn(arguments, environment)))
                fresh_runs.append(_start_and_stop(fresh))
        finally:
            server.close()

    forked_seconds, forked_cpu = (statistics.median(values) for values in zip(*forked_runs, strict=True))
    fresh_seconds, fresh_cpu = (statistics.median(values) for values in zip(*fresh_runs, strict=True))
    print(f"fork server start, once per engine process: {server_start:.2f} s")
    print("| model server start | seconds to listening | CPU seconds |")
    print("|---|---:|---:|")
    print(f"| forked by the fork server | {forked_seconds:.3f} | {forked_cpu:.2f} |")
    print(f"| fresh interpreter (peer) | {fresh_seconds:.3f} | {fresh_cpu:.2f} |")
    cpu_ratio = fresh_cpu / max(forked_cpu, 0.01)
    print(f"| fresh / forked | {fresh_seconds / forked_seconds:.1f}× | {cpu_ratio:.1f}× |")
    print(f"(medians of {ROUNDS} starts each, alternating)")


if __name__ == "__main__":
    main()
