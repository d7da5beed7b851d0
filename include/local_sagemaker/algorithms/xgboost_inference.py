"""Requests and responses of the SageMaker XGBoost container's ``/invocations`` (algorithm mode).

Requests (``Content-Type``): ``text/csv`` (features only, one record a line, the delimiter sniffed from the
first line, empty cells missing), ``text/libsvm`` / ``text/x-libsvm`` (the default when no type is sent;
``index:value`` entries, absent ones missing) and ``application/x-recordio-protobuf``. libsvm indices are
taken as column numbers, as the training reader does and as the 1.7-1 image (this project's default
version) does; the 3.0-5 image shifts 1-based indices down by one instead.

As in XGBoost itself, a zero written in CSV is a value while an entry left out of libsvm is missing: a
model trained on libsvm (where zero pixels are left out) should be asked in libsvm, and a request may not
have more columns than the model has features (a libsvm-trained model has ``max index + 1``).

Responses depend on the image's version (:func:`respond`). From 1.2-2 on, ``Accept`` (missing or ``*/*``
means ``text/csv``) picks CSV with one prediction a line (a row of class probabilities for
``multi:softprob``) or JSON ``{"predictions": [{"score": ...}, ...]}``. The legacy image and the containers
up to 1.2-1 do not read ``Accept`` and answer a real-time request with the predictions comma-joined on one
line. In a batch transform (``SAGEMAKER_BATCH`` set) every version writes one prediction a line.

Errors carry the container's statuses and words: 415 for a body that does not parse or a type it does not
read, 400 (``Unable to evaluate payload provided: ...``) when XGBoost cannot predict, 406 for an Accept it
does not offer. JSON Lines and recordIO responses exist only in the container's selectable-inference mode
(``SAGEMAKER_INFERENCE_OUTPUT``), which the local engine does not offer: they fail with 500, as the
container's encoder does outside that mode.
"""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import scipy.sparse as sp

from include.local_sagemaker.algorithms import content_types, xgboost_versions
from include.local_sagemaker.algorithms.base import InferenceError
from include.local_sagemaker.algorithms.payloads import first_non_number
from include.local_sagemaker.algorithms.xgboost_data import CONTENT_TYPES, CSV, LIBSVM, RECORDIO_PROTOBUF

MAX_PAYLOAD_BYTES = 6_291_456  # the container's MAX_CONTENT_LENGTH default
DEFAULT_ACCEPT = content_types.CSV
SUPPORTED_ACCEPTS = (
    content_types.JSON,
    content_types.JSON_LINES,
    content_types.RECORDIO_PROTOBUF,
    content_types.CSV,
)
# A first line of plain numbers and commas: csv.Sniffer always answers "," for it, so it is not run
# (sniffing costs more than parsing a 784-feature record).
_PLAIN_NUMBERS = re.compile(r"[0-9eE+\-.,]*\Z")


def request_kind(content_type: str | None) -> str:
    """``csv``, ``libsvm`` or ``recordio-protobuf`` for a request's Content-Type, or 415."""
    if not content_type:
        return LIBSVM
    media_type, parameters = _parse_header(content_type.lower())
    kind = CONTENT_TYPES.get(media_type)
    if kind == CSV and parameters.get("label_size", "1") != "1":
        raise InferenceError(
            415,
            f"{content_type} is not an accepted csv ContentType. "
            "Optional parameter label_size must be equal to 1",
        )
    if kind is None:
        raise InferenceError(
            415, f"{content_type} is not an accepted ContentType: {', '.join(CONTENT_TYPES)}."
        )
    if kind not in (CSV, LIBSVM, RECORDIO_PROTOBUF):
        raise InferenceError(415, f"Content-type {content_type} is not supported.")
    return kind


def decode(body: bytes, kind: str) -> np.ndarray | sp.csr_matrix:
    """The request's records: float64 rows (CSV, NaN for empty cells), CSR (libsvm) or float32 (recordIO)."""
    if kind == CSV:
        return _decode_csv(body)
    if kind == LIBSVM:
        return _decode_libsvm(body)
    return _decode_recordio(body)


def choose_accept(accept: str | None) -> str:
    """The response type for an ``Accept`` header, or 406 (one type only, parameters ignored)."""
    media_type, _ = _parse_header(accept or "")
    if not media_type or media_type == "*/*":
        return DEFAULT_ACCEPT
    if media_type.lower() not in SUPPORTED_ACCEPTS:
        raise InferenceError(
            406,
            f"Accept type {media_type} is not supported. "
            f"Please use supported accept types: {list(SUPPORTED_ACCEPTS)}.",
        )
    return media_type.lower()


# The first image that reads Accept and answers a real-time request one prediction a line. Read off the
# invocations() of algorithm_mode/serve.py on each branch of github.com/aws/sagemaker-xgboost-container:
# up to 1.2-1 (0.90-1, 0.90-2, 1.0-1, 1.2-1) it answers ``",".join(map(str, preds.tolist()))`` as text/csv
# whatever the Accept, ``"\n".join(...) + "\n"`` in batch transform; from 1.2-2 on, sagemaker-containers'
# encoders (CSV one row a line) or JSON in real time, and still ``"\n".join(...) + "\n"`` in batch, under
# the Accept's type. The legacy image (xgboost:1, closed source) joined with commas too: SageMaker Spark's
# XGBoostCSVRowDeserializer, written for it, splits a response on commas.
LINES_SINCE = "1.2-2"


