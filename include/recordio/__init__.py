"""The recordIO-protobuf format of SageMaker's built-in algorithms.

Drop-in replacements for ``sagemaker.amazon.common`` (byte-identical output, same arguments, dtype rules
and error messages), vectorised so that whole matrices are encoded and decoded without a loop per row:

- :func:`write_numpy_to_dense_tensor` — a dense 2-D array (+ optional labels) to records;
- :func:`write_spmatrix_to_sparse_tensor` — a scipy sparse matrix (+ optional labels) to sparse records;
- :func:`read_records` — the records of a stream (read-only :class:`RecordView`\\ s of dense files);
- :func:`read_dense` — a stream straight to ``(features, labels)`` numpy arrays;
- :func:`iter_dense` — a file to ``(features, labels)`` batches of bounded size;
- :func:`iter_stream` — the same for a stream read front to back (a Pipe-mode channel).

:data:`CONTENT_TYPE` is the MIME type SageMaker names the format by, in channels (``ContentType``),
transform jobs and ``InvokeEndpoint`` requests.
"""

from include.recordio.dense_writer import write_numpy_to_dense_tensor
from include.recordio.errors import RecordIOError
from include.recordio.reader import iter_dense, iter_stream, read_dense, read_records
from include.recordio.record_views import RecordView
from include.recordio.schema import Record
from include.recordio.sparse_writer import write_spmatrix_to_sparse_tensor

CONTENT_TYPE = "application/x-recordio-protobuf"

__all__ = [
    "CONTENT_TYPE",
    "Record",
    "RecordIOError",
    "RecordView",
    "iter_dense",
    "iter_stream",
    "read_dense",
    "read_records",
    "write_numpy_to_dense_tensor",
    "write_spmatrix_to_sparse_tensor",
]
