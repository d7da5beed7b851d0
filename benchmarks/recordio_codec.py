"""include.recordio against the SageMaker SDK's recordIO writer and reader, in one run.

    .venv/bin/python benchmarks/recordio_codec.py [--rows 60000] [--features 784]

The SDK (benchmarks/requirements-sdk.txt) needs protobuf < 7, so it runs in its own virtualenv,
``.cache/sagemaker-sdk``, created on first use; its timings come from a subprocess fed the same arrays,
and its output file is compared byte for byte with ours. Times are the best of ``--repeat`` runs (the
SDK writer, at about 12 s, runs once). Prints a Markdown table, also written to
benchmarks/results/recordio.md.
"""

from __future__ import annotations

import argparse
import json
import os
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

SDK_SCRIPT = """
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
from sagemaker.amazon.common import read_records, write_numpy_to_dense_tensor
features, labels, out_path, repeat = np.load(sys.argv[1]), np.load(sys.argv[2]), sys.argv[3], int(sys.argv[4])
with open(out_path, "wb") as out:
    start = time.perf_counter(); write_numpy_to_dense_tensor(out, features, labels)
    write = time.perf_counter() - start
reads = []
for _ in range(repeat):
    with open(out_path, "rb") as f:
        start = time.perf_counter(); records = read_records(f); reads.append(time.perf_counter() - start)
    del records
print(json.dumps({"write": write, "read_records": min(reads)}))
"""


def ensure_sdk() -> None:
    if SDK_PYTHON.exists():
        return
    print(f"Creating {SDK_VENV} with the SageMaker SDK (once)...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(SDK_VENV)], check=True)
    requirements = REPO / "benchmarks" / "requirements-sdk.txt"
    subprocess.run([str(SDK_PYTHON), "-m", "pip", "install", "-q", "-r", str(requirements)], check=True)


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
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ensure_sdk()

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
        ours_read_records = best(lambda: read_records(ours_path), args.repeat)
        ours_read_dense = best(lambda: read_dense(ours_path), args.repeat)
        ours_read_dense_c = best(lambda: np.ascontiguousarray(read_dense(ours_path)[0]), args.repeat)
        decoded, decoded_labels = read_dense(ours_path)
        assert np.array_equal(decoded, features)
        assert np.array_equal(decoded_labels, labels)

        arrays = [str(scratch / "features.npy"), str(scratch / "labels.npy")]
        quiet = {**os.environ, "SAGEMAKER_SUPPRESS_V2_WARNING": "1"}
        sdk = subprocess.run(
            [str(SDK_PYTHON), "-c", SDK_SCRIPT, *arrays, str(sdk_path), str(args.repeat)],
            check=True,
            capture_output=True,
            text=True,
            env=quiet,
        )
        sdk_times = json.loads(sdk.stdout.strip().splitlines()[-1])
        identical = sdk_path.read_bytes() == ours_path.read_bytes()

    sdk_read = sdk_times["read_records"]
    rows = [
        ("write: SDK `write_numpy_to_dense_tensor`", sdk_times["write"], "1.0×", ""),
        ("write: ours", ours_write, _ratio(sdk_times["write"], ours_write), "≥ 20×"),
        ("write: floor (numpy copy of the same bytes into a file)", floor_write, "", ""),
        ("write: ours / floor", None, f"{ours_write / floor_write:.2f}× the floor", "≤ 3×"),
        ("read: SDK `read_records`", sdk_read, "1.0×", ""),
        ("read: ours `read_records`", ours_read_records, _ratio(sdk_read, ours_read_records), "≥ 10×"),
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
        f"best of {args.repeat} (SDK writer: 1 run). Output byte-identical to the SDK: **{identical}**.",
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
    RESULTS.write_text("# recordIO codec benchmark (last run)\n\n" + table + "\n")
    if not identical:
        sys.exit("our output differs from the SDK's")


def _ratio(peer: float, ours: float) -> str:
    return f"{peer / ours:.1f}× faster"


if __name__ == "__main__":
    main()
