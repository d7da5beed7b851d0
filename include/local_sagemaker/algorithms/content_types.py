"""MIME types of the built-in algorithms' data, and parsing of ``type/subtype; key=value`` headers."""

from __future__ import annotations

RECORDIO_PROTOBUF = "application/x-recordio-protobuf"
CSV = "text/csv"
JSON = "application/json"
JSON_LINES = "application/jsonlines"

# Spellings clients use for the same types (the SDK's JSONLinesSerializer sends ``application/jsonlines``,
# other tools ``application/x-jsonlines`` or ``application/json-lines``).
_ALIASES = {
    "application/x-jsonlines": JSON_LINES,
    "application/json-lines": JSON_LINES,
    "application/jsonl": JSON_LINES,
}


def parse(header: str | None) -> tuple[str, dict[str, str]]:
    """``"text/csv; label_size=0"`` -> ``("text/csv", {"label_size": "0"})``; the type is lower-cased.
    An empty header gives ``("", {})``."""
    if not header:
        return "", {}
    media_type, *params = header.split(";")
    parameters = {}
    for param in params:
        key, _, value = param.partition("=")
        if key.strip():
            parameters[key.strip().lower()] = value.strip().strip('"')
    media_type = media_type.strip().lower()
    return _ALIASES.get(media_type, media_type), parameters


def label_size(parameters: dict[str, str], default: int) -> int:
    """The ``label_size`` parameter of a CSV content type (how many leading columns are labels)."""
    raw = parameters.get("label_size")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"label_size={raw!r} is not a non-negative integer")
    return value
