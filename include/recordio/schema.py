"""The ``aialgs.data.Record`` protobuf schema of SageMaker's built-in algorithms, built at import time.

The schema is the SDK's ``record.proto`` (proto2, package ``aialgs.data``) expressed as a
``FileDescriptorProto`` so no ``protoc`` step or generated module is needed. Messages parsed with these
classes read exactly like the SDK's: ``record.features["values"].float32_tensor.values``.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_FIELD = descriptor_pb2.FieldDescriptorProto
_PACKED = descriptor_pb2.FieldOptions(packed=True)


def _field(name: str, number: int, field_type: int, *, label: int = _FIELD.LABEL_OPTIONAL, **extra):
    return _FIELD(name=name, number=number, type=field_type, label=label, json_name=_camel(name), **extra)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _tensor(name: str, value_type: int) -> descriptor_pb2.DescriptorProto:
    repeated = _FIELD.LABEL_REPEATED
    return descriptor_pb2.DescriptorProto(
        name=name,
        field=[
            _field("values", 1, value_type, label=repeated, options=_PACKED),
            _field("keys", 2, _FIELD.TYPE_UINT64, label=repeated, options=_PACKED),
            _field("shape", 3, _FIELD.TYPE_UINT64, label=repeated, options=_PACKED),
        ],
    )


def _map_entry(name: str) -> descriptor_pb2.DescriptorProto:
    return descriptor_pb2.DescriptorProto(
        name=name,
        field=[
            _field("key", 1, _FIELD.TYPE_STRING),
            _field("value", 2, _FIELD.TYPE_MESSAGE, type_name=".aialgs.data.Value"),
        ],
        options=descriptor_pb2.MessageOptions(map_entry=True),
    )


def _record_file() -> descriptor_pb2.FileDescriptorProto:
    message = _FIELD.TYPE_MESSAGE
    repeated = _FIELD.LABEL_REPEATED
    value = descriptor_pb2.DescriptorProto(
        name="Value",
        field=[
            _field("float32_tensor", 2, message, type_name=".aialgs.data.Float32Tensor", oneof_index=0),
            _field("float64_tensor", 3, message, type_name=".aialgs.data.Float64Tensor", oneof_index=0),
            _field("int32_tensor", 7, message, type_name=".aialgs.data.Int32Tensor", oneof_index=0),
            _field("bytes", 9, message, type_name=".aialgs.data.Bytes", oneof_index=0),
        ],
        oneof_decl=[descriptor_pb2.OneofDescriptorProto(name="value")],
    )
    record = descriptor_pb2.DescriptorProto(
        name="Record",
        field=[
            _field("features", 1, message, label=repeated, type_name=".aialgs.data.Record.FeaturesEntry"),
            _field("label", 2, message, label=repeated, type_name=".aialgs.data.Record.LabelEntry"),
            _field("uid", 3, _FIELD.TYPE_STRING),
            _field("metadata", 4, _FIELD.TYPE_STRING),
            _field("configuration", 5, _FIELD.TYPE_STRING),
        ],
        nested_type=[_map_entry("FeaturesEntry"), _map_entry("LabelEntry")],
    )
    bytes_message = descriptor_pb2.DescriptorProto(
        name="Bytes",
        field=[
            _field("value", 1, _FIELD.TYPE_BYTES, label=repeated),
            _field("content_type", 2, _FIELD.TYPE_STRING),
        ],
    )
    # Not part of the SDK schema: a container that lets the reader parse a whole file's records in one
    # C-level call (each record re-framed as field 1 of this message) instead of one call per record.
    record_batch = descriptor_pb2.DescriptorProto(
        name="RecordBatch",
        field=[_field("records", 1, message, label=repeated, type_name=".aialgs.data.Record")],
    )
    return descriptor_pb2.FileDescriptorProto(
        name="aialgs/data/record.proto",
        package="aialgs.data",
        syntax="proto2",
        message_type=[
            _tensor("Float32Tensor", _FIELD.TYPE_FLOAT),
            _tensor("Float64Tensor", _FIELD.TYPE_DOUBLE),
            _tensor("Int32Tensor", _FIELD.TYPE_INT32),
            bytes_message,
            value,
            record,
            record_batch,
        ],
        options=descriptor_pb2.FileOptions(
            java_package="com.amazonaws.aialgorithms.proto", java_outer_classname="RecordProtos"
        ),
    )


# A private pool, so the schema never clashes with the SDK's generated module if both are imported.
_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_record_file())


def _message_class(name: str):
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"aialgs.data.{name}"))


Float32Tensor = _message_class("Float32Tensor")
Float64Tensor = _message_class("Float64Tensor")
Int32Tensor = _message_class("Int32Tensor")
Bytes = _message_class("Bytes")
Value = _message_class("Value")
Record = _message_class("Record")
RecordBatch = _message_class("RecordBatch")
