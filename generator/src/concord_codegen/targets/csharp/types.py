"""C# refiner, part 1: C# types of fields, and the classes (models, params) and enums of the SDK."""

from __future__ import annotations

from dataclasses import dataclass, field

from concord_codegen.ir.model import Api, Enum, Field, Message, TypeKind, TypeRef
from concord_codegen.targets.base import TargetError
from concord_codegen.targets.csharp.names import TYPE_RENAMES, pascal, summary

SCALARS = {
    "string": "string",
    "bool": "bool",
    "int32": "int",
    "sint32": "int",
    "sfixed32": "int",
    "int64": "long",
    "sint64": "long",
    "sfixed64": "long",
    "uint32": "uint",
    "fixed32": "uint",
    "uint64": "ulong",
    "fixed64": "ulong",
    "double": "double",
    "float": "float",
    "bytes": "byte[]",
}
VALUE_TYPES = frozenset({"bool", "int", "long", "uint", "ulong", "double", "float"})
# Well-known types: C# type and the property's JSON converter ("" for none).
WELL_KNOWN = {
    "google.protobuf.Timestamp": ("DateTimeOffset?", "TimestampConverter"),
    "google.protobuf.Duration": ("TimeSpan?", "DurationConverter"),
    "google.protobuf.Value": ("JsonValue", ""),
    "google.protobuf.Struct": ("IDictionary<string, JsonValue>", ""),
    "google.protobuf.ListValue": ("IList<JsonValue>", ""),
}


@dataclass(frozen=True)
class CsField:
    """A model property: C# name and type, JSON name, doc, converter and initializer."""

    name: str
    json: str
    type: str
    doc: list[str]
    converter: str = ""
    initializer: str = ""
    kind: str = "value"  # value / enum / message / list / map / json / wkt
    element: str = ""  # element type of lists and maps


@dataclass(frozen=True)
class CsClass:
    """A generated class: a contract message, or the params of an RPC."""

    name: str
    doc: list[str]
    fields: list[CsField]
    source: str
    group: str  # the proto file stem the class is written with
    base: str = ""  # base class, e.g. ConcordResult for RPC answers


@dataclass(frozen=True)
class CsEnumValue:
    """One known value of an extensible enum."""

    name: str
    wire: str
    doc: list[str]


@dataclass(frozen=True)
class CsEnum:
    """An extensible string enum (a readonly struct keeping unknown values)."""

    name: str
    doc: list[str]
    values: list[CsEnumValue]
    group: str


@dataclass
class TypeMapper:
    """Maps IR types to C# types, using the flat C# names of messages and enums."""

    api: Api
    renames: dict[str, str] = field(default_factory=lambda: dict(TYPE_RENAMES))

    def type_name(self, full_name: str) -> str:
        """C# name of a message or enum: `concord.v1.Task` -> `SagaTask`."""
        name = pascal(self.api.schema_name(full_name))
        return self.renames.get(name, name)

    def element(self, ref: TypeRef) -> tuple[str, str, str]:
        """(C# type of one value, kind, converter) of `ref`."""
        if ref.kind is TypeKind.SCALAR:
            return SCALARS[ref.name], "value", ""
        if ref.kind is TypeKind.ENUM:
            return self.type_name(ref.name), "enum", ""
        if ref.kind is TypeKind.MESSAGE:
            return self.type_name(ref.name), "message", ""
        if ref.name not in WELL_KNOWN:
            raise TargetError(f"the C# SDK does not map well-known type {ref.name}")
        cs_type, converter = WELL_KNOWN[ref.name]
        return cs_type, "json" if not converter else "wkt", converter

    def field(self, field: Field, owner: str, context: str) -> CsField:
        """The C# property of an IR field."""
        elem, kind, converter = self.element(field.type)
        doc = summary(field.doc, field.name)
        if field.required:
            doc.append("Required.")
        elif field.output_only:
            doc.append("Output only: set by the server.")
        name = pascal(field.name)
        if name == owner:
            name += "Value"
        if field.map is not None or field.repeated:
            if converter:
                raise TargetError(
                    f"{context}.{field.name}: repeated or map {elem} is not supported"
                )
            elem = elem.rstrip("?")
            if field.map is not None:
                key = self.element(field.map.key)[0]
                cs_type = f"IDictionary<{key}, {elem}>"
                return CsField(
                    name,
                    field.json_name,
                    cs_type,
                    doc,
                    "",
                    f"new Dictionary<{key}, {elem}>()",
                    "map",
                    elem,
                )
            return CsField(
                name,
                field.json_name,
                f"IList<{elem}>",
                doc,
                "",
                f"new List<{elem}>()",
                "list",
                elem,
            )
        if (
            field.has_presence
            and kind in ("value", "enum")
            and (elem in VALUE_TYPES or kind == "enum")
        ):
            elem += "?"
        return CsField(name, field.json_name, elem, doc, converter, "", kind)

    def model(
        self,
        message: Message,
        name: str,
        doc: str,
        *,
        group: str,
        skip: tuple[str, ...] = (),
        base: str = "",
    ) -> CsClass:
        """A class of `message`'s fields (less `skip`), documented by `doc`."""
        fields = [
            self.field(f, name, message.full_name) for f in message.fields if f.name not in skip
        ]
        for oneof in message.oneofs:
            members = ", ".join(pascal(n) for n in oneof.fields)
            for i, f in enumerate(fields):
                if f.json in oneof.fields:
                    note = f"Oneof {pascal(oneof.name)}: at most one of {members} is set."
                    fields[i] = CsField(
                        f.name,
                        f.json,
                        f.type,
                        [*f.doc, note],
                        f.converter,
                        f.initializer,
                        f.kind,
                        f.element,
                    )
        return CsClass(name, summary(doc, name), fields, message.full_name, group, base)

    def enum(self, enum: Enum, group: str) -> CsEnum:
        """The extensible enum of an IR enum."""
        values = [
            CsEnumValue(pascal(v.wire_name), v.wire_name, summary(v.doc, v.wire_name))
            for v in enum.wire_values
        ]
        return CsEnum(self.type_name(enum.full_name), summary(enum.doc, enum.name), values, group)
