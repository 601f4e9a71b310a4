"""Java refiner, part 1: the Java type of each field and how it is read, written and built."""

from __future__ import annotations

from dataclasses import dataclass, field

from concord_codegen.ir.model import Api, Enum, Field, Message, TypeKind, TypeRef
from concord_codegen.targets.base import TargetError
from concord_codegen.targets.java.names import class_name, constant, javadoc, member

# proto scalar -> (plain Java type, boxed type, Json read helper)
SCALARS = {
    "string": ("String", "String", "string"),
    "bool": ("boolean", "Boolean", "bool"),
    "int32": ("int", "Integer", "int32"),
    "sint32": ("int", "Integer", "int32"),
    "sfixed32": ("int", "Integer", "int32"),
    "int64": ("long", "Long", "int64"),
    "sint64": ("long", "Long", "int64"),
    "sfixed64": ("long", "Long", "int64"),
    "uint32": ("long", "Long", "int64"),
    "fixed32": ("long", "Long", "int64"),
    "uint64": ("long", "Long", "int64"),
    "fixed64": ("long", "Long", "int64"),
    "double": ("double", "Double", "float64"),
    "float": ("double", "Double", "float64"),
    "bytes": ("byte[]", "byte[]", "bytes"),
}
# Optional (proto3 `optional` or oneof) scalars: the boxed type's Json read helper.
OPTIONAL_READERS = {
    "Long": "optionalInt64",
    "Integer": "optionalInt32",
    "Boolean": "optionalBool",
    "Double": "optionalFloat64",
    "String": "optionalString",
}
# Well-known types: Java type and the Json read helper.
WELL_KNOWN = {
    "google.protobuf.Timestamp": ("Instant", "instant"),
    "google.protobuf.Duration": ("Duration", "duration"),
    "google.protobuf.Value": ("JsonNode", "value"),
    "google.protobuf.Struct": ("ObjectNode", "struct"),
}
# Item codecs of repeated and map fields: (decode, encode) function references.
ITEM_CODECS = {"String": ("Json::asText", "Json::text"), "Long": ("Json::asLong", "Json::number")}


@dataclass(frozen=True)
class JavaField:
    """A model or params field and every piece of Java the templates need for it."""

    name: str  # Java member name
    json: str  # contract JSON name
    doc: list[str]
    type: str  # the type stored in the object (nullable for fields with presence)
    getter_type: str  # what the getter returns
    getter: str  # expression the getter returns
    read: str  # expression reading the field from `node`
    write: str  # statement writing the field into `out`
    setter_type: str  # parameter type of the builder's setter
    init: str  # the builder's initial value ("" for null)
    kind: str  # plain / present / list / map
    item_type: str = ""  # element type of lists and maps
    required: bool = False
    setter_note: str = ""  # extra Javadoc line of the setter


@dataclass(frozen=True)
class JavaClass:
    """A generated model or params class."""

    name: str
    doc: list[str]
    fields: list[JavaField]
    source: str
    imports: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class JavaEnumValue:
    """One known constant of an expandable enum."""

    const: str
    wire: str
    doc: list[str]


@dataclass(frozen=True)
class JavaEnum:
    """An expandable enum."""

    name: str
    doc: list[str]
    values: list[JavaEnumValue]


