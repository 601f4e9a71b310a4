"""Map descriptor field types to IR type references."""

from __future__ import annotations

from google.protobuf.descriptor_pb2 import DescriptorProto, FieldDescriptorProto

from concord_codegen.ir.model import WKT_PREFIX, MapType, TypeKind, TypeRef

FDP = FieldDescriptorProto


def type_ref(field: FieldDescriptorProto) -> TypeRef:
    """The IR type of a (non-map) field."""
    if field.type == FDP.TYPE_ENUM:
        return TypeRef(TypeKind.ENUM, field.type_name.lstrip("."))
    if field.type in (FDP.TYPE_MESSAGE, FDP.TYPE_GROUP):
        name = field.type_name.lstrip(".")
        kind = TypeKind.WELL_KNOWN if name.startswith(WKT_PREFIX) else TypeKind.MESSAGE
        return TypeRef(kind, name)
    return TypeRef(TypeKind.SCALAR, FDP.Type.Name(field.type).removeprefix("TYPE_").lower())


def map_entry(field: FieldDescriptorProto, entries: dict[str, DescriptorProto]) -> MapType | None:
    """The key/value types when `field` is a map, else None."""
    if field.label != FDP.LABEL_REPEATED or field.type != FDP.TYPE_MESSAGE:
        return None
    entry = entries.get(field.type_name.lstrip("."))
    if entry is None:
        return None
    key, value = entry.field[0], entry.field[1]
    return MapType(type_ref(key), type_ref(value))
