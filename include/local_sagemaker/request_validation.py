"""SageMaker requests checked against botocore's service model, in one place, the way AWS checks them.

The SageMaker API reference (https://docs.aws.amazon.com/sagemaker/latest/APIReference/) documents for
every request member its type, length limits, pattern, valid values, number of items, numeric range and
whether it is required. botocore ships the same facts as the service model
(``botocore/data/sagemaker/2017-07-24/service-2.json``); :func:`validate_request` walks that model from
the operation's input shape, so the engine enforces what the pinned botocore knows before any handler
runs. AWS answers in two steps, and so does the engine:

1. Decoding (awsJson 1.1). A value whose JSON type does not fit its shape (a string where a structure or
   an integer belongs, a fraction or an out-of-range number for an integer, ``null`` inside a list or a
   map, a timestamp that is not epoch seconds, a blob that is not base64) is a 400
   ``SerializationException`` for the first such value, before any constraint is looked at. Smithy's
   protocol tests require that code for each of these cases
   (``smithy-aws-protocol-tests/model/restJson1/malformedRequests/``). The texts are Coral's, as real
   services send them: ``STRING_VALUE can not be converted to an Integer``, ``NUMBER_VALUE can not be
   converted to a String`` (AWS Lambda) and ``Start of structure or map found where not expected``
   (Kinesis, DynamoDB); ``Start of list found where not expected`` and the other ``X can not be
   converted to a Y`` pairings follow the same scheme. AWS names no member there; the engine appends
   ``: Value 'x' at 'member.path'`` so the caller can find the value.
2. Validation. Every broken constraint goes into one 400 ``ValidationException``, counted and joined by
   :func:`~include.local_sagemaker.errors.validation_errors`, in the phrasing of real SageMaker errors:
   ``Value null at 'roleArn' failed to satisfy constraint: Member must not be null``; ``Member must have
   length less than or equal to 63`` (strings, lists, maps; a string's length counts UTF-16 code units,
   as Java does); ``Member must satisfy regular expression pattern: ...`` (the whole value must match);
   ``Member must satisfy enum value set: [Pipe, File]``; ``Member must have value greater than or
   equal to 1``. A list of strings or numbers is judged as a whole: ``Value '[a, b]' at 'tagKeys'
   failed to satisfy constraint: Member must satisfy constraint: [<every constraint of the element>]``,
   and a map likewise with ``Map key must satisfy constraint: [...]`` and ``Map value must satisfy
   constraint: [...]`` (the form SageMaker's own ``hyperParameters`` errors take). Paths name members
   in lowerCamelCase and list elements 1-based: ``inputDataConfig.1.member.channelName``. Values are
   printed as Java prints them (``[a, b]``, ``{k=v}``, ``true``), blobs not at all.

Where the engine departs from AWS, on purpose:

- An unknown member is a ``ValidationException`` in botocore's client-side words (``Unknown parameter
  in input: "X", must be one of: ...``). AWS documents nothing for this case; every SDK refuses such a
  request before sending it, so only a hand-built request (usually with a typo) gets here, and
  dropping the member silently would hide the typo.
- Printed values are cut at 1,024 characters; AWS echoes them whole, megabytes included.
- Messages quote the model's pattern. AWS's own messages sometimes show it with ``^``/``$`` anchors
  the model no longer carries; either way the whole value must match.
- Patterns are Java regular expressions. :func:`python_pattern` translates what Python's :mod:`re`
  spells differently: ``\\p{L}``-style and POSIX classes, ranges written as UTF-16 surrogate pairs,
  quantified anchors (``${1,128}``), ``.`` (which excludes every Java line terminator) and
  ASCII-only ``\\d``/``\\w``/``\\s``. A pattern it still cannot translate is not enforced (and
  logged) rather than refusing valid requests; no pattern of the pinned model is in that case, and a
  unit test keeps it so.
- ``document`` shapes (free JSON) are taken as they are, and a tagged union is checked as a structure
  (botocore checks its "exactly one member" rule client side).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import math
import re
import sys
import unicodedata
from collections.abc import Callable, Iterator

import botocore.session
from botocore.model import ServiceModel, Shape

from include.local_sagemaker.errors import (
    ServiceError,
    member_path,
    validation,
    validation_errors,
    violation,
)

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_REQUEST_BYTES",
    "parse_json_request",
    "python_pattern",
    "service_model",
    "validate_request",
]

_log = logging.getLogger(__name__)

# AWS documents no size limit for SageMaker API requests. The model's own limits keep any valid
# request to a few MB (CreateModel: 15 containers with 100 variables of 1,024 + 1,024 characters is
# about 3 MB), so 16 MiB refuses only what no valid request needs, while a request with one oversized
# member (a 10 MiB environment value, say) still reaches the model and is answered with that member's
# name.
MAX_REQUEST_BYTES = 16 * 1024 * 1024
# Far deeper than the model nests (about 10 levels); bounds the parser's recursion.
MAX_JSON_DEPTH = 64
_SHOWN_CHARACTERS = 1024

_SCALARS = {"string", "integer", "long", "float", "double", "boolean", "timestamp", "blob"}
_INTEGER_LIMITS = {"integer": 2**31, "long": 2**63}
_TYPE_NAMES = {
    "string": "a String",
    "integer": "an Integer",
    "long": "a Long",
    "float": "a Float",
    "double": "a Double",
    "boolean": "a Boolean",
    "timestamp": "a Timestamp",
    "blob": "a Blob",
    "structure": "a Structure",
    "list": "a List",
    "map": "a Map",
}


@functools.cache
def service_model() -> ServiceModel:
    """botocore's SageMaker model (loaded once: it is several MB of JSON)."""
    return botocore.session.get_session().get_service_model("sagemaker")