def respond(predictions: np.ndarray, accept: str | None, version: str, batch: bool) -> tuple[bytes, str]:
    """The body and content type with which the image of ``version`` answers ``predictions``."""
    if xgboost_versions.order(version) < xgboost_versions.order(LINES_SINCE):
        if batch:
            return _str_lines(predictions), content_types.CSV
        return ",".join(map(str, _values(predictions))).encode(), content_types.CSV
    response_type = choose_accept(accept)
    if batch:
        return _str_lines(predictions), response_type
    return encode(predictions, response_type), response_type


def _values(predictions: np.ndarray) -> list:
    return predictions.astype(np.float64).tolist()  # float32 printed widened, as the container does


def _str_lines(predictions: np.ndarray) -> bytes:
    # str() of each prediction: a number, or a row of class probabilities written "[0.1, 0.9]".
    return "".join(f"{value}\n" for value in _values(predictions)).encode()


def encode(predictions: np.ndarray, accept: str) -> bytes:
    """Real-time predictions (one per record or one row per record) in the ``accept`` format, from 1.2-2."""
    values = _values(predictions)
    if accept == content_types.CSV:
        if predictions.ndim == 1:
            return "".join(f"{value!r}\n" for value in values).encode()
        return "".join(",".join(map(repr, row)) + "\n" for row in values).encode()
    if accept == content_types.JSON:
        return json.dumps({"predictions": [{"score": value} for value in values]}).encode()
    raise InferenceError(
        500,
        f"Content type {accept} is not supported by this framework: the XGBoost container answers "
        "application/jsonlines and application/x-recordio-protobuf only in selectable inference mode "
        "(SAGEMAKER_INFERENCE_OUTPUT); use text/csv or application/json",
    )


def _parse_header(header: str) -> tuple[str, dict[str, str]]:
    media_type, *params = header.split(";")
    parameters = {}
    for param in params:
        key, _, value = param.partition("=")
        parameters[key.strip()] = value.strip().strip('"')
    return media_type.strip(), parameters


def _csv_failure(error: str) -> InferenceError:
    return InferenceError(
        415, f"Loading csv data failed with Exception, please ensure data is in csv format:\n {error}"
    )


def _decode_csv(body: bytes) -> np.ndarray:
    try:
        text = body.strip().decode("utf-8")
    except UnicodeDecodeError as error:
        raise _csv_failure(f"the body is not UTF-8 text ({error})") from None
    lines = text.split("\n")
    delimiter = _csv_delimiter(lines[0])
    rows = []
    for line in lines:
        cells = line.rstrip("\r").split(delimiter)
        if "" in cells:
            cells = ["nan" if cell == "" else cell for cell in cells]
        rows.append(cells)
    width = len(rows[0])
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise _csv_failure(f"line {number} has {len(row)} values but line 1 has {width}")
    try:
        return np.array(rows, dtype=np.float64)
    except ValueError:
        number, column, cell = first_non_number(rows)
        raise _csv_failure(f"line {number} column {column} is {cell[:40]!r}, not a number") from None


def _csv_delimiter(first_line: str) -> str:
    if _PLAIN_NUMBERS.match(first_line):
        return ","
    try:
        sniffed = csv.Sniffer().sniff(first_line[:512]).delimiter
    except csv.Error as error:
        raise _csv_failure(f"could not determine the delimiter of {first_line[:50]!r} ({error})") from None
    return "," if sniffed.isalnum() else sniffed


def _decode_libsvm(body: bytes) -> sp.csr_matrix:
    try:
        text = body.strip().decode("utf-8")
        rows, columns, values = [], [], []
        for row, line in enumerate(text.split("\n")):
            for token in line.split(" "):
                if ":" in token:
                    index, value = token.split(":")[:2]
                    rows.append(row)
                    columns.append(int(index))
                    values.append(float(value))
        if not values:
            raise ValueError("no index:value entries in the body")
        columns_array = np.asarray(columns)
        if columns_array.min() < 0:
            raise ValueError(f"negative feature index {columns_array.min()}")
        return sp.csr_matrix((np.asarray(values), (np.asarray(rows), columns_array)))
    except (ValueError, UnicodeDecodeError) as error:
        raise InferenceError(
            415,
            "Loading libsvm data failed with Exception, please ensure data is in libsvm format:\n "
            f"{type(error)}\n {error}",
        ) from None


def _decode_recordio(body: bytes) -> np.ndarray:
    from include.recordio import read_dense

    try:
        features, _labels = read_dense(body)
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2 or features.shape[0] == 0:
            raise ValueError("no dense records in the body")
    except Exception as error:
        raise InferenceError(
            415,
            "Loading recordio-protobuf data failed with Exception, please ensure data is in "
            f"recordio-protobuf format: {type(error)} {error}",
        ) from None
    return features
