"""Declarative hyperparameter specs that parse and validate the way SageMaker's built-ins do.

Every value in ``hyperparameters.json`` is a string. Each algorithm declares its hyperparameters as
:class:`Hyperparameter` specs; :func:`parse_hyperparameters` applies defaults, parses every value and
raises :class:`~include.local_sagemaker.algorithms.base.JobFailure` with the wording of the
first-party algorithm containers (which validate with a JSON schema and phrase the schema errors), e.g.::

    ClientError: No value(s) were specified for 'k', 'feature_dim' which are required hyperparameter(s)
    (caused by ValidationError)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from include.local_sagemaker.failures import JobFailure


class InvalidValue(ValueError):
    """Raised by a parser: its message says what the hyperparameter expects."""


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter: its name, whether it must be given, its default and its parser.

    ``parse`` turns the string SageMaker passes into a Python value or raises :class:`InvalidValue`
    whose message describes the accepted values ("an integer greater than 0").
    A ``default`` of ``None`` on an optional hyperparameter means "absent" (the parsed dict omits it).
    """

    name: str
    parse: Callable[[str], Any]
    required: bool = False
    default: str | None = None


def client_error(message: str, cause: str = "ValidationError") -> JobFailure:
    """A job failure worded as SageMaker's algorithms word customer errors."""
    return JobFailure(f"ClientError: {message} (caused by {cause})")


def parse_hyperparameters(specs: Iterable[Hyperparameter], given: Mapping[str, str]) -> dict[str, Any]:
    """Validate ``given`` against ``specs``; return every declared name mapped to its parsed value.

    Names starting with ``_`` are the platform's own (``_tuning_objective_metric`` set by tuning jobs,
    ``_kvstore``, ...) and are accepted silently; any other unknown name fails the job.
    """
    specs = list(specs)
    declared = {spec.name for spec in specs}
    missing = [spec.name for spec in specs if spec.required and spec.name not in given]
    if missing:
        names = ", ".join(f"'{name}'" for name in missing)
        raise client_error(f"No value(s) were specified for {names} which are required hyperparameter(s)")
    unexpected = [name for name in given if name not in declared and not name.startswith("_")]
    if unexpected:
        names = ", ".join(repr(name) for name in unexpected)
        verb = "was" if len(unexpected) == 1 else "were"
        raise client_error(f"Additional hyperparameters are not allowed ({names} {verb} unexpected)")
    parsed: dict[str, Any] = {}
    for spec in specs:
        raw = given.get(spec.name, spec.default)
        if raw is None:
            continue
        try:
            parsed[spec.name] = spec.parse(str(raw).strip())
        except InvalidValue as error:
            raise client_error(
                f"The value '{raw}' is not valid for the '{spec.name}' hyperparameter which expects {error}"
            ) from None
    return parsed


# --- parsers -------------------------------------------------------------------------------------


def integer(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    """An integer in ``[minimum, maximum]`` (either bound optional). ``"10.0"`` is accepted as 10,
    as the SDK may send a float-typed integer."""
    expects = _bounds_text("an integer", minimum, maximum)

    def parse(raw: str) -> int:
        try:
            value = float(raw)
        except ValueError:
            raise InvalidValue(expects) from None
        if not value.is_integer():
            raise InvalidValue(expects)
        value = int(value)
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise InvalidValue(expects)
        return value

    return parse


def number(
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    exclusive_minimum: bool = False,
    exclusive_maximum: bool = False,
) -> Callable[[str], float]:
    """A finite float within the bounds (inclusive unless told otherwise)."""
    expects = _bounds_text("a number", minimum, maximum, exclusive_minimum, exclusive_maximum)

    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise InvalidValue(expects) from None
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidValue(expects)
        if minimum is not None and (value < minimum or (exclusive_minimum and value == minimum)):
            raise InvalidValue(expects)
        if maximum is not None and (value > maximum or (exclusive_maximum and value == maximum)):
            raise InvalidValue(expects)
        return value

    return parse


def one_of(*choices: str, case_sensitive: bool = True) -> Callable[[str], str]:
    """One of fixed strings (returned in its canonical spelling)."""
    expects = "one of the following: " + ", ".join(f"'{choice}'" for choice in choices)

    def parse(raw: str) -> str:
        for choice in choices:
            if raw == choice or (not case_sensitive and raw.lower() == choice.lower()):
                return choice
        raise InvalidValue(expects)

    return parse


def boolean(raw: str) -> bool:
    """``true``/``false`` in any case (the SDK sends Python's ``True``/``False``)."""
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise InvalidValue("one of the following: 'true', 'false'")


def or_auto(parse: Callable[[str], Any], auto: str = "auto") -> Callable[[str], Any]:
    """Accept the literal ``auto`` (returned as the string ``"auto"``) besides what ``parse`` accepts."""

    def parse_or_auto(raw: str) -> Any:
        if raw.lower() == auto:
            return auto
        try:
            return parse(raw)
        except InvalidValue as error:
            raise InvalidValue(f"one of the following: '{auto}'; or {error}") from None

    return parse_or_auto


def json_list_of(*choices: str, name: str) -> Callable[[str], list[str]]:
    """A JSON list drawn from ``choices`` such as ``'["msd", "ssd"]'``. A bare word (``msd``) is
    accepted too, as the console lets users type it. Bad JSON fails the way SageMaker's k-means does."""

    def parse(raw: str) -> list[str]:
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            if raw in choices:
                return [raw]
            raise JobFailure(
                "Customer Error: Hyperparameter must be valid json, "
                f"but found {name}: {raw} (caused by ValueError)"
            ) from None
        values = value if isinstance(value, list) else [value]
        if not values or any(item not in choices for item in values):
            raise InvalidValue("a JSON list of one or more of: " + ", ".join(f'"{c}"' for c in choices))
        return list(dict.fromkeys(values))

    return parse


def _bounds_text(
    kind: str,
    minimum: float | None,
    maximum: float | None,
    exclusive_minimum: bool = False,
    exclusive_maximum: bool = False,
) -> str:
    if minimum is not None and maximum is not None:
        low = "(" if exclusive_minimum else "["
        high = ")" if exclusive_maximum else "]"
        return f"{kind} in {low}{minimum}, {maximum}{high}"
    if minimum is not None:
        return f"{kind} greater than {'' if exclusive_minimum else 'or equal to '}{minimum}"
    if maximum is not None:
        return f"{kind} less than {'' if exclusive_maximum else 'or equal to '}{maximum}"
    return kind


def as_mapping(parsed: Mapping[str, Any]) -> str:
    """The parsed hyperparameters as the one-line JSON the containers log at start-up."""
    return json.dumps(dict(parsed), sort_keys=True, default=str)
