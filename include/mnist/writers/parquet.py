"""Parquet in the seed's schema, written with fastparquet: columns "0".."783" then "label"."""

from __future__ import annotations

from pathlib import Path

import numpy as np

PIXEL_COLUMNS = [str(i) for i in range(28 * 28)]
LABEL_COLUMN = "label"


def write_parquet(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Write one Parquet file of ``images`` and ``labels`` as a single row group (a shard is the unit)."""
    # Imported here: DAG files import this package, and parsing them should stay light.
    import fastparquet
    import pandas as pd

    # Copying lays each pixel column out contiguously, which fastparquet then encodes much faster.
    frame = pd.DataFrame(images, columns=PIXEL_COLUMNS, copy=True)
    frame[LABEL_COLUMN] = np.asarray(labels, dtype=np.int64)
    # Each row group and each column statistic costs a pass over 785 columns; shards already bound the
    # size of a file, so one row group per shard and no statistics (no reader here uses them).
    fastparquet.write(str(path), frame, row_group_offsets=len(frame) or 1, write_index=False, stats=False)