def validate_request(operation: str, request: object) -> None:
    """Raise AWS's error for a request the model of ``operation`` refuses; return if it accepts it.

    The first value of the wrong JSON type is a ``SerializationException``; otherwise unknown members,
    then every broken constraint, are one ``ValidationException``.
    """
    check = _Check()
    check.structure(service_model().operation_model(operation).input_shape, request, "")
    if check.unknown:
        raise validation("; ".join(check.unknown))
    if check.violations:
        raise validation_errors(check.violations)


class _Check:
    """One walk of a request along its shapes, collecting what AWS would report."""

    def __init__(self):
        self.unknown: list[str] = []
        self.violations: list[str] = []

    def value(self, shape: Shape, value: object, path: str) -> None:
        if value is None:  # inside a list or a map: SageMaker's lists and maps hold no nulls
            raise _mismatch(shape.type_name, value, path)
        if shape.type_name == "structure":
            self.structure(shape, value, path)
        elif shape.type_name == "list":
            self.list(shape, value, path)
        elif shape.type_name == "map":
            self.map(shape, value, path)
        else:
            _decode(shape, value, path)
            broken = _broken(shape, value)
            if broken:
                hidden = shape.type_name == "blob"
                shown = None if hidden else _show(value)
                self.violations += [violation(path, rule, shown, hidden) for rule in broken]

    def structure(self, shape: Shape | None, value: object, path: str) -> None:
        if shape is not None and shape.metadata.get("document"):
            return
        if not isinstance(value, dict):
            raise _mismatch("structure", value, path)
        members = shape.members if shape is not None else {}
        for name in value:
            if name not in members:
                self.unknown.append(
                    f'Unknown parameter in {path or "input"}: "{name}", must be one of: {", ".join(members)}'
                )
        for name, member in members.items():
            child, child_path = value.get(name), member_path(path, name)
            # As in AWS's decoders, an explicit null is an absent member.
            if child is not None:
                self.value(member, child, child_path)
            elif name in shape.required_members:
                self.violations.append(violation(child_path, "Member must not be null", None))

    def list(self, shape: Shape, value: object, path: str) -> None:
        if not isinstance(value, list):
            raise _mismatch("list", value, path)
        self._size(shape, value, path)
        element = shape.member
        if element.type_name not in _SCALARS:
            for index, item in enumerate(value, 1):
                self.value(element, item, f"{path}.{index}.member")
            return
        for index, item in enumerate(value, 1):
            _decode(element, item, f"{path}.{index}.member")
        if any(_broken(element, item) for item in value):
            self.violations.append(
                violation(path, f"Member must satisfy {_all_rules(element)}", _show(value))
            )

    def map(self, shape: Shape, value: object, path: str) -> None:
        if not isinstance(value, dict):
            raise _mismatch("map", value, path)
        self._size(shape, value, path)
        if any(_broken(shape.key, key) for key in value):
            self.violations.append(
                violation(path, f"Map key must satisfy {_all_rules(shape.key)}", _show(value))
            )
        element = shape.value
        if element.type_name not in _SCALARS:
            # No map of SageMaker's requests holds anything but strings; AWS's path for such an entry
            # is not on record, so the key stands in for it.
            for key, item in value.items():
                self.value(element, item, f"{path}.{key}")
            return
        for key, item in value.items():
            _decode(element, item, f"{path}.{key}")
        if any(_broken(element, item) for item in value.values()):
            self.violations.append(
                violation(path, f"Map value must satisfy {_all_rules(element)}", _show(value))
            )

    def _size(self, shape: Shape, value: list | dict, path: str) -> None:
        self.violations += [violation(path, rule, _show(value)) for rule in _broken(shape, value)]


