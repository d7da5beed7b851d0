"""Field-by-field comparison of a DAG's SageMaker request with the SageMaker SDK's, with the differences
AWS does not act on listed, each with its reason.

A request is flattened to ``{path: value}``: nested keys joined with ``.``; list items keyed by what
names them (``InputDataConfig[train]``, ``ProductionVariants[AllTraffic]``, ``Containers[0]``). Empty maps
and lists flatten to nothing: AWS treats ``"Environment": {}`` or ``"Tags": []`` as absent. Every path
whose values differ (absent on one side included) must be explained by an :class:`Allowed`, or the
comparison reports it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

ABSENT = object()
ANY = object()
# The key that names the items of a list, by the list's own key.
_ITEM_KEYS = {
    "InputDataConfig": "ChannelName",
    "ProductionVariants": "VariantName",
    "CategoricalParameterRanges": "Name",
    "IntegerParameterRanges": "Name",
    "ContinuousParameterRanges": "Name",
    "MetricDefinitions": "Name",
    "Tags": "Key",
}


def flatten(request: Mapping, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in request.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{path}."))
        elif isinstance(value, list | tuple):
            item_key = _ITEM_KEYS.get(key)
            for index, item in enumerate(value):
                label = item.get(item_key, index) if item_key and isinstance(item, Mapping) else index
                if isinstance(item, Mapping):
                    flat.update(flatten(item, f"{path}[{label}]."))
                else:
                    flat[f"{path}[{label}]"] = item
        else:
            flat[path] = value
    return flat


@dataclass(frozen=True)
class Allowed:
    """A difference AWS does not act on: at paths of ``operation`` matching ``path`` (``*`` matches
    anything), the DAG's value may be ``dag`` and the SDK's ``sdk`` (:data:`ANY`, :data:`ABSENT` or a
    value), when ``when(dag_request)`` holds."""

    operation: str
    path: str
    reason: str
    dag: object = ANY
    sdk: object = ANY
    when: Callable[[Mapping], bool] | None = field(default=None, compare=False)
    # Holds for the two values, when the difference is in how a value is spelled.
    equal: Callable[[object, object], bool] | None = field(default=None, compare=False)

    def explains(self, operation: str, path: str, dag: object, sdk: object, dag_request: Mapping) -> bool:
        return (
            operation == self.operation
            and re.fullmatch(re.escape(self.path).replace(r"\*", ".*"), path) is not None
            and _fits(dag, self.dag)
            and _fits(sdk, self.sdk)
            and (self.when is None or self.when(dag_request))
            and (self.equal is None or self.equal(dag, sdk))
        )


def same_number(dag: object, sdk: object) -> bool:
    """``"4.0"`` and ``"4"``: two spellings of one number."""
    try:
        return float(dag) == float(sdk)
    except (TypeError, ValueError):
        return False


def _fits(value: object, expected: object) -> bool:
    return expected is ANY or value is expected or (expected is not ABSENT and value == expected)


@dataclass(frozen=True)
class Renamed:
    """The SDK spells a field another way the service accepts with the same meaning; its values are
    compared under the DAG's name."""

    operation: str
    sdk_prefix: str
    dag_prefix: str
    reason: str


@dataclass
class Comparison:
    operation: str
    unexplained: list[str]
    explained: dict[Allowed, list[str]]


def compare(
    operation: str,
    dag_request: Mapping,
    sdk_request: Mapping,
    allowed: Iterable[Allowed],
    renamed: Iterable[Renamed] = (),
) -> Comparison:
    """Every path where the two requests differ, explained by ``allowed`` or not."""
    dag, sdk = flatten(dag_request), flatten(sdk_request)
    for rename in renamed:
        if rename.operation == operation:
            sdk = {
                rename.dag_prefix + path[len(rename.sdk_prefix) :]
                if path.startswith(rename.sdk_prefix)
                else path: v
                for path, v in sdk.items()
            }
    allowed = [entry for entry in allowed if entry.operation == operation]
    unexplained, explained = [], {}
    for path in sorted(dag.keys() | sdk.keys()):
        ours, theirs = dag.get(path, ABSENT), sdk.get(path, ABSENT)
        if ours is not ABSENT and theirs is not ABSENT and ours == theirs:
            continue
        reason = next((a for a in allowed if a.explains(operation, path, ours, theirs, dag_request)), None)
        if reason is None:
            unexplained.append(f"{operation} {path}: DAG {_show(ours)}, SDK {_show(theirs)}")
        else:
            explained.setdefault(reason, []).append(path)
    return Comparison(operation, unexplained, explained)


def _show(value: object) -> str:
    return "absent" if value is ABSENT else repr(value)
