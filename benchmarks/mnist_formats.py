"""Writing 70,000 MNIST-format images to each format, against a peer in the same run.

Data: Fashion-MNIST from Debian's dataset-fashion-mnist (70,000 real images) when it is installed, else the
offline sample tiled to 70,000 rows. "ours" is ``include.mnist.write_split`` (sharded, streamed, atomic);
the peer is the library call a seed would make on the whole array at once, into one file:

    parquet       fastparquet.write of one DataFrame (statistics on, fastparquet's default)
    libsvm        sklearn.datasets.dump_svmlight_file of the whole matrix
    csv           numpy.savetxt of the whole matrix with the label column first
    csv-features  the same without the label
    recordio      include.recordio.write_numpy_to_dense_tensor of the whole matrix (the SDK comparison
                  lives in benchmarks/recordio_codec.py)

Each repeat runs ours then the peer, so both see the same load on a shared machine; the best time of
each is reported. A ratio below 1 means ours is faster. Also timed: loading the offline sample and
writing it in every format (the first-run path of a DAG).

Run: ``.venv/bin/python -m benchmarks.mnist_formats [--pixels uint8] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import fastparquet
import numpy as np
import pandas as pd
from sklearn.datasets import dump_svmlight_file

from include.mnist import FORMATS, load_mnist, write_dataset, write_split
from include.mnist.dataset import Split
from include.mnist.sources import FASHION_MNIST_DIR
from include.mnist.writers.parquet import LABEL_COLUMN, PIXEL_COLUMNS
from include.recordio import write_numpy_to_dense_tensor

N_IMAGES = 70_000


def seventy_thousand(pixels: str) -> tuple[str, Split]:
    if FASHION_MNIST_DIR.is_dir():
        dataset = load_mnist("fashion-mnist", pixels=pixels)
        name = "Fashion-MNIST (Debian package), all 70,000 images"
    else:
        dataset = load_mnist("sample", pixels=pixels)
        name = "offline sample tiled to 70,000 images"
    images = np.concatenate([split.images for split in dataset.splits.values()])
    labels = np.concatenate([split.labels for split in dataset.splits.values()])
    reps = -(-N_IMAGES // len(labels))
    return name, Split(np.tile(images, (reps, 1))[:N_IMAGES], np.tile(labels, reps)[:N_IMAGES])


def peer_writer(fmt: str) -> Callable[[Path, Split], None]:
    def parquet(path: Path, split: Split) -> None:
        frame = pd.DataFrame(split.images, columns=PIXEL_COLUMNS)
        frame[LABEL_COLUMN] = split.labels
        fastparquet.write(str(path), frame, write_index=False)

    def libsvm(path: Path, split: Split) -> None:
        dump_svmlight_file(split.images.astype(np.float32), split.labels, str(path), zero_based=False)

    def csv(path: Path, split: Split, with_label: bool = True) -> None:
        table = np.column_stack([split.labels, split.images]) if with_label else split.images
        fmt = "%d" if np.issubdtype(split.images.dtype, np.integer) else "%.9g"
        formats = ["%d"] * with_label + [fmt] * split.images.shape[1]
        np.savetxt(path, table, fmt=formats, delimiter=",")

    def recordio(path: Path, split: Split) -> None:
        with path.open("wb") as out:
            write_numpy_to_dense_tensor(out, split.images.astype(np.float32), split.labels.astype(np.float32))

    return {
        "parquet": parquet,
        "libsvm": libsvm,
        "csv": csv,
        "csv-features": lambda path, split: csv(path, split, with_label=False),
        "recordio": recordio,
    }[fmt]


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def total_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pixels", choices=["float32", "uint8"], default="float32")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    name, split = seventy_thousand(args.pixels)
    print(f"data: {name}; pixels {args.pixels}; {len(split)} rows; best of {args.repeats}\n")
    print("| format | ours (s) | peer (s) | ours / peer | output MB | shards |")
    print("|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="mnist-bench-") as scratch:
        root = Path(scratch)
        for fmt in FORMATS:
            ours_dir, peer_file = root / "ours" / fmt, root / f"peer.{fmt}"

            def ours(fmt: str = fmt, ours_dir: Path = ours_dir) -> list[Path]:
                shutil.rmtree(ours_dir, ignore_errors=True)
                return write_split(fmt, split, ours_dir)

            def peer(fmt: str = fmt, peer_file: Path = peer_file) -> None:
                peer_writer(fmt)(peer_file, split)

            ours_time = peer_time = float("inf")
            for _ in range(args.repeats):
                ours_time = min(ours_time, timed(ours))
                peer_time = min(peer_time, timed(peer))
            shards = len(list(ours_dir.iterdir()))
            print(
                f"| {fmt} | {ours_time:.2f} | {peer_time:.2f} | {ours_time / peer_time:.2f} "
                f"| {total_size(ours_dir) / 1e6:.0f} | {shards} |"
            )

        start = time.perf_counter()
        sample = load_mnist("sample", pixels=args.pixels)
        loaded = time.perf_counter() - start
        write_dataset(sample, root / "sample", FORMATS)
        total = time.perf_counter() - start
        print(
            f"\nsample ({sum(sample.sizes.values())} images): load {loaded:.2f}s, "
            f"load + write all {len(FORMATS)} formats {total:.2f}s"
        )


if __name__ == "__main__":
    main()
