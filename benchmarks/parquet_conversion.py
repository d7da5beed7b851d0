"""Peak memory of the Parquet → recordIO conversion on a table far bigger than MNIST.

    .venv/bin/python -m benchmarks.parquet_conversion [--rows 1000000] [--rows-per-group 20000]

Writes a rows × 784 float32 Parquet file in the seeds' layout (pixel columns "0".."783" plus "label"),
streaming it row group by row group with fastparquet, then converts it in a fresh subprocess with the
code behind ParquetToRecordIOOperator (read row group by row group, "is it a zero" label mapping,
256 MB shards, each shard deleted once complete as the operator does after its upload) and reports that
subprocess's peak RSS (``resource.getrusage``). Appends the result to benchmarks/results/recordio.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fastparquet
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "recordio.md"
FEATURES = 784
LIMIT_MB = 500

CONVERT = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from include.recordio.parquet import inspect_table, iter_batches, write_shards
start = time.perf_counter()
table = inspect_table(sys.argv[1], "label")
shards = []
def uploaded(shard):
    shards.append(shard.size)
    shard.path.unlink()
records = write_shards(
    iter_batches(table, label_mapping={0: 1}, label_default=0),
    Path(sys.argv[2]),
    feature_dim=len(table.feature_columns),
    max_shard_bytes=256 * 1024 * 1024,
    on_shard=uploaded,
)
print(json.dumps({"records": records, "shards": len(shards), "bytes": sum(shards),
                  "seconds": time.perf_counter() - start,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_table(path: Path, rows: int, rows_per_group: int) -> None:
    rng = np.random.default_rng(0)
    columns = [str(i) for i in range(FEATURES)]
    for start in range(0, rows, rows_per_group):
        count = min(rows_per_group, rows - start)
        pixels = rng.integers(0, 256, (count, FEATURES), dtype=np.uint8).astype(np.float32) / 255
        frame = pd.DataFrame(pixels, columns=columns)
        frame["label"] = rng.integers(0, 10, count)
        fastparquet.write(str(path), frame, write_index=False, append=start > 0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rows-per-group", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parquet-bench-") as scratch:
        scratch = Path(scratch)
        source = scratch / "table.parquet"
        start = time.perf_counter()
        write_table(source, args.rows, args.rows_per_group)
        written = time.perf_counter() - start
        shards = scratch / "shards"
        shards.mkdir()
        result = subprocess.run(
            [sys.executable, "-c", CONVERT, str(source), str(shards), str(REPO)],
            check=True,
            capture_output=True,
            text=True,
        )
        stats = json.loads(result.stdout.strip().splitlines()[-1])
        parquet_mb = source.stat().st_size / 1e6
    ok = stats["peak_rss_mb"] < LIMIT_MB and stats["records"] == args.rows
    table = "\n".join(
        [
            f"Parquet → recordIO: {args.rows:,}×{FEATURES} float32, "
            f"row groups of {args.rows_per_group:,} rows "
            f"({parquet_mb:,.0f} MB Parquet, written in {written:.0f} s).",
            "",
            "| records | shards | recordIO MB | seconds | peak RSS MB | target |",
            "|---:|---:|---:|---:|---:|---|",
            f"| {stats['records']:,} | {stats['shards']} | {stats['bytes'] / 1e6:,.0f} "
            f"| {stats['seconds']:.1f} | {stats['peak_rss_mb']:.0f} "
            f"| < {LIMIT_MB} MB: **{'met' if ok else 'NOT met'}** |",
        ]
    )
    print(table)
    if RESULTS.exists():
        text = RESULTS.read_text().split("\n## Parquet conversion")[0].rstrip("\n")
        RESULTS.write_text(text + "\n\n## Parquet conversion\n\n" + table + "\n")
    if not ok:
        sys.exit("peak RSS above the limit, or records lost")


if __name__ == "__main__":
    main()