class TypeMapper:
    """Maps IR types to Java types, using the flat class names of messages and enums."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def type_name(self, full_name: str) -> str:
        """Java class of a message or enum: `concord.v1.Widget.State` -> `WidgetState`."""
        return class_name(self.api.schema_name(full_name))

    def element(self, ref: TypeRef) -> tuple[str, str]:
        """(Java type, Json read helper or kind) of one value of `ref`."""
        if ref.kind is TypeKind.SCALAR:
            if ref.name not in SCALARS:
                raise TargetError(f"the Java SDK does not map scalar type {ref.name}")
            return SCALARS[ref.name][0], SCALARS[ref.name][2]
        if ref.kind is TypeKind.ENUM:
            return self.type_name(ref.name), "enum"
        if ref.kind is TypeKind.MESSAGE:
            return self.type_name(ref.name), "message"
        if ref.name not in WELL_KNOWN:
            raise TargetError(f"the Java SDK does not map well-known type {ref.name}")
        return WELL_KNOWN[ref.name]

    def field(self, f: Field, context: str) -> JavaField:
        """The Java field of an IR field."""
        doc = javadoc(f.doc, f.name)
        if f.required:
            doc.append("Required.")
        elif f.output_only:
            doc.append("Output only: set by the server.")
        if f.map is not None:
            return self._map(f, doc, context)
        if f.repeated:
            return self._list(f, doc, context)
        elem, helper = self.element(f.type)
        name, key = member(f.name), f'"{f.json_name}"'
        if f.type.kind is TypeKind.SCALAR and not f.has_presence:
            init = {"String": '""', "byte[]": "new byte[0]"}.get(elem, "")
            return JavaField(
                name,
                f.json_name,
                doc,
                elem,
                elem,
                name,
                f"Json.{helper}(node, {key})",
                f"Json.put(out, {key}, {name});",
                elem,
                init,
                "plain",
                required=f.required,
            )
        if f.type.kind is TypeKind.SCALAR:
            boxed = SCALARS[f.type.name][1]
            if boxed not in OPTIONAL_READERS:
                raise TargetError(f"{context}.{f.name}: optional {f.type.name} is not supported")
            read = f"Json.{OPTIONAL_READERS[boxed]}(node, {key})"
            return self._present(
                f, doc, boxed, read, f"Json.putPresent(out, {key}, {name});", setter=elem
            )
        if helper == "enum":
            read = f"Json.enumValue(node, {key}, {elem}::of)"
        elif helper == "message":
            read = f"Json.message(node, {key}, {elem}::fromJson)"
        else:
            read = f"Json.{helper}(node, {key})"
        write = f"Json.put(out, {key}, {name});"
        return self._present(f, doc, elem, read, write, setter=elem)

    def _present(
        self, f: Field, doc: list[str], stored: str, read: str, write: str, *, setter: str
    ) -> JavaField:
        """A field with presence: nullable inside, Optional outside."""
        name = member(f.name)
        note = ""
        if stored == "JsonNode":
            note = "Java {@code null} or {@code NullNode} sends JSON {@code null}."
        elif stored == "Duration":
            note = 'A zero duration is sent as {@code "0s"}, not left out.'
        return JavaField(
            name,
            f.json_name,
            doc,
            stored,
            f"Optional<{stored}>",
            f"Optional.ofNullable({name})",
            read,
            write,
            setter,
            "",
            "present",
            required=f.required,
            setter_note=note,
        )

    def _list(self, f: Field, doc: list[str], context: str) -> JavaField:
        elem, helper = self.element(f.type)
        boxed = SCALARS[f.type.name][1] if f.type.kind is TypeKind.SCALAR else elem
        name, key = member(f.name), f'"{f.json_name}"'
        if helper == "message":
            decode, encode = f"{elem}::fromJson", f"{elem}::toJson"
        elif boxed in ITEM_CODECS:
            decode, encode = ITEM_CODECS[boxed]
        else:
            raise TargetError(f"{context}.{f.name}: repeated {f.type.name} is not supported")
        return JavaField(
            name,
            f.json_name,
            doc,
            f"List<{boxed}>",
            f"List<{boxed}>",
            name,
            f"Json.list(node, {key}, {decode})",
            f"Json.putList(out, {key}, {name}, {encode});",
            f"List<{boxed}>",
            "new ArrayList<>()",
            "list",
            item_type=boxed,
            required=f.required,
        )

    def _map(self, f: Field, doc: list[str], context: str) -> JavaField:
        assert f.map is not None
        key_type, _ = self.element(f.map.key)
        elem, _ = self.element(f.map.value)
        if key_type != "String" or elem not in ITEM_CODECS:
            raise TargetError(f"{context}.{f.name}: only map<string, string> is supported")
        decode, encode = ITEM_CODECS[elem]
        name, key = member(f.name), f'"{f.json_name}"'
        java = f"Map<String, {elem}>"
        return JavaField(
            name,
            f.json_name,
            doc,
            java,
            java,
            name,
            f"Json.map(node, {key}, {decode})",
            f"Json.putMap(out, {key}, {name}, {encode});",
            java,
            "new LinkedHashMap<>()",
            "map",
            item_type=elem,
            required=f.required,
        )

    def model(self, message: Message, name: str, doc: str, skip: tuple[str, ...] = ()) -> JavaClass:
        """A class of `message`'s fields (less `skip`)."""
        fields = [self.field(f, message.full_name) for f in message.fields if f.name not in skip]
        for oneof in message.oneofs:
            members = ", ".join(member(n) for n in oneof.fields)
            for i, jf in enumerate(fields):
                if jf.json in oneof.fields:
                    note = f"One of {members}: at most one is set."
                    fields[i] = _with_doc(jf, [*jf.doc, note])
        return JavaClass(name, javadoc(doc, name), fields, message.full_name, _imports(fields))

    def enum(self, enum: Enum) -> JavaEnum:
        """The expandable enum of an IR enum."""
        values = [
            JavaEnumValue(constant(v.wire_name), v.wire_name, javadoc(v.doc, v.wire_name))
            for v in enum.wire_values
        ]
        return JavaEnum(self.type_name(enum.full_name), javadoc(enum.doc, enum.name), values)


def _with_doc(jf: JavaField, doc: list[str]) -> JavaField:
    values = dict(vars(jf))
    values["doc"] = doc
    return JavaField(**values)


def _imports(fields: list[JavaField]) -> list[str]:
    """The imports a model or params class needs."""
    found = {
        "com.fasterxml.jackson.databind.JsonNode",
        "com.fasterxml.jackson.databind.node.ObjectNode",
        "dev.concord.core.Json",
        "dev.concord.core.JsonModel",
        "java.util.Objects",
    }
    types = {f.type for f in fields}
    if any(f.kind == "present" for f in fields):
        found.add("java.util.Optional")
    if "Instant" in types:
        found.add("java.time.Instant")
    if "Duration" in types:
        found.add("java.time.Duration")
    if any(f.kind == "list" for f in fields):
        found.update({"java.util.List", "java.util.ArrayList"})
    if any(f.kind == "map" for f in fields):
        found.update({"java.util.Map", "java.util.LinkedHashMap"})
    if "byte[]" in types:
        found.add("java.util.Arrays")
    return sorted(found)
