"""include.recordio against the SageMaker SDK's recordIO writer and reader, in one run.

    .venv/bin/python -m benchmarks.recordio_codec [--rows 60000] [--features 784]

The SDK (benchmarks/requirements-sdk.txt) needs protobuf < 7, so it runs in its own virtualenv,
``.cache/sagemaker-sdk``, created on first use; its timings come from a subprocess fed the same arrays,
and its output file is compared byte for byte with ours. Times are the best of ``--repeat`` runs (the
SDK writer, at about 12 s, runs once). Reading is timed twice: ``read_records`` alone, and read plus touching
every record's first feature value and its label (the same code for the SDK's records and ours, whose sums
must agree); the SDK's reads and ours alternate. Prints a Markdown table, also written to
benchmarks/results/recordio.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from include.recordio import read_dense, read_records, write_numpy_to_dense_tensor  # noqa: E402

SDK_VENV = REPO / ".cache" / "sagemaker-sdk"
SDK_PYTHON = SDK_VENV / "bin" / "python"
RESULTS = REPO / "benchmarks" / "results" / "recordio.md"

# What a caller of read_records does next: reach into every record for its features and its label. The same
# source runs against the SDK's records and ours, so "read + touch" compares like with like.
TOUCH_SOURCE = """
def touch(records):
    total = 0.0
    for record in records:
        total += record.features["values"].float32_tensor.values[0]
        total += record.label["values"].float32_tensor.values[0]
    return total
"""

# The SDK side runs in its own interpreter and answers one command per line, so that its reads and ours can
# alternate: the machine's load then falls on both alike.
SDK_SCRIPT = (
    TOUCH_SOURCE
    + """
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
from sagemaker.amazon.common import read_records, write_numpy_to_dense_tensor
features, labels, out_path = np.load(sys.argv[1]), np.load(sys.argv[2]), sys.argv[3]
for command in sys.stdin:
    command, answer, records = command.strip(), {}, None
    start = time.perf_counter()
    if command == "write":
        with open(out_path, "wb") as out:
            write_numpy_to_dense_tensor(out, features, labels)
    elif command == "read":
        with open(out_path, "rb") as f:
            records = read_records(f)
    elif command == "read+touch":
        with open(out_path, "rb") as f:
            records = read_records(f)
        answer["total"] = touch(records)
    answer["seconds"] = time.perf_counter() - start
    del records  # freeing the records is left out of the timing, on both sides
    print(json.dumps(answer), flush=True)
"""
)


class SdkPeer:
    """The SageMaker SDK in its own virtualenv, timing one step per call."""

    def __init__(self, features: Path, labels: Path, out_path: Path) -> None:
        quiet = {**os.environ, "SAGEMAKER_SUPPRESS_V2_WARNING": "1"}
        self.process = subprocess.Popen(
            [str(SDK_PYTHON), "-c", SDK_SCRIPT, str(features), str(labels), str(out_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=quiet,
        )

    def run(self, command: str) -> dict:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        for line in self.process.stdout:
            if line.startswith("{"):  # the SDK logs its config lookups to stdout too
                return json.loads(line)
        sys.exit(f"the SDK process stopped during {command!r} (exit code {self.process.wait()})")

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def _compiled_touch():
    namespace: dict = {}
    exec(TOUCH_SOURCE, namespace)
    return namespace["touch"]


touch = _compiled_touch()


def ensure_sdk() -> None:
    if SDK_PYTHON.exists():
        return
    print(f"Creating {SDK_VENV} with the SageMaker SDK (once)...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(SDK_VENV)], check=True)
    requirements = REPO / "benchmarks" / "requirements-sdk.txt"
    subprocess.run([str(SDK_PYTHON), "-m", "pip", "install", "-q", "-r", str(requirements)], check=True)


def read_and_touch(path: Path, *, touching: bool) -> tuple[float, float | None]:
    """Seconds to read (and touch) our records, and the touch's total; as the SDK side does it."""
    start = time.perf_counter()
    records = read_records(path)
    total = touch(records) if touching else None
    seconds = time.perf_counter() - start
    del records  # freeing the records is left out of the timing, on both sides
    return seconds, total


