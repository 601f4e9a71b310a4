"""GraphQL type expressions of the contract's fields, and the custom scalars they use."""

from __future__ import annotations

from dataclasses import dataclass

from concord_codegen.ir.model import Api, Field, TypeKind, TypeRef
from concord_codegen.targets.base import TargetError
from concord_codegen.targets.graphql.names import input_type_name, output_type_name

_INT64 = "Int64"
SCALARS: dict[str, str] = {
    "string": "String",
    "bool": "Boolean",
    "double": "Float",
    "float": "Float",
    "int32": "Int",
    "sint32": "Int",
    "sfixed32": "Int",
    "uint32": _INT64,  # above GraphQL's signed 32-bit Int
    "fixed32": _INT64,
    "int64": _INT64,
    "sint64": _INT64,
    "sfixed64": _INT64,
    "uint64": _INT64,
    "fixed64": _INT64,
    "bytes": "String",  # base64, as in proto3 JSON
}
WELL_KNOWN: dict[str, str] = {
    "google.protobuf.Timestamp": "Timestamp",
    "google.protobuf.Duration": "Duration",
    "google.protobuf.Value": "JSON",
    "google.protobuf.ListValue": "JSON",
    "google.protobuf.Struct": "JSONObject",
}
MAP_SCALAR = "JSONObject"


@dataclass(frozen=True)
class Scalar:
    """A custom scalar: its name, what it holds on the wire, and the spec that defines it."""

    name: str
    description: str
    specified_by: str = ""


CUSTOM_SCALARS: tuple[Scalar, ...] = (
    Scalar(
        "Duration",
        "A duration as protobuf's JSON mapping writes it: seconds with an `s` suffix\n"
        'and up to nine decimals ("30s", "0.250s", "-1.5s").',
        "https://protobuf.dev/programming-guides/json/",
    ),
    Scalar(
        "Int64",
        "A 64-bit integer, sent as a JSON number (not a string): every value the contract\n"
        "uses (revisions, positions, fencing tokens) stays below 2^53, so JavaScript numbers\n"
        "hold it exactly.",
    ),
    Scalar(
        "JSON",
        "Any JSON value: object, array, string, number, boolean or null.",
        "https://www.rfc-editor.org/rfc/rfc8259",
    ),
    Scalar(
        "JSONObject",
        "A JSON object. Map fields use it too (a protobuf `map<string, string>` is an\n"
        "object of strings).",
        "https://www.rfc-editor.org/rfc/rfc8259",
    ),
    Scalar(
        "Timestamp",
        'An instant as an RFC 3339 string in UTC ("2026-11-23T10:00:00.123Z").',
        "https://www.rfc-editor.org/rfc/rfc3339",
    ),
)


class TypeMapper:
    """Maps IR field types to GraphQL type expressions, on the input or the output side."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def named(self, ref: TypeRef, *, input_side: bool) -> str:
        """The named GraphQL type of one value of `ref`."""
        if ref.kind is TypeKind.SCALAR:
            return _lookup(SCALARS, ref.name, "scalar")
        if ref.kind is TypeKind.WELL_KNOWN:
            return _lookup(WELL_KNOWN, ref.name, "well-known type")
        if ref.kind is TypeKind.ENUM:
            return self.api.schema_name(ref.name)
        if input_side:
            return input_type_name(self.api, ref.name)
        return output_type_name(self.api, ref.name)

    def output(self, field: Field) -> str:
        """An object field's type: non-null unless the field has presence or is an enum (an
        unset or unknown enum value reads as null, never as an error)."""
        if field.map is not None:
            return MAP_SCALAR + "!"
        named = self.named(field.type, input_side=False)
        if field.repeated:
            return f"[{named}!]!"
        nullable = field.has_presence or field.type.kind is TypeKind.ENUM
        return named if nullable else named + "!"

    def input(self, field: Field) -> str:
        """An input field's type: non-null when the contract marks it REQUIRED, except a single
        JSON value, whose null is a value (the server still refuses it when absent)."""
        if field.map is not None:
            named = MAP_SCALAR
        elif field.repeated:
            named = f"[{self.named(field.type, input_side=True)}!]"
        else:
            named = self.named(field.type, input_side=True)
        if _is_json_value(field):
            return named
        return named + "!" if field.required else named


def _is_json_value(field: Field) -> bool:
    """Whether the field is one `google.protobuf.Value` (JSON null is one of its values)."""
    return (
        field.map is None
        and not field.repeated
        and field.type.kind is TypeKind.WELL_KNOWN
        and field.type.name == "google.protobuf.Value"
    )


def _lookup(table: dict[str, str], name: str, what: str) -> str:
    found = table.get(name)
    if found is None:
        raise TargetError(f"the GraphQL schema has no mapping for the {what} {name}")
    return found


def named_type_of(type_expression: str) -> str:
    """The named type inside a type expression: `[Lock!]!` -> `Lock`."""
    return type_expression.strip("[]!")
