"""``AddTags``, ``DeleteTags`` and ``ListTags``: the tags of any resource, found by its ARN.

Every resource family stores its resources' tags in their documents (``_Tags``, set from the create
request's ``Tags``) and names, in ``tagged_stores()``, the stores whose resources can be tagged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from include.local_sagemaker.api_support import TaggedStore, tags_of
from include.local_sagemaker.errors import validation
from include.local_sagemaker.state import ResourceStore

__all__ = ["Tags"]


class Tags:
    """Tag operations over the stores that ``tagged_stores`` lists (read at each request)."""

    def __init__(self, tagged_stores: Callable[[], Iterable[TaggedStore]]):
        self.tagged_stores = tagged_stores

    def _resource(self, resource_arn: str) -> tuple[ResourceStore, str]:
        for store, name_field, arn_field in self.tagged_stores():
            for document in store.all():
                if document[arn_field] == resource_arn:
                    return store, document[name_field]
        raise validation(f"Resource {resource_arn} does not exist.")

    def _op_AddTags(self, request: dict) -> dict:
        store, name = self._resource(request["ResourceArn"])
        with store.lock:
            tags = {tag["Key"]: tag for tag in store.get(name).get("_Tags", [])}
            tags.update({tag["Key"]: tag for tag in tags_of(request)})
            store.update(name, _Tags=list(tags.values()))
        return {"Tags": list(tags.values())}

    def _op_DeleteTags(self, request: dict) -> dict:
        store, name = self._resource(request["ResourceArn"])
        doomed = set(request["TagKeys"])
        with store.lock:
            store.update(
                name, _Tags=[tag for tag in store.get(name).get("_Tags", []) if tag["Key"] not in doomed]
            )
        return {}

    def _op_ListTags(self, request: dict) -> dict:
        store, name = self._resource(request["ResourceArn"])
        return {"Tags": store.get(name).get("_Tags", [])}
