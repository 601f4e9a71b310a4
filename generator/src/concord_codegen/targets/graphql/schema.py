"""The GraphQL schema of the contract as a view the template prints: roots, types, enums."""

from __future__ import annotations

from dataclasses import dataclass, field

from concord_codegen.ir.errors import ERROR_ENUM
from concord_codegen.ir.model import Api, Field, Message, Method, Service, TypeKind
from concord_codegen.targets.base import TargetError
from concord_codegen.targets.graphql.names import (
    INPUT_ARGUMENT,
    Operation,
    field_name,
    input_type_name,
    operation_of,
    output_type_name,
    root_field_name,
)
from concord_codegen.targets.graphql.types import CUSTOM_SCALARS, Scalar, TypeMapper, named_type_of

ENUM_NOTE = (
    "Later versions of the contract may add values: treat a value you do not know as\n"
    "unknown, never as an error. An unset value reads as null."
)
EMPTY_RESULT = "Boolean"
EMPTY_RESULT_DOC = "The response message is empty: the field is `true` when the call succeeds."
ERROR_CODE_DOC = (
    "The error catalogue: the values of `errors[].extensions.code`. No field has this\n"
    "type; it lists the codes a client may see, with their HTTP and gRPC mapping."
)


@dataclass(frozen=True)
class GqlArgument:
    """An argument of a root field."""

    name: str
    type: str
    description: str = ""


@dataclass(frozen=True)
class GqlField:
    """A field of an object, input or root type."""

    name: str
    type: str
    description: str = ""
    arguments: tuple[GqlArgument, ...] = ()


@dataclass(frozen=True)
class GqlType:
    """An object type (`type`) or an input object type (`input`)."""

    keyword: str
    name: str
    description: str
    fields: tuple[GqlField, ...]


