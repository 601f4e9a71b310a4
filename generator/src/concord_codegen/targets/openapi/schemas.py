"""components.schemas: the JSON mapping of contract.md for every message and enum."""

from __future__ import annotations

from typing import Any

from concord_codegen.ir.model import Api, Enum, Field, FieldRules, Message, TypeKind, TypeRef
from concord_codegen.naming import screaming

Schema = dict[str, Any]
SCHEMA_REF = "#/components/schemas/"
DURATION_PATTERN = r"^-?[0-9]+(\.[0-9]{1,9})?s$"

_INT32: Schema = {"type": "integer", "format": "int32"}
_INT64: Schema = {"type": "integer", "format": "int64"}
_UINT: Schema = {"type": "integer", "format": "int64", "minimum": 0}
SCALARS: dict[str, Schema] = {
    "double": {"type": "number", "format": "double"},
    "float": {"type": "number", "format": "float"},
    "int32": _INT32,
    "sint32": _INT32,
    "sfixed32": _INT32,
    "int64": _INT64,
    "sint64": _INT64,
    "sfixed64": _INT64,
    "uint32": _UINT,
    "fixed32": _UINT,
    "uint64": _UINT,
    "fixed64": _UINT,
    "bool": {"type": "boolean"},
    "string": {"type": "string"},
    "bytes": {"type": "string", "contentEncoding": "base64"},
}
_WRAPPERS = {
    "StringValue": "string",
    "BytesValue": "bytes",
    "BoolValue": "bool",
    "Int32Value": "int32",
    "Int64Value": "int64",
    "UInt32Value": "uint32",
    "UInt64Value": "uint64",
    "FloatValue": "float",
    "DoubleValue": "double",
}
WELL_KNOWN: dict[str, Schema] = {
    "Timestamp": {"type": "string", "format": "date-time"},
    "Duration": {"type": "string", "pattern": DURATION_PATTERN},
    "Value": {},
    # `{}` rather than `true`: the same JSON Schema, and OpenAPI Generator's 3.1 normalizer warns
    # ("Failed to get the schema name: null") on `true` inside a schema with `false` of its own.
    "Struct": {"type": "object", "additionalProperties": {}},
    "ListValue": {"type": "array", "items": {}},
    "Empty": {"type": "object", "additionalProperties": False},
    "FieldMask": {"type": "string"},
    "Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
        "additionalProperties": {},
    },
    **{
        name: {**SCALARS[scalar], "type": [SCALARS[scalar]["type"], "null"]}
        for name, scalar in _WRAPPERS.items()
    },
}


def ref(name: str) -> Schema:
    """A `$ref` to a component schema."""
    return {"$ref": SCHEMA_REF + name}


