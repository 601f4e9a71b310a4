"""TypeScript refiner, part 1: the types of fields, and the interfaces and enums of the models.

Models are the contract's JSON itself (docs/contract.md): snake_case names, int64 as `number`,
Timestamps and Durations as strings. A message has an output form (fields without presence are
always there) and, when requests carry it, an input form (only REQUIRED fields are required;
output-only fields left out), named `<Name>Param` when the message also appears in answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from concord_codegen.ir.errors import ERROR_ENUM
from concord_codegen.ir.model import Api, Enum, Field, Message, TypeKind, TypeRef
from concord_codegen.targets.base import TargetError
from concord_codegen.targets.typescript.names import doc_lines, literal

LINE_WIDTH = 100
SCALARS = {
    "string": "string",
    "bool": "boolean",
    "bytes": "string",
    **dict.fromkeys(
        ["int32", "sint32", "sfixed32", "int64", "sint64", "sfixed64", "uint32", "fixed32"],
        "number",
    ),
    **dict.fromkeys(["uint64", "fixed64", "double", "float"], "number"),
}
# Well-known types: the runtime core's name for each (from `core/wire.ts`).
WELL_KNOWN = {
    "google.protobuf.Timestamp": "Timestamp",
    "google.protobuf.Duration": "Duration",
    "google.protobuf.Value": "JsonValue",
    "google.protobuf.Struct": "JsonObject",
    "google.protobuf.ListValue": "JsonValue[]",
}
OPEN_ENUM = "OtherString"


@dataclass(frozen=True)
class TsField:
    """One property of an interface."""

    name: str
    type: str
    optional: bool
    doc: list[str]

    @property
    def declaration(self) -> str:
        """`name?: Type;` (inputs spell out `| undefined` for exactOptionalPropertyTypes)."""
        return f"{self.name}{'?' if self.optional else ''}: {self.type};"


@dataclass
class TsInterface:
    """A generated interface: a message in one form, the params or the request of an RPC."""

    name: str
    doc: list[str]
    fields: list[TsField]
    refs: set[str] = field(default_factory=set)  # model and core type names it uses


@dataclass(frozen=True)
class TsEnum:
    """A string-literal union that also accepts values a newer server may send."""

    name: str
    doc: list[str]
    values: list[str]

    @property
    def declaration(self) -> str:
        """`export type X = 'A' | 'B' | OtherString;`, one member a line when too long."""
        members = [literal(v) for v in self.values] + [OPEN_ENUM]
        line = f"export type {self.name} = {' | '.join(members)};"
        if len(line) <= LINE_WIDTH:
            return line
        return f"export type {self.name} =\n" + "\n".join(f"  | {m}" for m in members) + ";"


@dataclass
class TsModule:
    """One model file (`src/models/<stem>.ts`): the enums and interfaces of one proto file."""

    stem: str
    enums: list[TsEnum] = field(default_factory=list)
    interfaces: list[TsInterface] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """Every type this module exports."""
        return [e.name for e in self.enums] + [i.name for i in self.interfaces]


def stem_of(path: str) -> str:
    """The model module of a proto file: `concord/v1/locks.proto` -> `locks`."""
    stem = PurePosixPath(path).stem
    if not stem:
        raise TargetError("typescript_sdk: a type has no source file")
    return stem


class TypeMapper:
    """Maps IR types to TypeScript, knowing which messages have an input form and its name."""

    def __init__(self, api: Api) -> None:
        self.api = api
        requests = {m.input for s in api.services for m in s.methods}
        responses = {m.output for s in api.services for m in s.methods}
        referenced = {
            f.type.name
            for m in api.messages_by_name.values()
            for f in m.fields
            if f.type.kind is TypeKind.MESSAGE
        }
        self.requests = requests - referenced
        self.inputs = self._reach(requests) - self.requests
        skip = self.requests | {api.error_message or ""}
        unused = set(api.messages_by_name) - skip - self.inputs
        self.outputs = (self._reach(responses) | unused) - skip
        self.both = self.inputs & self.outputs

    def _reach(self, roots: set[str]) -> set[str]:
        """The messages `roots` contain, transitively (roots included)."""
        seen: set[str] = set()
        todo = list(roots)
        while todo:
            name = todo.pop()
            message = self.api.message(name)
            if name in seen or message is None:
                continue
            seen.add(name)
            todo += [f.type.name for f in message.fields if f.type.kind is TypeKind.MESSAGE]
        return seen

    def name(self, full_name: str) -> str:
        """TypeScript name of a message (output form) or enum: `Lock.Holder` -> `LockHolder`."""
        return self.api.schema_name(full_name)

    def input_name(self, full_name: str) -> str:
        """Name of a message's input form."""
        base = self.name(full_name)
        return f"{base}Param" if full_name in self.both else base

    def element(self, ref: TypeRef, input_form: bool) -> str:
        """TypeScript type of one value of `ref`."""
        if ref.kind is TypeKind.SCALAR:
            return SCALARS[ref.name]
        if ref.kind is TypeKind.ENUM:
            return self.name(ref.name)
        if ref.kind is TypeKind.MESSAGE:
            return self.input_name(ref.name) if input_form else self.name(ref.name)
        if ref.name not in WELL_KNOWN:
            raise TargetError(f"the TypeScript SDK does not map well-known type {ref.name}")
        return WELL_KNOWN[ref.name]

    def field_type(self, f: Field, input_form: bool) -> str:
        """TypeScript type of a field (lists and maps included)."""
        elem = self.element(f.type, input_form)
        if f.map is not None:
            return f"Record<string, {elem}>"
        if f.repeated:
            return f"{elem}[]"
        return elem

    def field(self, f: Field, message: Message, input_form: bool) -> TsField:
        """The property of `f` in the output or input form of its message."""
        doc = doc_lines(f.doc or f.name)
        oneof = next((o for o in message.oneofs if f.name in o.fields), None)
        if oneof is not None:
            members = ", ".join(f"`{n}`" for n in oneof.fields)
            doc.append(f"Oneof `{oneof.name}`: at most one of {members} is set.")
        ts_type = self.field_type(f, input_form)
        if input_form:
            optional = not f.required
            return TsField(
                f.json_name, f"{ts_type} | undefined" if optional else ts_type, optional, doc
            )
        return TsField(f.json_name, ts_type, f.has_presence, doc)

    def interface(
        self,
        message: Message,
        name: str,
        doc: str,
        input_form: bool,
        skip: tuple[str, ...] = (),
    ) -> TsInterface:
        """An interface of `message`'s fields (less `skip`; inputs also leave out output-only)."""
        fields = [
            f for f in message.fields if f.name not in skip and not (input_form and f.output_only)
        ]
        props = [self.field(f, message, input_form) for f in fields]
        refs = {self._base(self.element(f.type, input_form)) for f in fields}
        refs = {r for r in refs if r and r[0].isupper()}
        return TsInterface(name, doc_lines(doc or name), props, refs)

    @staticmethod
    def _base(ts_type: str) -> str:
        return ts_type.removesuffix("[]")

    def enum(self, enum: Enum) -> TsEnum:
        """The union of an enum's wire values, documented value by value."""
        doc = doc_lines(enum.doc or enum.name)
        doc.append("")
        doc += [
            f"- `{v.wire_name}`: {' '.join((v.doc or v.wire_name).split())}"
            for v in enum.wire_values
        ]
        return TsEnum(self.name(enum.full_name), doc, [v.wire_name for v in enum.wire_values])

    def enums(self) -> list[tuple[str, TsEnum]]:
        """(module stem, enum) of every enum but the error catalogue."""
        catalogue = f"{self.api.package}.{ERROR_ENUM}"
        return [
            (stem_of(e.location.file), self.enum(e))
            for name, e in self.api.enums_by_name.items()
            if name != catalogue
        ]

    def models(self) -> list[tuple[str, TsInterface]]:
        """(module stem, interface) of every message form, in declaration order."""
        found: list[tuple[str, TsInterface]] = []
        for name, message in self.api.messages_by_name.items():
            stem = stem_of(message.location.file)
            if name in self.outputs:
                found.append((stem, self.interface(message, self.name(name), message.doc, False)))
            if name in self.inputs:
                doc = (
                    message.doc
                    if name not in self.both
                    else f"{message.doc}\n\nThe form sent in requests."
                )
                found.append((stem, self.interface(message, self.input_name(name), doc, True)))
        return found