def best(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--features", type=int, default=784)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    ensure_sdk()
    load = os.getloadavg()[0]  # other work on the machine slows both sides, not always alike

    rng = np.random.default_rng(0)
    features = rng.integers(0, 256, (args.rows, args.features)).astype(np.float32) / 255  # MNIST-like pixels
    labels = (rng.integers(0, 10, args.rows) == 0).astype(np.float32)  # the seed's "is it a zero" label

    with tempfile.TemporaryDirectory(prefix="recordio-bench-") as scratch:
        scratch = Path(scratch)
        ours_path, sdk_path = scratch / "ours.rec", scratch / "sdk.rec"
        np.save(scratch / "features.npy", features)
        np.save(scratch / "labels.npy", labels)

        def write_ours() -> None:
            with open(ours_path, "wb") as out:
                write_numpy_to_dense_tensor(out, features, labels)

        ours_write = best(write_ours, args.repeat)
        size = ours_path.stat().st_size
        source = np.frombuffer(ours_path.read_bytes(), dtype=np.uint8)

        def floor() -> None:  # a plain numpy copy of the same number of bytes into a file
            with open(scratch / "floor.bin", "wb") as out:
                out.write(source.copy())

        floor_write = best(floor, args.repeat)
        ours_read_dense = best(lambda: read_dense(ours_path), args.repeat)
        ours_read_dense_c = best(lambda: np.ascontiguousarray(read_dense(ours_path)[0]), args.repeat)
        decoded, decoded_labels = read_dense(ours_path)
        assert np.array_equal(decoded, features)
        assert np.array_equal(decoded_labels, labels)

        sdk = SdkPeer(scratch / "features.npy", scratch / "labels.npy", sdk_path)
        try:
            sdk_write = sdk.run("write")["seconds"]
            identical = sdk_path.read_bytes() == ours_path.read_bytes()
            timings = {"sdk read": [], "ours read": [], "sdk read+touch": [], "ours read+touch": []}
            for _ in range(args.repeat):  # alternating, so that both sides see the same load
                timings["sdk read"].append(sdk.run("read")["seconds"])
                timings["ours read"].append(read_and_touch(ours_path, touching=False)[0])
                sdk_touched = sdk.run("read+touch")
                timings["sdk read+touch"].append(sdk_touched["seconds"])
                seconds, ours_total = read_and_touch(ours_path, touching=True)
                timings["ours read+touch"].append(seconds)
        finally:
            sdk.close()
    if sdk_touched["total"] != ours_total:
        sys.exit(f"touching the records gave {ours_total} for ours but {sdk_touched['total']} for the SDK's")

    sdk_read, sdk_touch = min(timings["sdk read"]), min(timings["sdk read+touch"])
    ours_read_records, ours_read_touch = min(timings["ours read"]), min(timings["ours read+touch"])
    rows = [
        ("write: SDK `write_numpy_to_dense_tensor`", sdk_write, "1.0×", ""),
        ("write: ours", ours_write, _ratio(sdk_write, ours_write), "≥ 20×"),
        ("write: floor (numpy copy of the same bytes into a file)", floor_write, "", ""),
        ("write: ours / floor", None, f"{ours_write / floor_write:.2f}× the floor", "≤ 3×"),
        ("read: SDK `read_records`", sdk_read, "1.0×", ""),
        (
            "read: ours `read_records`",
            ours_read_records,
            _ratio(sdk_read, ours_read_records) + _median_ratio(timings["sdk read"], timings["ours read"]),
            "≥ 10×",
        ),
        ("read + touch every record's features and label: SDK", sdk_touch, "1.0×", ""),
        (
            "read + touch every record's features and label: ours",
            ours_read_touch,
            _ratio(sdk_touch, ours_read_touch)
            + _median_ratio(timings["sdk read+touch"], timings["ours read+touch"]),
            "≥ 10×",
        ),
        ("read: ours `read_dense` (view)", ours_read_dense, _ratio(sdk_read, ours_read_dense), "≥ 10×"),
        (
            "read: ours `read_dense` + C-order copy",
            ours_read_dense_c,
            _ratio(sdk_read, ours_read_dense_c),
            "",
        ),
    ]
    lines = [
        f"{args.rows:,}×{args.features} float32 features, float32 labels; {size / 1e6:.1f} MB of recordIO; "
        f"best of {args.repeat} (SDK writer: 1 run). Output byte-identical to the SDK: **{identical}**. "
        f"Load average when the run started: {load:.1f} on {os.cpu_count()} CPUs.",
        "",
        "| step | seconds | ratio | target |",
        "|---|---:|---:|---|",
        *(
            f"| {name} | {'' if t is None else f'{t:.3f}'} | {ratio} | {target} |"
            for name, t, ratio, target in rows
        ),
    ]
    table = "\n".join(lines)
    print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    # Later sections (the Parquet conversion's) belong to other benchmarks: keep them.
    previous = RESULTS.read_text() if RESULTS.exists() else ""
    later = previous[previous.index("\n## ") :] if "\n## " in previous else ""
    RESULTS.write_text("# recordIO codec benchmark (last run)\n\n" + table + "\n" + later)
    if not identical:
        sys.exit("our output differs from the SDK's")


def _median_ratio(peer: list[float], ours: list[float]) -> str:
    """The ratio of the medians too: on a busy machine the best runs alone can flatter either side."""
    return f" (medians: {statistics.median(peer) / statistics.median(ours):.1f}×)"


def _ratio(peer: float, ours: float) -> str:
    return f"{peer / ours:.1f}× faster"


if __name__ == "__main__":
    main()
