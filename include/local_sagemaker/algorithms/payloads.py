"""Inference request decoding and response encoding shared by the built-in algorithms.

Requests (``Content-Type``): ``text/csv`` (one record a line, no header), ``application/json``
(``{"instances": [{"features": [...]}, {"data": {"features": {"values": [...]}}}, ...]}``, sparse
``{"keys", "shape", "values"}`` too), ``application/jsonlines`` (one such instance a line) and
``application/x-recordio-protobuf`` (dense ``Record`` features). All become a float32 matrix.

Responses (``Accept``) are built from named per-record columns, e.g. k-means'
``{"closest_cluster": (n,), "distance_to_cluster": (n,)}`` or PCA's ``{"projection": (n, c)}``:
JSON ``{"predictions": [{...}, ...]}``, JSON Lines one object a line, CSV one record a line, or
recordIO-protobuf with one label-only ``Record`` per input record. Problems raise
:class:`~include.local_sagemaker.algorithms.base.InferenceError` with the HTTP status a real
container uses (400 bad payload, 413 too large, 415 content type, 406 accept).
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from include.local_sagemaker.algorithms import content_types
from include.local_sagemaker.algorithms.base import InferenceError

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # InvokeEndpoint's Body limit (6 MB)
REQUEST_TYPES = (
    content_types.CSV,
    content_types.JSON,
    content_types.JSON_LINES,
    content_types.RECORDIO_PROTOBUF,
)
RESPONSE_TYPES = (
    content_types.JSON,
    content_types.JSON_LINES,
    content_types.CSV,
    content_types.RECORDIO_PROTOBUF,
)

_RECORDIO_MAGIC = struct.pack("<I", 0xCED7230A)


# --- requests -------------------------------------------------------------------------------------


def decode_features(
    body: bytes, content_type: str | None, feature_dim: int, accepted: Sequence[str] = REQUEST_TYPES
) -> np.ndarray:
    """Decode a request body into a float32 matrix of shape (records, ``feature_dim``)."""
    if len(body) > MAX_PAYLOAD_BYTES:
        raise InferenceError(
            413,
            f"Payload of {len(body)} bytes exceeds the {MAX_PAYLOAD_BYTES} byte (6 MB) limit "
            "of InvokeEndpoint",
        )
    media_type, parameters = content_types.parse(content_type)
    if media_type not in accepted:
        raise InferenceError(
            415,
            f"Content-Type header value {content_type!r} not supported; "
            f"supported content types: {', '.join(accepted)}",
        )
    if not body.strip():
        raise InferenceError(400, "Unable to evaluate payload provided: the request body is empty")
    if media_type == content_types.CSV:
        try:
            labels = content_types.label_size(parameters, default=0)
        except ValueError as error:
            raise InferenceError(415, f"Content-Type {content_type!r}: {error}") from None
        rows = _decode_csv(body, feature_dim + labels)[:, labels:]
    elif media_type == content_types.JSON:
        rows = _decode_json(body, feature_dim)
    elif media_type == content_types.JSON_LINES:
        rows = _decode_json_lines(body, feature_dim)
    else:
        rows = _decode_recordio(body)
    if rows.shape[1] != feature_dim:
        raise InferenceError(
            400,
            f"Unable to evaluate payload provided: records have {rows.shape[1]} features "
            f"but the model expects {feature_dim} (feature_dim)",
        )
    return rows


# Below this many rows, splitting in Python beats pandas' fixed cost of about 10 ms per call.
_PANDAS_CSV_MIN_ROWS = 16


def _decode_csv(body: bytes, width: int) -> np.ndarray:
    """Parse CSV rows (pandas' C parser for batches); a malformed body is re-read to name the bad cell."""
    lines = [line for line in body.splitlines() if line.strip()]
    for number, line in enumerate(lines, start=1):
        values = line.count(b",") + 1
        if values != width:
            raise InferenceError(
                400,
                f"Unable to evaluate payload provided: CSV record {number} has {values} values, "
                f"expected {width}",
            )
    if len(lines) < _PANDAS_CSV_MIN_ROWS:
        return _decode_csv_strictly(body, width)
    try:
        rows = pd.read_csv(
            io.BytesIO(b"\n".join(lines)), header=None, dtype=np.float32, engine="c", na_filter=False
        ).to_numpy()
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError):
        rows = None
    if rows is None or rows.shape != (len(lines), width):
        return _decode_csv_strictly(body, width)
    return rows