# -- decoding ---------------------------------------------------------------------------------------
def _decode(shape: Shape, value: object, path: str) -> None:
    """Raise AWS's SerializationException unless ``value`` has the JSON type of the scalar ``shape``."""
    kind = shape.type_name
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        fits = isinstance(value, str)
    elif kind in _INTEGER_LIMITS:
        limit = _INTEGER_LIMITS[kind]
        fits = isinstance(value, int) and not isinstance(value, bool) and -limit <= value < limit
    elif kind in ("float", "double", "timestamp"):
        fits = number and abs(value) <= sys.float_info.max and math.isfinite(value)
    elif kind == "boolean":
        fits = isinstance(value, bool)
    elif kind == "blob":
        fits = isinstance(value, str) and _blob_bytes(value) is not None
    else:
        raise TypeError(f"no decoder for shape {shape.name} of type {kind}")
    if not fits:
        raise _mismatch(kind, value, path)


def _mismatch(kind: str, value: object, path: str) -> ServiceError:
    if isinstance(value, dict):
        problem = "Start of structure or map found where not expected"
    elif isinstance(value, list):
        problem = "Start of list found where not expected"
    else:
        problem = f"{_token(value)} can not be converted to {_TYPE_NAMES[kind]}"
    where = f"at '{path}'" if path else "as the request body"
    return ServiceError("SerializationException", f"{problem}: Value '{_show(value)}' {where}")


def _token(value: object) -> str:
    if value is None:
        return "NULL_VALUE"
    if isinstance(value, bool):
        return "BOOLEAN_VALUE"
    return "STRING_VALUE" if isinstance(value, str) else "NUMBER_VALUE"