@dataclass(frozen=True)
class GqlEnumValue:
    """One value of an enum."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class GqlEnum:
    """An enum type."""

    name: str
    description: str
    values: tuple[GqlEnumValue, ...]


@dataclass(frozen=True)
class SchemaView:
    """Everything the template prints, in print order."""

    description: str
    scalars: tuple[Scalar, ...]
    roots: tuple[GqlType, ...]
    objects: tuple[GqlType, ...]
    inputs: tuple[GqlType, ...]
    enums: tuple[GqlEnum, ...]


@dataclass
class SchemaBuilder:
    """Walks the RPCs and registers every type they reach, checking that names stay unique."""

    api: Api
    types: TypeMapper = field(init=False)
    objects: dict[str, GqlType] = field(default_factory=dict)
    inputs: dict[str, GqlType] = field(default_factory=dict)
    enums: dict[str, GqlEnum] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.types = TypeMapper(self.api)

    def build(self) -> SchemaView:
        """The whole schema view."""
        roots: dict[Operation, list[GqlField]] = {op: [] for op in Operation}
        for op in Operation:
            self._claim(op.value, "root type")
        for service in self.api.services:
            for method in service.methods:
                roots[operation_of(method)].append(self.root_field(service, method))
        self._catalogue()
        root_types = tuple(
            GqlType("type", op.value, "", tuple(fields)) for op, fields in roots.items() if fields
        )
        objects = tuple(self.objects[n] for n in sorted(self.objects))
        inputs = tuple(self.inputs[n] for n in sorted(self.inputs))
        used = {named_type_of(f.type) for t in (*root_types, *objects, *inputs) for f in t.fields}
        used |= {named_type_of(a.type) for t in root_types for f in t.fields for a in f.arguments}
        return SchemaView(
            description=schema_description(self.api),
            scalars=tuple(s for s in CUSTOM_SCALARS if s.name in used),
            roots=root_types,
            objects=objects,
            inputs=inputs,
            enums=tuple(self.enums[n] for n in sorted(self.enums)),
        )

    def root_field(self, service: Service, method: Method) -> GqlField:
        """The Query, Mutation or Subscription field of one RPC."""
        if method.client_streaming:
            raise TargetError(f"{method.name}: GraphQL has no client-streaming operations")
        request, response = self._message(method.input), self._message(method.output)
        operation = operation_of(method)
        # Unique across the three root types: the server finds an RPC's field by name alone.
        self._claim("root field " + root_field_name(method.name), method.name)
        if operation is Operation.MUTATION:
            arguments = self._input_argument(request)
        else:
            arguments = tuple(
                GqlArgument(field_name(f.name), self._input_field_type(f), f.doc)
                for f in input_fields(request)
            )
        if response.fields:
            result, description = self.object_type(response), root_description(service, method)
        else:  # GraphQL has no empty object types
            result = EMPTY_RESULT
            description = _join(root_description(service, method), EMPTY_RESULT_DOC)
        return GqlField(root_field_name(method.name), result, description, arguments)

    def _input_argument(self, request: Message) -> tuple[GqlArgument, ...]:
        """Mutations take the request as one `input` argument (none for an empty request)."""
        fields = input_fields(request)
        if not fields:
            return ()
        required = "!" if any(f.required for f in fields) else ""
        description = "The request." if required else "The request; omitted means all defaults."
        return (GqlArgument(INPUT_ARGUMENT, self.input_type(request) + required, description),)

    def object_type(self, message: Message) -> str:
        """Registers the object type of a message (and what it reaches); returns its name."""
        name = output_type_name(self.api, message.full_name)
        self._claim(name, message.full_name)
        if name in self.objects:
            return name
        if not message.fields:
            raise TargetError(f"{message.full_name} has no fields; a GraphQL type needs one")
        self.objects[name] = GqlType("type", name, message.doc, ())  # placeholder for cycles
        fields = tuple(
            GqlField(field_name(f.name), self._output_field_type(f), f.doc) for f in message.fields
        )
        self.objects[name] = GqlType("type", name, message.doc, fields)
        return name

    def input_type(self, message: Message) -> str:
        """Registers the input type of a message (and what it reaches); returns its name."""
        name = input_type_name(self.api, message.full_name)
        self._claim(name, "input " + message.full_name)
        if name in self.inputs:
            return name
        fields = input_fields(message)
        if not fields:
            raise TargetError(f"{message.full_name} has no input fields; a GraphQL input needs one")
        self.inputs[name] = GqlType("input", name, message.doc, ())  # placeholder for cycles
        typed = tuple(
            GqlField(field_name(f.name), self._input_field_type(f), f.doc) for f in fields
        )
        self.inputs[name] = GqlType("input", name, message.doc, typed)
        return name

    def _output_field_type(self, f: Field) -> str:
        self._reach(f, input_side=False)
        return self.types.output(f)

    def _input_field_type(self, f: Field) -> str:
        self._reach(f, input_side=True)
        return self.types.input(f)

    def _reach(self, f: Field, *, input_side: bool) -> None:
        """Registers the enum or message type a field refers to (map values stay JSON)."""
        if f.map is not None:
            return
        if f.type.kind is TypeKind.ENUM:
            self.enum_type(f.type.name)
        elif f.type.kind is TypeKind.MESSAGE:
            message = self._message(f.type.name)
            if input_side:
                self.input_type(message)
            else:
                self.object_type(message)

    def enum_type(self, full_name: str) -> str:
        """Registers an enum with its wire values (never UNSPECIFIED); returns its name."""
        name = self.api.schema_name(full_name)
        self._claim(name, full_name)
        if name not in self.enums:
            enum = self.api.enums_by_name[full_name]
            values = tuple(GqlEnumValue(v.wire_name, v.doc) for v in enum.wire_values)
            self.enums[name] = GqlEnum(name, _join(enum.doc, ENUM_NOTE), values)
        return name

    def _catalogue(self) -> None:
        """The error catalogue as the `ErrorCode` enum (documentation of extensions.code)."""
        if not self.api.errors:
            return
        self._claim(ERROR_ENUM, f"{self.api.package}.{ERROR_ENUM}")
        values = tuple(
            GqlEnumValue(e.code, _join(e.doc, _rule_text(e.http_status, e.grpc_code, e.retryable)))
            for e in self.api.errors
        )
        self.enums[ERROR_ENUM] = GqlEnum(ERROR_ENUM, ERROR_CODE_DOC, values)

    def _message(self, full_name: str) -> Message:
        message = self.api.message(full_name)
        if message is None:
            raise TargetError(f"message {full_name} is not in the contract")
        return message

    def _claim(self, name: str, owner: str) -> None:
        """Fails when two contract elements would get the same GraphQL name."""
        previous = self.owners.setdefault(name, owner)
        if previous != owner:
            raise TargetError(f"GraphQL name {name} is wanted by both {previous} and {owner}")


def input_fields(message: Message) -> tuple[Field, ...]:
    """The fields a client may send: all but OUTPUT_ONLY ones."""
    return tuple(f for f in message.fields if not f.output_only)


def root_description(service: Service, method: Method) -> str:
    """The RPC's documentation plus the facts a caller needs: auth, idempotency, paging."""
    facts: list[str] = []
    if method.is_public:
        facts.append("Public: needs no credential.")
    elif method.auth is not None and method.auth.action:
        facts.append(f"Needs the permission `{method.auth.action}` on `{method.auth.resource}`.")
    if operation_of(method) is Operation.MUTATION and not method.retry_safe:
        facts.append(
            "Not idempotent: send an `Idempotency-Key` header so that a retry replays the first "
            "answer."
        )
    if method.pagination is not None:
        token = field_name(method.pagination.page_token_field)
        following = field_name(method.pagination.next_page_token_field)
        facts.append(
            f"Paginated: pass `{following}` back as `{token}`; an empty one ends the list."
        )
    facts.append(f"RPC `{service.full_name}/{method.name}`.")
    return _join(method.doc, "\n".join(facts))


def schema_description(api: Api) -> str:
    """The description of the schema itself."""
    return (
        f"Concord {api.version}: the GraphQL view of the proto contract (spec/proto), generated\n"
        "by concord-gen. Queries are the RPCs without side effects, mutations the other unary\n"
        "RPCs, subscriptions the server streams. Field names are the proto names in\n"
        "lowerCamelCase; errors carry the catalogue code in `errors[].extensions.code`."
    )


def _rule_text(http_status: int | None, grpc_code: str | None, retryable: bool) -> str:
    parts = []
    if http_status is not None:
        parts.append(f"HTTP {http_status}")
    if grpc_code:
        parts.append(f"gRPC {grpc_code}")
    if retryable:
        parts.append("retryable")
    return ", ".join(parts) + "." if parts else ""


def _join(*paragraphs: str) -> str:
    return "\n\n".join(p.strip() for p in paragraphs if p and p.strip())