def _decode_csv_strictly(body: bytes, width: int) -> np.ndarray:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InferenceError(
            400, f"Unable to evaluate payload provided: CSV is not UTF-8 text ({error})"
        ) from None
    rows = [line.split(",") for line in text.splitlines() if line.strip()]
    try:
        return np.array(rows, dtype=np.float32)
    except ValueError:
        number, column, cell = first_non_number(rows)
        raise InferenceError(
            400,
            f"Unable to evaluate payload provided: CSV record {number} column {column} "
            f"is {cell[:40]!r}, not a number",
        ) from None


def first_non_number(rows: list[list[str]]) -> tuple[int, int, str]:
    """The first cell (1-based record, 1-based column, text) that ``float`` cannot read, after numpy
    refused the rows; the message of a rejected CSV body names it."""
    for number, row in enumerate(rows, start=1):
        for column, cell in enumerate(row, start=1):
            try:
                float(cell)
            except ValueError:
                return number, column, cell
    raise ValueError("Every cell is a number; the rows were rejected for another reason")


def _decode_json(body: bytes, feature_dim: int) -> np.ndarray:
    document = _load_json(body, "JSON")
    if isinstance(document, Mapping):
        if "instances" not in document:
            keys = ", ".join(map(repr, document)) or "none"
            raise InferenceError(
                400, f'Unable to evaluate payload provided: JSON object has no "instances" key (keys: {keys})'
            )
        instances = document["instances"]
    else:
        instances = document
    if not isinstance(instances, list) or not instances:
        raise InferenceError(400, 'Unable to evaluate payload provided: "instances" must be a non-empty list')
    if all(isinstance(value, int | float) and not isinstance(value, bool) for value in instances):
        instances = [instances]  # a bare vector is one record
    return _stack([_instance_vector(instance, i, feature_dim) for i, instance in enumerate(instances, 1)])


def _decode_json_lines(body: bytes, feature_dim: int) -> np.ndarray:
    vectors = []
    for number, line in enumerate(body.splitlines(), start=1):
        if line.strip():
            vectors.append(
                _instance_vector(_load_json(line, f"JSON Lines line {number}"), number, feature_dim)
            )
    return _stack(vectors)


def _load_json(text: bytes, what: str):
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InferenceError(
            400, f"Unable to evaluate payload provided: {what} is not valid JSON ({error})"
        ) from None


def _instance_vector(instance, number: int, feature_dim: int) -> np.ndarray:
    """One record of the documented JSON shapes: a list, ``{"features": list | tensor}``,
    ``{"data": {"features": tensor}}`` or a tensor ``{"values", "keys", "shape"}`` itself."""
    element = instance
    if isinstance(element, Mapping) and "data" in element:
        element = element["data"]
    if isinstance(element, Mapping) and "features" in element:
        element = element["features"]
    if isinstance(element, Mapping) and "values" in element:
        return _tensor_vector(element, number, feature_dim)
    if isinstance(element, list):
        return _numbers(element, number)
    raise InferenceError(
        400,
        f"Unable to evaluate payload provided: record {number} has none of the accepted forms "
        '([...], {"features": [...]}, {"data": {"features": {"values": [...]}}})',
    )


def _tensor_vector(tensor: Mapping, number: int, feature_dim: int) -> np.ndarray:
    values = _numbers(tensor["values"], number)
    keys = tensor.get("keys") or []
    if not keys:
        return values
    shape = tensor.get("shape") or [feature_dim]
    try:
        size = int(np.prod(shape))
        indices = np.asarray(keys, dtype=np.int64)
    except (TypeError, ValueError):
        raise InferenceError(
            400, f"Unable to evaluate payload provided: record {number} has bad keys or shape"
        ) from None
    if len(indices) != len(values) or (indices < 0).any() or (indices >= size).any():
        raise InferenceError(
            400,
            f"Unable to evaluate payload provided: record {number} has {len(indices)} keys "
            f"for {len(values)} values or a key outside shape {shape}",
        )
    dense = np.zeros(size, dtype=np.float32)
    dense[indices] = values
    return dense


def _numbers(values, number: int) -> np.ndarray:
    try:
        vector = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError):
        raise InferenceError(
            400, f"Unable to evaluate payload provided: record {number} holds non-numeric values"
        ) from None
    if vector.ndim != 1:
        raise InferenceError(
            400, f"Unable to evaluate payload provided: record {number} is not a flat list of numbers"
        )
    return vector