def _blob_bytes(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


# -- constraints ------------------------------------------------------------------------------------
def _broken(shape: Shape, value: object) -> list[str]:
    return [text for text, holds in _rules(shape) if not holds(value)]


def _all_rules(shape: Shape) -> str:
    """``constraint: [<every rule of shape>]``, AWS's summary of an element shape."""
    return f"constraint: [{', '.join(text for text, _ in _rules(shape))}]"


_RULES: dict[str, list[tuple[str, Callable[[object], bool]]]] = {}


def _rules(shape: Shape) -> list[tuple[str, Callable[[object], bool]]]:
    """The shape's constraints, as (AWS's text, test), in the order AWS lists them."""
    if shape.name in _RULES:
        return _RULES[shape.name]
    meta, kind = shape.metadata, shape.type_name
    rules: list[tuple[str, Callable[[object], bool]]] = []
    if kind in ("string", "blob", "list", "map"):
        size = {"string": _utf16_length, "blob": lambda v: len(_blob_bytes(v) or b"")}.get(kind, len)
        if "max" in meta:
            rules.append(
                (f"Member must have length less than or equal to {meta['max']}", _at_most(size, meta["max"]))
            )
        if "min" in meta:
            rules.append(
                (
                    f"Member must have length greater than or equal to {meta['min']}",
                    _at_least(size, meta["min"]),
                )
            )
    elif kind in ("integer", "long", "float", "double"):
        if "max" in meta:
            rules.append(
                (f"Member must have value less than or equal to {meta['max']}", _at_most(float, meta["max"]))
            )
        if "min" in meta:
            rules.append(
                (
                    f"Member must have value greater than or equal to {meta['min']}",
                    _at_least(float, meta["min"]),
                )
            )
    if kind == "string" and "pattern" in meta:
        rules.append(
            (f"Member must satisfy regular expression pattern: {meta['pattern']}", _matches(meta["pattern"]))
        )
    if kind == "string" and shape.enum:
        allowed = frozenset(shape.enum)
        rules.append((f"Member must satisfy enum value set: [{', '.join(shape.enum)}]", allowed.__contains__))
    _RULES[shape.name] = rules
    return rules


def _at_most(size: Callable, limit) -> Callable[[object], bool]:
    return lambda value: size(value) <= limit


def _at_least(size: Callable, limit) -> Callable[[object], bool]:
    return lambda value: size(value) >= limit


def _matches(pattern: str) -> Callable[[object], bool]:
    return lambda value: (compiled := _compiled(pattern)) is None or compiled.fullmatch(value) is not None


def _utf16_length(value: str) -> int:
    """Java's ``String.length()``: characters beyond the BMP count twice."""
    return len(value) if value.isascii() else len(value.encode("utf-16-le")) // 2


# -- printing values as Java does -------------------------------------------------------------------
def _show(value: object) -> str:
    pieces, size = [], 0
    for piece in _java_text(value):
        pieces.append(piece)
        size += len(piece)
        if size > _SHOWN_CHARACTERS:
            return "".join(pieces)[:_SHOWN_CHARACTERS] + "...(cut)"
    return "".join(pieces)


def _java_text(value: object) -> Iterator[str]:
    if value is None:
        yield "null"
    elif isinstance(value, bool):
        yield "true" if value else "false"
    elif isinstance(value, list):
        yield "["
        for index, item in enumerate(value):
            yield ", " if index else ""
            yield from _java_text(item)
        yield "]"
    elif isinstance(value, dict):
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            yield f"{', ' if index else ''}{key}="
            yield from _java_text(item)
        yield "}"
    else:
        yield str(value)


# -- Java patterns in Python ------------------------------------------------------------------------
class _Untranslatable(ValueError):
    pass


# Java's POSIX classes match US-ASCII only unless UNICODE_CHARACTER_CLASS is set (it is not).
_POSIX_CLASSES = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": r"\x00-\x7F",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": r"\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E",
    "Space": r" \t\n\x0B\f\r",
    "XDigit": "0-9a-fA-F",
}
# Java's ``.`` stops at every line terminator, Python's only at ``\n``.
_JAVA_DOT = r"[^\n\r\x85\u2028\u2029]"
_SURROGATE_PAIR = re.compile(r"\\u(D[89AB][0-9A-F]{2})\\u(D[C-F][0-9A-F]{2})", re.IGNORECASE)
_QUANTIFIER = re.compile(r"\{(\d+)(?:,\d*)?\}")


def python_pattern(java: str) -> str:
    """The Python spelling of the Java regular expression ``java`` (compile it with ``re.ASCII``).

    Raises ``ValueError`` for a construct without a Python spelling here (``\\Q``, class intersections,
    nested classes, negated Unicode classes inside a class).
    """
    java = _SURROGATE_PAIR.sub(
        lambda m: f"\\U{0x10000 + ((int(m[1], 16) - 0xD800) << 10) + int(m[2], 16) - 0xDC00:08X}", java
    )
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(java):
        char = java[i]
        if char == "\\":
            escape = java[i + 1 : i + 2]
            if escape in ("p", "P"):
                name, i = _class_name(java, i + 2)
                body = _class_body(name)
                if escape == "P" and in_class:
                    raise _Untranslatable(f"negated class \\P{{{name}}} inside a class")
                out.append(body if in_class else f"[{'^' if escape == 'P' else ''}{body}]")
                continue
            if escape in ("Q", "E", "h", "H", "R", "X", "G", "Z", "e", "c"):
                raise _Untranslatable(f"Java-only escape \\{escape}")
            out.append(java[i : i + 2])
            i += 2
            continue
        if in_class:
            if char == "[" or java.startswith("&&", i):
                raise _Untranslatable("nested class or class intersection")
            in_class = char != "]"
            out.append(char)
            i += 1
            continue
        if char == "[":
            in_class = True
            # A leading "^" or "]" belongs to the class's syntax, not to what follows.
            prefix = "[^" if java.startswith("[^", i) else "["
            out.append(prefix)
            i += len(prefix)
            continue
        if char in "^$" and (quantifier := _QUANTIFIER.match(java, i + 1)):
            # Java lets an anchor carry a quantifier; it means the anchor (optional if it may be absent).
            out.append(char if int(quantifier[1]) else f"(?:{char})?")
            i = quantifier.end()
            continue
        out.append(_JAVA_DOT if char == "." else char)
        i += 1
    return "".join(out)


