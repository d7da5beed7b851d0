"""Request and response helpers shared by the control plane's handlers (every ``_op_<Operation>``).

Stored documents are shaped like the ``Describe*`` responses; keys starting with ``_`` are the
engine's own bookkeeping and :func:`public` strips them before a document leaves the engine.
"""

from __future__ import annotations

from include.local_sagemaker.errors import validation


def public(document: dict) -> dict:
    """The document without the engine's ``_``-prefixed bookkeeping keys."""
    return {key: value for key, value in document.items() if not key.startswith("_")}


def require(request: dict, *fields: str) -> None:
    """Raise SageMaker's "Value null at ..." ValidationException for the first missing field."""
    for field in fields:
        if request.get(field) in (None, "", [], {}):
            raise validation(
                f"1 validation error detected: Value null at '{field}' failed to satisfy constraint: "
                "Member must not be null"
            )


def tags_of(request: dict) -> list[dict]:
    """The request's ``Tags``, checked and normalised to ``{"Key", "Value"}`` objects."""
    tags = request.get("Tags") or []
    for tag in tags:
        if not isinstance(tag, dict) or not tag.get("Key"):
            raise validation(f"Tag {tag!r} must be an object with a non-empty Key")
    return [{"Key": tag["Key"], "Value": tag.get("Value", "")} for tag in tags]


def page(
    items: list[dict], request: dict, sort_fields: dict[str, str], default_sort: str
) -> tuple[list[dict], str | None]:
    """Sort ``items`` as ``SortBy``/``SortOrder`` ask and cut the page ``NextToken``/``MaxResults`` name."""
    sort_by = request.get("SortBy", default_sort)
    if sort_by not in sort_fields:
        raise validation(
            f"Value '{sort_by}' at 'sortBy' failed to satisfy constraint: "
            f"Member must satisfy enum value set: {sorted(sort_fields)}"
        )
    items.sort(
        key=lambda item: item.get(sort_fields[sort_by]) or 0,
        reverse=request.get("SortOrder", "Descending") == "Descending",
    )
    start = int(request.get("NextToken") or 0)
    size = int(request.get("MaxResults") or 10)
    if not 1 <= size <= 100:
        raise validation(
            f"Value '{size}' at 'maxResults' failed to satisfy constraint: "
            "Member must have value between 1 and 100"
        )
    next_token = str(start + size) if start + size < len(items) else None
    return items[start : start + size], next_token


def time_filters(item: dict, request: dict) -> bool:
    """True if ``item`` passes the request's ``CreationTime*``/``LastModifiedTime*`` bounds."""
    created = item.get("CreationTime", 0)
    modified = item.get("LastModifiedTime", created)
    return (
        created > float(request.get("CreationTimeAfter", float("-inf")))
        and created < float(request.get("CreationTimeBefore", float("inf")))
        and modified > float(request.get("LastModifiedTimeAfter", float("-inf")))
        and modified < float(request.get("LastModifiedTimeBefore", float("inf")))
    )
