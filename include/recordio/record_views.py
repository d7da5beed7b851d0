"""Read-only ``Record`` look-alikes backed by rows of decoded numpy arrays: ``read_records``' fast path.

Building a protobuf message per record is what makes reading records slow, not parsing. When every record of
a file is a dense ``features["values"]`` tensor of one type and width (plus an optional scalar label), the
reader decodes the whole file into two arrays at once and hands out one :class:`RecordView` per row instead.
A view reads like the ``Record`` protobuf parsing would have produced::

    record.features["values"].float32_tensor.values[0]
    record.label["values"].WhichOneof("value")

The maps, values and tensors below a record are small objects made when they are reached (views of the same
row, never a re-parse); everything is read-only. ``to_protobuf()`` (or ``copy``/``pickle``) gives the real
message, and views compare equal to the messages they stand for.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterator, Sequence
from types import MappingProxyType

import numpy as np

from include.recordio import schema
from include.recordio.tensor_types import FLOAT32, FLOAT64, INT32, TensorKind
from include.recordio.varint import varint_int

_VALUES = "values"
_PACKED_VALUES_TAG = b"\x0a"  # Tensor.values, field 1, packed
_TENSOR_MESSAGES = {
    FLOAT32.field: schema.Float32Tensor,
    FLOAT64.field: schema.Float64Tensor,
    INT32.field: schema.Int32Tensor,
}
_NO_ENTRIES = MappingProxyType({})
_new = object.__new__  # views below a record are made in hot loops: skip the __init__ call


# Labels are usually a few classes: up to this many distinct labels, the records share one read-only label
# map per label value (built here, once), instead of each record building its label's views when read.
MAX_SHARED_LABELS = 1024


def dense_record_views(
    features: np.ndarray,
    feature_kind: TensorKind,
    labels: np.ndarray | None,
    label_kind: TensorKind | None,
) -> list[RecordView]:
    """A :class:`RecordView` per row of ``features`` (and scalar of ``labels``); the arrays turn read-only."""
    features.flags.writeable = False
    if labels is None:
        return list(map(_record_class(feature_kind, None, shared_labels=False), features))
    labels.flags.writeable = False
    label_rows = labels.reshape(-1, 1)  # a label is a one-value tensor
    # Distinct bit patterns, not values: NaN payloads and -0.0 must reach the records that hold them.
    bits = labels.view(f"u{labels.dtype.itemsize}")
    distinct, first_row, which = np.unique(bits, return_index=True, return_inverse=True)
    if len(distinct) > MAX_SHARED_LABELS:
        return list(map(_record_class(feature_kind, label_kind, shared_labels=False), features, label_rows))
    maps = [
        MappingProxyType({_VALUES: _shared_value(label_kind, label_rows[row])}) for row in first_row.tolist()
    ]
    record_class = _record_class(feature_kind, label_kind, shared_labels=True)
    return list(map(record_class, features, [maps[index] for index in which.tolist()]))


class RepeatedScalarsView(Sequence):
    """The ``values`` (or ``keys``, ``shape``) of a tensor: a read-only sequence like protobuf's container.

    Items are Python ``float``/``int``; a slice is a ``list``; it equals a ``list`` (or protobuf container) of
    the same items, with Python's list rules (so a NaN never compares equal, as with protobuf).
    """

    __slots__ = ("_row",)
    __hash__ = None  # like protobuf's containers: equal by content, so unhashable

    def __init__(self, row: np.ndarray) -> None:
        self._row = row

    def __len__(self) -> int:
        return len(self._row)

    def __getitem__(self, index):
        try:
            return self._row.item(index)
        except IndexError:
            raise IndexError("list index out of range") from None
        except TypeError:  # a slice (a list, as protobuf gives), or an index a list takes or refuses
            return self._row.tolist()[index]

    def __iter__(self) -> Iterator:
        return iter(self._row.tolist())

    def __reversed__(self) -> Iterator:
        return reversed(self._row.tolist())

    def __contains__(self, item) -> bool:
        return item in self._row.tolist()

    def index(self, item, *bounds) -> int:
        return self._row.tolist().index(item, *bounds)

    def count(self, item) -> int:
        return self._row.tolist().count(item)

    def __eq__(self, other) -> bool:
        if isinstance(other, RepeatedScalarsView | _PROTOBUF_REPEATED):
            other = list(other)
        return self._row.tolist() == other

    def __repr__(self) -> str:
        return repr(self._row.tolist())

    def __reduce__(self):
        return list, (self._row.tolist(),)  # a copy is independent of the file, like protobuf's


_PROTOBUF_REPEATED = type(schema.Float32Tensor().values)


class _MessageView:
    """What every view shares: it stands for one protobuf message, made on demand by ``to_protobuf``."""

    __slots__ = ()
    __hash__ = None  # protobuf messages are unhashable

    def to_protobuf(self):
        """The protobuf message this view reads like (a new, independent, mutable message)."""
        raise NotImplementedError

    def SerializeToString(self, **options) -> bytes:
        """The message's wire bytes, as protobuf's ``SerializeToString``."""
        return self.to_protobuf().SerializeToString(**options)

    def __eq__(self, other) -> bool:
        if isinstance(other, _MessageView):
            other = other.to_protobuf()
        return self.to_protobuf().__eq__(other)

    def __repr__(self) -> str:
        return repr(self.to_protobuf())

    def __reduce__(self):
        message = self.to_protobuf()
        return type(message).FromString, (message.SerializeToString(),)


# Views are made per record in hot loops, so each tensor type has its own view classes: the type is a class
# attribute, an instance holds only its row and is made by ``_new`` and one store, without an __init__ call.


class TensorView(_MessageView):
    """A ``Float32Tensor``, ``Float64Tensor`` or ``Int32Tensor``: ``values`` is one row; no keys, no shape."""

    __slots__ = ("_row",)
    _kind: TensorKind  # set by the subclass of each tensor type

    def __init__(self, row: np.ndarray) -> None:
        self._row = row

    @property
    def values(self) -> RepeatedScalarsView:
        values = _new(RepeatedScalarsView)
        values._row = self._row
        return values

    keys = shape = RepeatedScalarsView(np.empty(0, dtype=np.uint64))  # dense rows carry neither

    def HasField(self, name: str) -> bool:
        """As protobuf: a tensor has repeated fields only, which have no presence (``ValueError``)."""
        return _TENSOR_MESSAGES[self._kind.field]().HasField(name)

    def to_protobuf(self):
        message = _TENSOR_MESSAGES[self._kind.field]()
        if not len(self._row):
            return message
        if self._kind.fixed_width:
            # Merged from the raw bytes so every float bit pattern (signalling NaNs too) is kept exactly.
            raw = self._row.tobytes()
            message.MergeFromString(_PACKED_VALUES_TAG + varint_int(len(raw)) + raw)
        else:
            message.values.extend(self._row.tolist())
        return message


def _tensor_view_class(kind: TensorKind) -> type[TensorView]:
    descriptor = _TENSOR_MESSAGES[kind.field].DESCRIPTOR
    namespace = {"__slots__": (), "_kind": kind, "DESCRIPTOR": descriptor}
    return type(f"{descriptor.name}View", (TensorView,), namespace)


_TENSOR_VIEWS = {kind.field: _tensor_view_class(kind) for kind in (FLOAT32, FLOAT64, INT32)}


def _unset_tensor(kind: TensorKind) -> TensorView:
    """The empty tensor an unset oneof member reads as."""
    empty = np.empty(0, dtype=kind.wire_dtype)
    empty.flags.writeable = False
    return _TENSOR_VIEWS[kind.field](empty)


class _BytesView(_MessageView):
    """The unset ``bytes`` member of a numeric ``Value``: an empty ``Bytes`` message."""

    __slots__ = ()
    value = RepeatedScalarsView(np.empty(0, dtype=object))
    content_type = ""
    DESCRIPTOR = schema.Bytes.DESCRIPTOR

    def HasField(self, name: str) -> bool:
        return schema.Bytes().HasField(name)

    def to_protobuf(self):
        return schema.Bytes()


class ValueView(_MessageView):
    """A ``Value`` whose ``value`` oneof holds one numeric tensor."""

    __slots__ = ("_row",)
    DESCRIPTOR = schema.Value.DESCRIPTOR
    _kind: TensorKind  # set by the subclass of each tensor type, which also overrides its own member
    float32_tensor = _unset_tensor(FLOAT32)
    float64_tensor = _unset_tensor(FLOAT64)
    int32_tensor = _unset_tensor(INT32)
    bytes = _BytesView()

    def __init__(self, row: np.ndarray) -> None:
        self._row = row

    def WhichOneof(self, oneof: str) -> str | None:
        """The set member of the ``value`` oneof (protobuf's ``ValueError`` for any other name)."""
        if oneof == "value":
            return self._kind.field
        return schema.Value().WhichOneof(oneof)

    def HasField(self, name: str) -> bool:
        """True for the set tensor and for the oneof itself; protobuf's answer or error for anything else."""
        if name in ("value", self._kind.field):
            return True
        return schema.Value().HasField(name)

    def to_protobuf(self):
        message = schema.Value()
        tensor = getattr(self, self._kind.field)
        getattr(message, self._kind.field).CopyFrom(tensor.to_protobuf())
        return message


def _value_view_class(kind: TensorKind) -> type[ValueView]:
    tensor_class = _TENSOR_VIEWS[kind.field]

    def member(self: ValueView) -> TensorView:
        tensor = _new(tensor_class)
        tensor._row = self._row
        return tensor

    namespace = {"__slots__": (), "_kind": kind, kind.field: property(member, doc=f"The {kind.field}.")}
    return type(f"{kind.name}ValueView", (ValueView,), namespace)


_VALUE_VIEWS = {kind.field: _value_view_class(kind) for kind in (FLOAT32, FLOAT64, INT32)}


def _prebuilt_class(view_class: type, member: str, slot: str) -> type:
    """A variant of ``view_class`` whose ``member`` is an object built once and kept in ``slot``."""
    namespace = {"__slots__": (slot,), member: property(operator.attrgetter(slot), doc=f"The {member}.")}
    return type(f"Shared{view_class.__name__}", (view_class,), namespace)


# A label value shared by many records is read once per record: its views are built ahead, once.
_SHARED_TENSOR_VIEWS = {
    field: _prebuilt_class(view, "values", "_values") for field, view in _TENSOR_VIEWS.items()
}
_SHARED_VALUE_VIEWS = {field: _prebuilt_class(view, field, "_tensor") for field, view in _VALUE_VIEWS.items()}


def _shared_value(kind: TensorKind, row: np.ndarray) -> ValueView:
    tensor = _SHARED_TENSOR_VIEWS[kind.field](row)
    tensor._values = RepeatedScalarsView(row)
    value = _SHARED_VALUE_VIEWS[kind.field](row)
    value._tensor = tensor
    return value


class RecordView(_MessageView):
    """A dense ``Record``: ``features["values"]`` is one row, ``label["values"]`` (if any) one scalar.

    ``features`` and ``label`` are read-only mappings (a missing key is a ``KeyError``, where protobuf would
    insert an empty ``Value``); ``uid``, ``metadata`` and ``configuration`` are unset, as the fast path
    only takes records that have none.
    """

    __slots__ = ("_features", "_label")
    DESCRIPTOR = schema.Record.DESCRIPTOR
    uid = metadata = configuration = ""
    _feature_value: type[ValueView]  # set by the subclass of each pair of tensor types
    _label_value: type[ValueView] | None

    def __init__(self, features: np.ndarray, label: np.ndarray | MappingProxyType | None = None) -> None:
        self._features, self._label = features, label

    @property
    def features(self) -> MappingProxyType:
        """The ``features`` map: ``{"values": <the row's tensor>}``."""
        value = _new(self._feature_value)
        value._row = self._features
        return MappingProxyType({_VALUES: value})

    @property
    def label(self) -> MappingProxyType:
        """The ``label`` map: ``{"values": <a one-value tensor>}``, or empty for an unlabelled record."""
        if self._label_value is None:
            return _NO_ENTRIES
        value = _new(self._label_value)
        value._row = self._label
        return MappingProxyType({_VALUES: value})

    def HasField(self, name: str) -> bool:
        """As protobuf for a record whose string fields are unset (maps have no presence: ``ValueError``)."""
        return schema.Record().HasField(name)

    def WhichOneof(self, oneof: str) -> None:
        """As protobuf: a ``Record`` has no oneof, so this raises ``ValueError``."""
        return schema.Record().WhichOneof(oneof)

    def to_protobuf(self):
        message = schema.Record()
        for entries, target in ((self.features, message.features), (self.label, message.label)):
            for key, value in entries.items():
                target[key].CopyFrom(value.to_protobuf())
        return message


@functools.cache
def _record_class(
    feature_kind: TensorKind, label_kind: TensorKind | None, *, shared_labels: bool
) -> type[RecordView]:
    labelled = "Unlabelled" if label_kind is None else f"{label_kind.name}Labelled"
    namespace = {
        "__slots__": (),
        "_feature_value": _VALUE_VIEWS[feature_kind.field],
        "_label_value": None if label_kind is None else _VALUE_VIEWS[label_kind.field],
    }
    if shared_labels:  # ``_label`` holds the label map itself
        namespace["label"] = property(operator.attrgetter("_label"), doc=RecordView.label.__doc__)
    return type(f"{feature_kind.name}{labelled}RecordView", (RecordView,), namespace)
