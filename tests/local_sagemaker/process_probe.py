"""A test algorithm that reports how its container process started, for comparing a forked container
with one started as a fresh interpreter (``test_forkserver.py``).

Loading a model writes ``process.json`` into the model directory: the working directory, ``sys.path``,
arguments, command line, session and group, standard input, output buffering, thread-pool sizes, the
``PROBE`` variable and a draw from NumPy's global random state. Its predictor echoes the request.
Registered for the engine's containers through ``LOCAL_SAGEMAKER_EXTRA_ALGORITHMS``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy
import threadpoolctl

from include.local_sagemaker.process_tree import PARENT_PID_VARIABLE


class _Echo:
    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        return body, content_type or "application/octet-stream"


class ProcessProbe:
    image_repositories = ("process-probe",)
    metric_definitions = ()

    def train(self, context) -> None:
        raise NotImplementedError("the probe only serves")

    def load(self, model_dir: Path) -> _Echo:
        pid = os.getpid()
        report = {
            "cwd": os.getcwd(),
            "sys.path": sys.path,
            "argv": sys.argv[1:],
            "cmdline": Path("/proc/self/cmdline").read_bytes().replace(b"\0", b" ").decode().strip(),
            "own session and group": os.getsid(0) == pid == os.getpgid(0),
            "stdin": os.readlink("/proc/self/fd/0"),
            "stdout write-through": sys.stdout.write_through,
            "stderr write-through": sys.stderr.write_through,
            "thread pools": sorted(
                {(pool["user_api"], pool["num_threads"]) for pool in threadpoolctl.threadpool_info()}
            ),
            "PROBE": os.environ.get("PROBE"),
            "parent watched": os.environ[PARENT_PID_VARIABLE] == str(os.getppid()),
            "random draw": numpy.random.random(),
        }
        (model_dir / "process.json").write_text(json.dumps(report))
        return _Echo()


ALGORITHM = ProcessProbe()
