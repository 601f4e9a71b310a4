"""Go refiner, part 1: Go types of fields, and the structs (models, params) and enums of the SDK."""

from __future__ import annotations

from dataclasses import dataclass

from concord_codegen.ir.model import Api, Enum, Field, Message, TypeKind, TypeRef
from concord_codegen.targets.base import TargetError
from concord_codegen.targets.go.names import comment, exported, godoc

SCALARS = {
    "string": "string",
    "bool": "bool",
    "int32": "int32",
    "sint32": "int32",
    "sfixed32": "int32",
    "int64": "int64",
    "sint64": "int64",
    "sfixed64": "int64",
    "uint32": "uint32",
    "fixed32": "uint32",
    "uint64": "uint64",
    "fixed64": "uint64",
    "double": "float64",
    "float": "float32",
    "bytes": "[]byte",
}
# Well-known types: Go type and the `wire` kind that needs a custom JSON form ("" for none).
WELL_KNOWN = {
    "google.protobuf.Timestamp": ("time.Time", "time"),
    "google.protobuf.Duration": ("time.Duration", "duration"),
    "google.protobuf.Value": ("any", ""),
    "google.protobuf.Struct": ("map[string]any", ""),
    "google.protobuf.ListValue": ("[]any", ""),
}


@dataclass(frozen=True)
class GoField:
    """A struct field: Go name and type, JSON name, doc, and how it is encoded."""

    name: str
    json: str
    type: str
    doc: list[str]
    wire: str = ""  # "time" / "duration": singular field with a custom JSON form
    kind: str = "value"  # value / pointer / list / map / message (pointer to a struct)
    scalar: str = ""  # proto scalar name, or "enum" / "time" / "duration" / "json"
    wire_fn: str = ""  # runtime encoders: time/duration, timePtr/durationPtr, timeReq/durationReq
    null: bool = False  # a google.protobuf.Value: JSON null decodes to Null, absent to nil

    @property
    def tag(self) -> str:
        """The struct tag."""
        return f'`json:"{self.json},omitempty"`'


@dataclass(frozen=True)
class GoStruct:
    """A generated struct (a contract message, or the params of an RPC)."""

    name: str
    doc: list[str]
    fields: list[GoField]
    source: str

    @property
    def wire_fields(self) -> list[GoField]:
        """Fields whose JSON form needs the struct's own MarshalJSON / UnmarshalJSON."""
        return [f for f in self.fields if f.wire]

    @property
    def null_fields(self) -> list[GoField]:
        """Value fields whose JSON null decodes to Null (UnmarshalJSON keeps the presence)."""
        return [f for f in self.fields if f.null]


@dataclass(frozen=True)
class GoEnumValue:
    """One constant of a string-typed enum."""

    const: str
    wire: str
    doc: list[str]


@dataclass(frozen=True)
class GoEnum:
    """A string-typed enum with its constants (UNSPECIFIED left out)."""

    name: str
    doc: list[str]
    values: list[GoEnumValue]
    source: str = ""  # the contract's full name


