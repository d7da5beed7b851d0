"""The shape every resource family of the control plane shares (each family's ``_op_<Operation>``).

Handlers run on requests the service model has accepted (types, required members, lengths, patterns,
enums); these helpers add what the engine needs beyond the model, written once: looking a resource up
(an unknown name is AWS's 400 ``ValidationException``, which the Airflow provider's "does it exist"
checks depend on), creating one under a name no other holds, ``List*`` with its filters, sort orders and
pages (:class:`Listing`), and tags. Stored documents are shaped like the ``Describe*`` responses; keys
starting with ``_`` are the engine's own bookkeeping and :func:`public` strips them before a document
leaves the engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from include.local_sagemaker.algorithms import registry
from include.local_sagemaker.errors import ServiceError, member_path, validation, validation_errors, violation
from include.local_sagemaker.job_runner import JobRunner
from include.local_sagemaker.names import arn
from include.local_sagemaker.state import ResourceStore

#: ``(store, field holding the store key, ARN field)``: where ``AddTags``/``ListTags`` find a resource.
TaggedStore = tuple[ResourceStore, str, str]


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


def lookup(store: ResourceStore, name: str, not_found: str) -> dict:
    """The document stored under ``name``; AWS's ``ValidationException`` with ``not_found`` if none is."""
    document = store.get(name)
    if document is None:
        raise validation(not_found)
    return document


def create_unique(store: ResourceStore, name: str, document: dict, duplicate: ServiceError) -> None:
    """Store a new resource under ``name``; raise ``duplicate`` if one already has that name."""
    with store.lock:
        if name in store:
            raise duplicate
        store.put(name, document)


def copied(request: dict, fields: Iterable[str]) -> dict:
    """The optional members ``fields`` the request has, as they are (stored and described back)."""
    return {field: request[field] for field in fields if field in request}


def check_runnable_image(image: str) -> str:
    """The repository of ``image`` if the engine runs its algorithm; a ValidationException if not."""
    try:
        repository = registry.repository_of(image)
    except registry.UnknownImage as error:
        raise validation(str(error)) from None
    if not registry.is_known(repository):
        raise validation(
            f"Image {image} (repository {repository}) is not an algorithm the local engine runs; "
            f"known repositories: {', '.join(registry.known_repositories())}"
        )
    return repository


def tags_of(request: dict) -> list[dict]:
    """The request's ``Tags`` as ``{"Key", "Value"}`` objects."""
    return [{"Key": tag["Key"], "Value": tag["Value"]} for tag in request.get("Tags") or []]


def paged(response_key: str, summaries: list[dict], token: str | None) -> dict:
    """A ``List*`` response: the summaries under ``response_key``, and ``NextToken`` if more follow."""
    return {response_key: summaries, **({"NextToken": token} if token else {})}


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


@dataclass(frozen=True)
class Listing:
    """One ``List*`` operation over a kind of resource, which all share one shape.

    ``NameContains``, ``StatusEquals`` (for a kind with a ``status_field``) and the ``CreationTime*`` /
    ``LastModifiedTime*`` bounds filter; ``SortBy`` is ``Name``, ``CreationTime`` or (with a status)
    ``Status``; the page is cut as :func:`page` cuts it. Each resource's summary is its
    ``summary_fields`` that it has, and what ``more`` takes from elsewhere in it.
    """

    response_key: str
    name_field: str
    summary_fields: tuple[str, ...] = ()
    status_field: str | None = None
    default_sort: str = "CreationTime"
    more: Callable[[dict], dict] | None = None

    def respond(self, resources: Iterable[dict], request: dict) -> dict:
        """The response to ``request`` listing ``resources`` (in the order they come, among equals)."""
        contains = request.get("NameContains", "")
        status = request.get("StatusEquals") if self.status_field else None
        found = [
            resource
            for resource in resources
            if contains in resource[self.name_field]
            and (not status or resource[self.status_field] == status)
            and time_filters(resource, request)
        ]
        sort_fields = {"Name": self.name_field, "CreationTime": "CreationTime"}
        if self.status_field:
            sort_fields["Status"] = self.status_field
        found, token = page(found, request, sort_fields, self.default_sort)
        return paged(self.response_key, [self._summary(resource) for resource in found], token)

    def _summary(self, resource: dict) -> dict:
        summary = {key: resource[key] for key in self.summary_fields if key in resource}
        return {**summary, **self.more(resource)} if self.more else summary


class ResourceFamily:
    """One kind of resource kept in one store: what its operations share, written once.

    A subclass declares its :class:`Listing` (whose ``name_field``, ``TrainingJobName`` say, also names
    the kind: ``TrainingJob``, with ARNs in ``TrainingJobArn``), SageMaker's words for an unknown name
    (``missing``) and for a taken one (``duplicate``, an error ``duplicate_code``), each a format of
    ``name`` and ``arn``, and a family of jobs its ``stop_refusal`` (a format of the job's fields). Its
    ``_op_<Operation>`` handlers are its own methods or the generic ones here
    (``_op_DescribeModel = ResourceFamily.describe``); a family of jobs has a ``runner``.
    """

    listing: Listing
    missing: str
    duplicate: str
    duplicate_code = "ValidationException"
    stop_refusal: str

    def __init__(self, store: ResourceStore, runner: JobRunner | None = None):
        self.store = store
        self.runner = runner

    @property
    def kind(self) -> str:
        return self.listing.name_field.removesuffix("Name")

    def tagged_stores(self) -> list[TaggedStore]:
        return [(self.store, self.listing.name_field, f"{self.kind}Arn")]

    def get(self, name: str) -> dict:
        """The resource named ``name``; a ``ValidationException`` in the words of ``missing`` if none is."""
        return lookup(self.store, name, self.missing.format(name=name, arn=arn(self.kind, name)))

    def create(self, document: dict) -> dict:
        """Store a new resource (and start it, for a job); the ``duplicate`` error if its name is taken.
        Returns ``Create*``'s response: the new resource's ARN."""
        name, arn_field = document[self.listing.name_field], f"{self.kind}Arn"
        taken = ServiceError(self.duplicate_code, self.duplicate.format(name=name, arn=document[arn_field]))
        create_unique(self.store, name, document, taken)
        if self.runner is not None:
            self.runner.start(name)
        return {arn_field: document[arn_field]}

    def describe(self, request: dict) -> dict:
        """``Describe*``: the resource the request names, as a client sees it."""
        return public(self.get(request[self.listing.name_field]))

    def remove(self, request: dict) -> dict:
        """``Delete*`` of a resource that only has to exist to be deleted."""
        name = request[self.listing.name_field]
        with self.store.lock:
            self.get(name)
            self.store.delete(name)
        return {}

    def list(self, request: dict) -> dict:
        """``List*`` over every resource of the kind."""
        return self.listing.respond(self.store.all(), request)

    def stop(self, request: dict) -> dict:
        """``Stop*`` of a job: mark it ``Stopping`` and ask its runner to stop it; a
        ``ValidationException`` in the words of ``stop_refusal`` unless the job is ``InProgress``."""
        name, status_field = request[self.listing.name_field], self.listing.status_field
        with self.store.lock:
            job = self.get(name)
            if job[status_field] != "InProgress":
                raise validation(self.stop_refusal.format_map(job))
            now = time.time()
            changes = {status_field: "Stopping", "LastModifiedTime": now, **self._stopping(job, now)}
            self.store.update(name, **changes)
        self.runner.request_stop(name)
        return {}

    def _stopping(self, job: dict, now: float) -> dict:
        """What else a job's document records as it starts stopping."""
        return {}
