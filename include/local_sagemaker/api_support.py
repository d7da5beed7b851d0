"""Request and response helpers shared by the control plane's handlers (every ``_op_<Operation>``).

Handlers run on requests the service model has accepted (types, required members, lengths, patterns,
enums); these helpers add what the engine needs beyond the model. Stored documents are shaped like the
``Describe*`` responses; keys starting with ``_`` are the engine's own bookkeeping and :func:`public`
strips them before a document leaves the engine.
"""

from __future__ import annotations

from include.local_sagemaker.algorithms import registry
from include.local_sagemaker.errors import member_path, validation, validation_errors, violation


def public(document: dict) -> dict:
    """The document without the engine's ``_``-prefixed bookkeeping keys."""
    return {key: value for key, value in document.items() if not key.startswith("_")}


def require(request: dict, *fields: str, path: str = "") -> None:
    """SageMaker's "Value null at ..." ValidationException for every missing or empty field.

    For members the engine needs although the model makes them optional (the model's own required
    members are checked before a handler runs). ``path`` is the AWS path of ``request`` itself.
    """
    missing = [
        violation(member_path(path, field), "Member must not be null", None)
        for field in fields
        if request.get(field) in (None, "", [], {})
    ]
    if missing:
        raise validation_errors(missing)


def check_runnable_image(image: str) -> str:
    """The repository of ``image`` if the engine runs its algorithm; a ValidationException if not."""
    try:
        repository = registry.repository_of(image)
    except registry.UnknownImage as error:
        raise validation(str(error)) from None
    if repository not in registry._MODULES:
        raise validation(
            f"Image {image} (repository {repository}) is not an algorithm the local engine runs; "
            f"known repositories: {', '.join(sorted(registry._MODULES))}"
        )
    return repository


def tags_of(request: dict) -> list[dict]:
    """The request's ``Tags`` as ``{"Key", "Value"}`` objects."""
    return [{"Key": tag["Key"], "Value": tag["Value"]} for tag in request.get("Tags") or []]


def page(
    items: list[dict], request: dict, sort_fields: dict[str, str], default_sort: str
) -> tuple[list[dict], str | None]:
    """Sort ``items`` as ``SortBy``/``SortOrder`` ask and cut the page ``NextToken``/``MaxResults`` name.

    ``sort_fields`` maps each ``SortBy`` value of the operation's model to the field it sorts on.
    """
    sort_by = request.get("SortBy", default_sort)
    items.sort(
        key=lambda item: item.get(sort_fields[sort_by]) or 0,
        reverse=request.get("SortOrder", "Descending") == "Descending",
    )
    token = request.get("NextToken") or "0"
    # The engine's tokens are offsets into the sorted listing.
    if not (token.isascii() and token.isdecimal() and len(token) < 19):
        raise validation(f"Invalid pagination token {token!r}: pass the NextToken of the previous page")
    start = int(token)
    size = request.get("MaxResults", 10)
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
