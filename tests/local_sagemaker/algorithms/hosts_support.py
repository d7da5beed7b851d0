"""The hosts of a multi-instance job without the engine: one algorithm container process per host.

Each host gets its own ``/opt/ml``-style tree (its share of the channels, ``resourceconfig.json`` naming
it among the job's hosts) and every host the same exchange directory, as the engine gives them; the
containers run concurrently, as ``python -m include.local_sagemaker.container train``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from include.local_sagemaker.algorithms.host_exchange import EXCHANGE_VARIABLE, TIMEOUT_VARIABLE

REPOSITORY = Path(__file__).resolve().parents[3]
# channel name -> (content type or None, S3 distribution type, {file name: bytes})
Channels = dict[str, tuple[str | None, str, dict[str, bytes]]]


@dataclass
class HostRun:
    name: str
    base_dir: Path
    returncode: int
    output: str

    @property
    def model_dir(self) -> Path:
        return self.base_dir / "model"

    @property
    def failure(self) -> str:
        path = self.base_dir / "output" / "failure"
        return path.read_text() if path.exists() else ""


def run_hosts(
    root: Path,
    image: str,
    hyperparameters: dict[str, str],
    shares: list[Channels | None],
    timeout: float = 60,
) -> list[HostRun]:
    """Run host ``algo-<i+1>`` on ``shares[i]`` (a host whose share is None is never started, as if its
    instance died at once); returns the outcome of every host started, once all have exited."""
    hosts = [f"algo-{index + 1}" for index in range(len(shares))]
    exchange = root / "exchange"
    exchange.mkdir(parents=True, exist_ok=True)
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPOSITORY),
        EXCHANGE_VARIABLE: str(exchange),
        TIMEOUT_VARIABLE: str(timeout),
    }
    processes = []
    for host, channels in zip(hosts, shares, strict=True):
        if channels is None:
            continue
        base = _container_tree(root / host, hyperparameters, channels, host, hosts)
        command = [
            sys.executable,
            "-m",
            "include.local_sagemaker.container",
            "train",
            "--base-dir",
            str(base),
        ]
        command += ["--image", image]
        processes.append(
            (
                host,
                base,
                subprocess.Popen(
                    command, cwd=REPOSITORY, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
                ),
            )
        )
    runs = []
    for host, base, process in processes:
        output, _ = process.communicate(timeout=timeout * 4 + 60)
        runs.append(HostRun(host, base, process.returncode, output.decode(errors="replace")))
    return runs


def _container_tree(
    base: Path, hyperparameters: dict, channels: Channels, host: str, hosts: list[str]
) -> Path:
    config = base / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    data_config = {}
    for name, (content_type, distribution, files) in channels.items():
        data_config[name] = {"TrainingInputMode": "File", "S3DistributionType": distribution}
        if content_type is not None:
            data_config[name]["ContentType"] = content_type
        directory = base / "input" / "data" / name
        directory.mkdir(parents=True)
        for file_name, content in files.items():
            (directory / file_name).write_bytes(content)
    (config / "inputdataconfig.json").write_text(json.dumps(data_config))
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": host, "hosts": hosts}))
    (base / "model").mkdir()
    (base / "output" / "data").mkdir(parents=True)
    return base