class SchemaBuilder:
    """Maps IR types, fields, messages and enums to JSON Schema (OpenAPI 3.1)."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def type_schema(self, type_ref: TypeRef) -> Schema:
        """The schema of one value of a type (a fresh dict)."""
        if type_ref.kind is TypeKind.SCALAR:
            return dict(SCALARS[type_ref.name])
        if type_ref.kind is TypeKind.WELL_KNOWN:
            return dict(WELL_KNOWN.get(type_ref.short_name, {}))
        return ref(self.api.schema_name(type_ref.name))

    def field_schema(self, field: Field, *, with_doc: bool = True) -> Schema:
        """A field's schema: item/array/map shape, rules, description, readOnly."""
        value = _with_value_rules(self.type_schema(field.type), field.rules)
        if field.repeated:
            schema: Schema = {"type": "array", "items": value, **_item_rules(field.rules)}
        elif field.map is not None:
            schema = {"type": "object", "additionalProperties": value}
            schema.update(_map_rules(field))
        else:
            schema = value
        if with_doc and field.doc:
            schema["description"] = field.doc
        if field.output_only:
            schema["readOnly"] = True
        return schema

    def message_schema(
        self, message: Message, *, strict: bool, exclude: frozenset[str] = frozenset()
    ) -> Schema:
        """An object schema; `strict` rejects unknown properties; `exclude` drops fields."""
        fields = [f for f in message.fields if f.name not in exclude]
        schema: Schema = {"type": "object"}
        if message.doc:
            schema["description"] = message.doc
        schema["properties"] = {f.json_name: self._property(message, f) for f in fields}
        required = [f.json_name for f in fields if f.required]
        if required:
            schema["required"] = required
        if strict:
            schema["additionalProperties"] = False
        oneofs = {o.name: [m for m in o.fields if m not in exclude] for o in message.oneofs}
        if oneofs:
            schema["x-concord-oneof"] = oneofs
        return schema

    def _property(self, message: Message, field: Field) -> Schema:
        """A property schema; oneof members say which siblings exclude them."""
        schema = self.field_schema(field)
        oneof = next((o for o in message.oneofs if o.name == field.oneof), None)
        if oneof is not None:
            members = ", ".join(f"`{name}`" for name in oneof.fields)
            note = f"Part of oneof `{oneof.name}`: at most one of {members} is set."
            schema["description"] = f"{field.doc}\n\n{note}" if field.doc else note
        return schema

    def enum_schema(self, enum: Enum) -> Schema:
        """A string enum of the wire names (no UNSPECIFIED), values documented in the text.

        Generators that put enum constants in one namespace (Go, C) would declare `EXPIRED`
        twice, so `x-enum-varnames` / `x-enumNames` give each value a name prefixed with its
        enum's (`CACHE_EVENT_TYPE_EXPIRED`: the proto name of a top-level enum's value).
        """
        values = enum.wire_values
        lines = [f"- `{v.wire_name}`: {v.doc}" if v.doc else f"- `{v.wire_name}`" for v in values]
        description = "\n".join([enum.doc, "", *lines]) if enum.doc else "\n".join(lines)
        prefix = screaming(self.api.schema_name(enum.full_name))
        names = [f"{prefix}_{v.wire_name}" for v in values]
        schema: Schema = {
            "type": "string",
            "description": description.strip(),
            "enum": [v.wire_name for v in values],
            "x-enum-varnames": names,
            "x-enumNames": list(names),
        }
        if any(v.doc for v in values):
            schema["x-enum-descriptions"] = [" ".join(v.doc.split()) for v in values]
        return schema


def _with_value_rules(schema: Schema, rules: FieldRules) -> Schema:
    """Add the per-value rules (string, numeric, duration) to a value schema."""
    pairs: list[tuple[str, object]] = [
        ("pattern", rules.pattern),
        ("minLength", rules.min_length),
        ("maxLength", rules.max_length),
        ("minimum", rules.minimum),
        ("maximum", rules.maximum),
        ("x-concord-min-duration", rules.min_duration),
        ("x-concord-max-duration", rules.max_duration),
    ]
    schema.update({key: value for key, value in pairs if value is not None})
    return schema


def _item_rules(rules: FieldRules) -> Schema:
    """minItems/maxItems of an array."""
    pairs = [("minItems", rules.min_items), ("maxItems", rules.max_items)]
    return {key: value for key, value in pairs if value is not None}


def _map_rules(field: Field) -> Schema:
    """maxProperties of a map, and a key pattern for integer keys."""
    schema: Schema = {}
    if field.rules.max_items is not None:
        schema["maxProperties"] = field.rules.max_items
    if field.map is not None and field.map.key.name not in ("string", "bool"):
        schema["propertyNames"] = {"pattern": "^-?[0-9]+$"}
    return schema


def reachable(api: Api, roots: list[str]) -> set[str]:
    """Full names of the messages reachable from `roots` through message fields."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        message = api.message(name)
        if message is None or name in seen:
            continue
        seen.add(name)
        stack.extend(f.type.name for f in message.fields if f.type.kind is TypeKind.MESSAGE)
    return seen
