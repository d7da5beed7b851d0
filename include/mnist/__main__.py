"""``python -m include.mnist [SOURCE] [--out DIR --formats csv,libsvm]``: fetch (and cache) a source, print
its split sizes, and optionally write it in the algorithms' formats. Run it once with network to fill the
cache for later offline runs of ``mnist`` or a mirror."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from include.mnist.dataset import PIXEL_TYPES
from include.mnist.errors import MnistError
from include.mnist.loader import load_mnist
from include.mnist.sources import DEFAULT_SOURCE, VALID_FORMS
from include.mnist.writers import FORMATS, write_dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.mnist", description=__doc__)
    parser.add_argument("source", nargs="?", default=DEFAULT_SOURCE, help="one of: " + ", ".join(VALID_FORMS))
    parser.add_argument("--pixels", choices=PIXEL_TYPES, default="float32")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, help="write <out>/<format>/<split>/part-NNNNN.<ext>")
    parser.add_argument("--formats", default="csv", help=f"comma-separated, of {sorted(FORMATS)}")
    args = parser.parse_args(argv)
    try:
        dataset = load_mnist(args.source, pixels=args.pixels, cache_dir=args.cache_dir)
        summary = {"source": dataset.source, "sizes": dataset.sizes, "split_rule": dataset.split_rule}
        if args.out is not None:
            written = write_dataset(
                dataset, args.out, [f.strip() for f in args.formats.split(",") if f.strip()]
            )
            summary["written"] = {f"{w.format}/{w.split}": [str(p) for p in w.paths] for w in written}
    except (MnistError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