def _class_name(java: str, start: int) -> tuple[str, int]:
    if java[start : start + 1] == "{":
        end = java.find("}", start)
        if end < 0:
            raise _Untranslatable("unterminated \\p{")
        return java[start + 1 : end], end + 1
    return java[start : start + 1], start + 1


def _class_body(name: str) -> str:
    if name in _POSIX_CLASSES:
        return _POSIX_CLASSES[name]
    table = _unicode_categories()
    spans = sorted(
        span
        for category, category_spans in table.items()
        if (category.startswith(name) if len(name) == 1 else category == name)
        for span in category_spans
    )
    if not spans:
        raise _Untranslatable(f"unknown character class \\p{{{name}}}")
    merged = [list(spans[0])]
    for low, high in spans[1:]:
        if low == merged[-1][1] + 1:
            merged[-1][1] = high
        else:
            merged.append([low, high])
    return "".join(f"\\U{low:08X}" + (f"-\\U{high:08X}" if high > low else "") for low, high in merged)


@functools.cache
def _unicode_categories() -> dict[str, list[tuple[int, int]]]:
    """Code point ranges of each Unicode general category (``Lu``, ``Nd``...); built once, ~0.5 s."""
    table: dict[str, list[tuple[int, int]]] = {}
    start, current = 0, unicodedata.category("\0")
    for code in range(1, sys.maxunicode + 2):
        category = unicodedata.category(chr(code)) if code <= sys.maxunicode else ""
        if category != current:
            table.setdefault(current, []).append((start, code - 1))
            start, current = code, category
    return table


@functools.cache
def _compiled(java: str) -> re.Pattern | None:
    try:
        return re.compile(python_pattern(java), re.ASCII)
    except (ValueError, re.error) as error:
        _log.warning("Not enforcing model pattern %r: it has no Python translation (%s)", java, error)
        return None


# -- request bodies ---------------------------------------------------------------------------------
_STRUCTURAL = re.compile(rb'["\[\]{}]')
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def parse_json_request(raw: bytes) -> dict:
    """The JSON object of an awsJson request body; a 4xx ``ServiceError`` naming what is wrong with it.

    An empty body is ``{}``. A body over :data:`MAX_REQUEST_BYTES` is refused unread with 413
    ``RequestTooLargeException`` (the code AWS Lambda answers an oversized request with); one nested
    deeper than :data:`MAX_JSON_DEPTH`, one that is not JSON and one that is not an object are 400
    ``SerializationException``.
    """
    if len(raw) > MAX_REQUEST_BYTES:
        raise ServiceError(
            "RequestTooLargeException",
            f"The request body is over {MAX_REQUEST_BYTES} bytes (16 MiB), the most the local engine "
            "accepts in a SageMaker request",
            status=413,
        )
    if _nesting_depth(raw) > MAX_JSON_DEPTH:
        raise ServiceError(
            "SerializationException", f"The request body nests JSON deeper than {MAX_JSON_DEPTH} levels"
        )
    try:
        document = json.loads(raw or b"{}", parse_constant=_refuse_constant)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, over-long integers
        raise ServiceError("SerializationException", f"The request body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise ServiceError(
            "SerializationException",
            f"The request body must be a JSON object, not {type(document).__name__} {_show(document)!r}",
        )
    return document


def _nesting_depth(raw: bytes) -> int:
    """The deepest ``[``/``{`` nesting of ``raw``, found without recursion; brackets in strings do not
    count. An unterminated string ends the scan (the JSON parser then reports it); the cost is linear."""
    depth = deepest = position = 0
    while (found := _STRUCTURAL.search(raw, position)) is not None:
        char = raw[found.start()]
        if char == ord('"'):
            rest = _STRING_REST.match(raw, found.end())
            if rest is None:
                break
            position = rest.end()
            continue
        if char in b"[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                break
        else:
            depth -= 1
        position = found.end()
    return deepest


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")
