"""S3 through the engine's front door against the object store accessed directly, and the engine's memory.

    .venv/bin/python benchmarks/engine_s3.py

The engine runs as its own process (``python -m include.local_sagemaker serve``), as ``make up`` runs
it. boto3 uploads and downloads a 100 MB object (s3transfer's defaults: 8 MB multipart parts, 10
threads) through the engine's URL, and the same through SeaweedFS's S3 port with the engine's own
credentials, which the benchmark reads from the state directory: the peer is the store itself.
Then a 1 GB object goes up and comes back through the engine while the engine's process tree (the
engine, SeaweedFS and any child) is sampled every 50 ms; its peak is printed above its size when idle
just after start, as proportional resident set (Pss) and as proportional anonymous memory (Pss_Anon,
which page cache does not inflate). Proportional shares, because containers are forked from the engine's
fork server and share its pages: a sum of each process's VmRSS or RssAnon would count those pages once
per container (figures before the fork server were VmRSS and RssAnon, the same for unshared memory).

Targets: through the engine >= 0.5x direct for 100 MB; the engine tree < 300 MB above idle for 1 GB.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3
from botocore.config import Config

from include.local_sagemaker.command import serve_command

REPO = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
ROUNDS = 3


def _tree(root_pid: int) -> list[int]:
    """``root_pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, pending = [], [root_pid]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def _memory_of(pid: int) -> tuple[int, int]:
    """(Pss, Pss_Anon) of one process, in bytes (zero once it has gone): its proportional share, so that
    the pages a forked container still shares with the fork server, or libraries shared by several
    processes, count once in a sum over the tree."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0, 0
    fields = dict(line.split(":", 1) for line in rollup.splitlines()[1:] if ":" in line)
    total, anon = (int(fields.get(name, "0 kB").split()[0]) * 1024 for name in ("Pss", "Pss_Anon"))
    return total, anon


def _command(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []


def _name(pid: int) -> str:
    """The program's name, or the module a ``python -m`` runs (the engine, its fork server)."""
    command = _command(pid)
    if "-m" in command[:-1]:
        return command[command.index("-m") + 1]
    return command[0].rsplit("/", 1)[-1] if command else "gone"


def _memory(root_pid: int) -> tuple[int, int]:
    """(Pss, Pss_Anon) summed over the tree, in bytes."""
    totals = [_memory_of(pid) for pid in _tree(root_pid)]
    return sum(rss for rss, _ in totals), sum(anon for _, anon in totals)


def _settled_memory(root_pid: int, timeout: float = 30.0) -> tuple[int, int]:
    """The tree's memory once start-up is over (the fork server imports for a few seconds after the
    engine listens): two readings a second apart within 2 MB of each other."""
    deadline = time.monotonic() + timeout
    previous = _memory(root_pid)
    while True:
        time.sleep(1)
        current = _memory(root_pid)
        if abs(current[0] - previous[0]) < 2 * MB or time.monotonic() > deadline:
            return current
        previous = current


class _PeakSampler:
    def __init__(self, root_pid: int):
        self.root_pid = root_pid
        self.peak = (0, 0)
        self.peak_by_process: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            rss, anon = _memory(self.root_pid)
            self.peak = (max(self.peak[0], rss), max(self.peak[1], anon))
            for pid in _tree(self.root_pid):
                name = _name(pid)
                self.peak_by_process[name] = max(self.peak_by_process.get(name, 0), _memory_of(pid)[1])

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()


def _client(url: str, key: str = "bench", secret: str = "bench"):
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 3}),
    )


def _write_random(path: Path, size: int) -> None:
    with path.open("wb") as handle:
        for _ in range(size // (8 * MB)):
            handle.write(os.urandom(8 * MB))


def _timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        state = scratch / "state"
        engine = subprocess.Popen(
            serve_command(state, port=0),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            url = re.search(r"listening on (\S+)", engine.stdout.readline()).group(1)
            identity = json.loads((state / "s3" / "s3.json").read_text())["identities"][0]["credentials"][0]
            weed_args = next(c for c in map(_command, _tree(engine.pid)) if c[0].endswith("weed"))
            store_port = next(a for a in weed_args if a.startswith("-s3.port=")).split("=")[1]
            through = _client(url)
            direct = _client(f"http://127.0.0.1:{store_port}", identity["accessKey"], identity["secretKey"])
            through.create_bucket(Bucket="bench")
            idle = _settled_memory(engine.pid)
            idle_by_process = {_name(pid): _memory_of(pid)[1] for pid in _tree(engine.pid)}

            source = scratch / "100mb.bin"
            _write_random(source, 100 * MB)
            rows = []
            for label, client in (("through the engine", through), ("SeaweedFS directly", direct)):
                ups = [
                    _timed(lambda c=client: c.upload_file(str(source), "bench", "100mb"))
                    for _ in range(ROUNDS)
                ]
                downs = [
                    _timed(lambda c=client: c.download_file("bench", "100mb", str(scratch / "back.bin")))
                    for _ in range(ROUNDS)
                ]
                rows.append((label, 100 / statistics.median(ups), 100 / statistics.median(downs)))
            print(f"100 MB object, median of {ROUNDS} (MB/s):")
            print(f"  {'':22s} {'upload':>8s} {'download':>9s}")
            for label, up, down in rows:
                print(f"  {label:22s} {up:8.0f} {down:9.0f}")
            print(
                f"  ratio engine/direct:   {rows[0][1] / rows[1][1]:8.2f}x {rows[0][2] / rows[1][2]:8.2f}x"
                "   (target >= 0.5x)"
            )

            big = scratch / "1gb.bin"
            _write_random(big, 1024 * MB)
            with _PeakSampler(engine.pid) as sampler:
                up = _timed(lambda: through.upload_file(str(big), "bench", "1gb"))
                down = _timed(lambda: through.download_file("bench", "1gb", str(scratch / "1gb.back")))
            assert (scratch / "1gb.back").stat().st_size == big.stat().st_size
            rss_peak, anon_peak = sampler.peak
            print(f"1 GB object through the engine: up {1024 / up:.0f} MB/s, down {1024 / down:.0f} MB/s")
            print(
                f"  engine tree (engine, fork server, SeaweedFS): Pss idle {idle[0] / MB:.0f} MB, "
                f"peak {rss_peak / MB:.0f} MB (+{(rss_peak - idle[0]) / MB:.0f} MB)"
            )
            print(
                f"  anonymous (Pss_Anon) idle {idle[1] / MB:.0f} MB, peak {anon_peak / MB:.0f} MB "
                f"(+{(anon_peak - idle[1]) / MB:.0f} MB)   (target < +300 MB)"
            )
            for name, peak in sampler.peak_by_process.items():
                idle_private = idle_by_process.get(name, 0) / MB
                print(f"    {name}: private idle {idle_private:.0f} MB, peak {peak / MB:.0f} MB")
        finally:
            engine.terminate()
            engine.wait(30)


if __name__ == "__main__":
    sys.exit(main())
