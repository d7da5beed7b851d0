"""PCA projections: reading what a PCA model answers and turning it into k-means training data.

SageMaker's PCA answers ``application/x-recordio-protobuf`` with one label-only ``Record`` per input record,
``label["projection"]`` holding the record's ``num_components`` values; a batch transform over a recordIO
object writes exactly that, in input order, to ``<object>.out``. Its labels are gone, so the digit of each
record is taken back from the object the transform read.
"""

from __future__ import annotations

import io

import numpy as np

from include.inference.batches import invoke_in_batches
from include.recordio import CONTENT_TYPE as RECORDIO_PROTOBUF
from include.recordio import read_dense, read_records, write_numpy_to_dense_tensor

PROJECTION_KEY = "projection"


def read_projections(body: bytes) -> np.ndarray:
    """The ``projection`` of every record of a PCA recordIO-protobuf answer, as a (records, components)
    float32 matrix."""
    rows = []
    for index, record in enumerate(read_records(body)):
        if PROJECTION_KEY not in record.label:
            keys = ", ".join(sorted(record.label)) or "none"
            raise ValueError(
                f"Record {index} of the PCA output has no {PROJECTION_KEY!r} label (labels: {keys}); "
                "is this the output of a PCA model with Accept application/x-recordio-protobuf?"
            )
        rows.append(np.asarray(record.label[PROJECTION_KEY].float32_tensor.values, dtype=np.float32))
    if not rows:
        raise ValueError("The PCA output holds no records")
    widths = {len(row) for row in rows}
    if len(widths) > 1:
        raise ValueError(f"PCA projections have different lengths {sorted(widths)}")
    return np.stack(rows)


def projected_recordio(transform_output: bytes, source: bytes, num_components: int) -> bytes:
    """recordIO-protobuf of each record's projection (from ``transform_output``, the ``.out`` object of a PCA
    batch transform) labelled with its digit (from ``source``, the object the transform read).

    The projections must have ``num_components`` values, the ``feature_dim`` k-means will be trained with.
    """
    projections = read_projections(transform_output)
    if projections.shape[1] != num_components:
        raise ValueError(
            f"The PCA model answered projections of {projections.shape[1]} values; "
            f"expected num_components={num_components}"
        )
    _, labels = read_dense(source)
    if labels is None:
        raise ValueError("The transform's input object carries no labels to keep")
    if len(labels) != len(projections):
        raise ValueError(
            f"The transform output has {len(projections)} projections for {len(labels)} input records; "
            "it must have one per record, in order (SplitType RecordIO)"
        )
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, projections, np.asarray(labels, dtype=np.float32))
    return buffer.getvalue()


def project(runtime_client, endpoint_name: str, features: np.ndarray) -> np.ndarray:
    """Each row of ``features`` projected by the PCA endpoint ``endpoint_name``, as a float32 matrix.

    Answers are asked for in recordIO-protobuf (what the SageMaker SDK's PCA predictor reads), so the
    endpoint and the batch transform are decoded by the same :func:`read_projections`.
    """
    batches = []
    for answer in invoke_in_batches(runtime_client, endpoint_name, features, accept=RECORDIO_PROTOBUF):
        projections = read_projections(answer.body)
        if len(projections) != answer.rows:
            raise ValueError(
                f"Endpoint {endpoint_name} answered {len(projections)} projections for {answer.rows} rows"
            )
        batches.append(projections)
    if not batches:
        raise ValueError("No features were given to project")
    return np.concatenate(batches)