class TypeMapper:
    """Maps IR types to Go types, using the flat Go names of messages and enums."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def type_name(self, full_name: str) -> str:
        """Go name of a message or enum: `concord.v1.Widget.State` -> `WidgetState`."""
        return exported(self.api.schema_name(full_name))

    def element(self, ref: TypeRef) -> tuple[str, str]:
        """Go type of one value of `ref`, and its scalar kind."""
        if ref.kind is TypeKind.SCALAR:
            return SCALARS[ref.name], ref.name
        if ref.kind is TypeKind.ENUM:
            return self.type_name(ref.name), "enum"
        if ref.kind is TypeKind.MESSAGE:
            return self.type_name(ref.name), "message"
        if ref.name not in WELL_KNOWN:
            raise TargetError(f"the Go SDK does not map well-known type {ref.name}")
        go_type, wire = WELL_KNOWN[ref.name]
        return go_type, wire or "json"

    def field(self, field: Field, context: str, sent: bool = False) -> GoField:
        """The Go struct field of an IR field. In structs the SDK sends (`sent`), a Timestamp
        or Duration with presence is a pointer (nil: absent; a zero is sent) and a required one
        is always sent; in structs it only receives, the zero value stands for absent."""
        elem, scalar = self.element(field.type)
        doc = comment(field.doc or field.name)
        if field.required:
            doc.append("Required.")
        elif field.output_only:
            doc.append("Output only: set by the server.")
        name = exported(field.name)
        if field.map is not None:
            key, _ = self.element(field.map.key)
            self._no_wire(scalar, field, context)
            return GoField(
                name, field.json_name, f"map[{key}]{elem}", doc, kind="map", scalar=scalar
            )
        if field.repeated:
            self._no_wire(scalar, field, context)
            return GoField(name, field.json_name, f"[]{elem}", doc, kind="list", scalar=scalar)
        if scalar == "message":
            return GoField(name, field.json_name, f"*{elem}", doc, kind="message", scalar=scalar)
        if scalar in ("time", "duration"):
            return self._wire_field(field, name, elem, scalar, doc=doc, sent=sent)
        return self._plain_field(field, name, elem, scalar, doc=doc, sent=sent)

    @staticmethod
    def _plain_field(
        field: Field, name: str, elem: str, scalar: str, *, doc: list[str], sent: bool
    ) -> GoField:
        """A singular scalar, enum or JSON field: optional and oneof scalars are pointers; a
        JSON value keeps a null (Null) apart from absent (nil), sent or received."""
        if scalar == "json" and field.type.name == "google.protobuf.Value":
            doc.append(
                "Nil: absent; Null: a JSON null."
                if not sent
                else "Nil leaves it out; Null sends a JSON null."
            )
            return GoField(name, field.json_name, elem, doc, scalar=scalar, null=True)
        if (field.optional or field.oneof) and scalar != "json":
            return GoField(name, field.json_name, f"*{elem}", doc, kind="pointer", scalar=scalar)
        return GoField(name, field.json_name, elem, doc, scalar=scalar)

    @staticmethod
    def _wire_field(
        field: Field, name: str, elem: str, scalar: str, *, doc: list[str], sent: bool
    ) -> GoField:
        """A Timestamp or Duration field: required ones always sent, ones with presence a
        pointer, in structs the SDK sends; otherwise a value whose zero means absent."""
        if sent and field.required:
            kind, go_type, encoder = "value", elem, scalar + "Req"
        elif sent and field.has_presence and not field.output_only:
            doc.append("Nil leaves it out; a zero value is sent.")
            kind, go_type, encoder = "pointer", f"*{elem}", scalar + "Ptr"
        else:
            kind, go_type, encoder = "value", elem, scalar
        return GoField(name, field.json_name, go_type, doc, scalar, kind, scalar, encoder)

    @staticmethod
    def _no_wire(scalar: str, field: Field, context: str) -> None:
        if scalar in ("time", "duration"):
            raise TargetError(f"{context}.{field.name}: repeated or map {scalar} is not supported")

    def struct(
        self,
        message: Message,
        name: str,
        doc: str,
        skip: tuple[str, ...] = (),
        sent: bool = False,
    ) -> GoStruct:
        """A struct of `message`'s fields (less `skip`), documented by `doc`; `sent` when the SDK
        sends it (a request, or a message a request holds)."""
        fields = [
            self.field(f, message.full_name, sent) for f in message.fields if f.name not in skip
        ]
        for oneof in message.oneofs:
            members = ", ".join(exported(n) for n in oneof.fields)
            for i, f in enumerate(fields):
                if f.json in oneof.fields:
                    note = f"Oneof {exported(oneof.name)}: at most one of {members} is set."
                    fields[i] = GoField(
                        f.name, f.json, f.type, [*f.doc, note], f.wire, f.kind, f.scalar, f.wire_fn
                    )
        return GoStruct(name, godoc(name, doc), fields, message.full_name)

    def enum(self, enum: Enum) -> GoEnum:
        """The string-typed enum of an IR enum."""
        name = self.type_name(enum.full_name)
        values = [
            GoEnumValue(name + exported(v.wire_name), v.wire_name, comment(v.doc or v.wire_name))
            for v in enum.wire_values
        ]
        return GoEnum(name, godoc(name, enum.doc), values, enum.full_name)