def _stack(vectors: list[np.ndarray]) -> np.ndarray:
    if not vectors:
        raise InferenceError(400, "Unable to evaluate payload provided: no records in the request")
    widths = {len(vector) for vector in vectors}
    if len(widths) > 1:
        raise InferenceError(
            400, f"Unable to evaluate payload provided: records have different lengths {sorted(widths)}"
        )
    return np.stack(vectors)


def _decode_recordio(body: bytes) -> np.ndarray:
    from include.recordio import read_dense

    try:
        features, _labels = read_dense(body)
    except Exception as error:
        raise InferenceError(
            400, f"Unable to evaluate payload provided: body is not recordIO-protobuf Records ({error})"
        ) from None
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or features.shape[0] == 0:
        raise InferenceError(
            400, "Unable to evaluate payload provided: no dense records in the recordIO body"
        )
    return features


# --- responses ------------------------------------------------------------------------------------


def choose_accept(
    accept: str | None, offered: Sequence[str] = RESPONSE_TYPES, default: str = content_types.JSON
) -> str:
    """The response type for an ``Accept`` header: its first offered entry (``*/*`` or none → ``default``)."""
    if not accept or not accept.strip():
        return default
    for entry in accept.split(","):
        media_type, _ = content_types.parse(entry)
        if media_type in ("*/*", ""):
            return default
        if media_type in offered:
            return media_type
    raise InferenceError(
        406, f"Accept type {accept!r} is not supported; supported accept types: {', '.join(offered)}"
    )


def encode_response(
    columns: Mapping[str, np.ndarray], media_type: str, json_key: str = "predictions"
) -> bytes:
    """Encode per-record ``columns`` (each (n,) or (n, m)) as ``media_type`` (from :func:`choose_accept`)."""
    if media_type == content_types.RECORDIO_PROTOBUF:
        return _encode_recordio(columns)
    rows = _rows(columns)
    if media_type == content_types.JSON:
        return json.dumps({json_key: rows}).encode()
    if media_type == content_types.JSON_LINES:
        return "".join(json.dumps(row) + "\n" for row in rows).encode()
    if media_type == content_types.CSV:
        return "".join(",".join(_csv_cells(row)) + "\n" for row in rows).encode()
    raise InferenceError(406, f"Accept type {media_type!r} is not supported")


def _rows(columns: Mapping[str, np.ndarray]) -> list[dict]:
    # float32 values widened to float64 print the way the real containers print them (23.40593910217285).
    lists = {
        name: np.asarray(values, dtype=np.float32).astype(np.float64).tolist()
        for name, values in columns.items()
    }
    names = list(lists)
    return [dict(zip(names, values, strict=True)) for values in zip(*lists.values(), strict=True)]


def _csv_cells(row: dict) -> list[str]:
    cells = []
    for value in row.values():
        if isinstance(value, list):
            cells.extend(repr(item) for item in value)
        else:
            cells.append(repr(value))
    return cells


def _encode_recordio(columns: Mapping[str, np.ndarray]) -> bytes:
    """One ``aialgs.data.Record`` per record whose ``label`` map holds a Float32Tensor per column and whose
    ``features`` map is empty, framed as recordIO (magic, length, payload, zero padding to 4 bytes)."""
    arrays = {name.encode(): np.asarray(values, dtype="<f4") for name, values in columns.items()}
    count = len(next(iter(arrays.values())))
    out = bytearray()
    for index in range(count):
        payload = b"".join(_label_entry(name, values[index]) for name, values in arrays.items())
        out += _RECORDIO_MAGIC + struct.pack("<I", len(payload)) + payload + b"\0" * (-len(payload) % 4)
    return bytes(out)


def _label_entry(name: bytes, value: np.ndarray) -> bytes:
    data = np.atleast_1d(value).tobytes()
    tensor = (b"\x0a" + _varint(len(data)) + data) if data else b""  # Float32Tensor.values, packed
    record_value = b"\x12" + _varint(len(tensor)) + tensor  # Value.float32_tensor
    entry = b"\x0a" + _varint(len(name)) + name + b"\x12" + _varint(len(record_value)) + record_value
    return b"\x12" + _varint(len(entry)) + entry  # Record.label map entry


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
