"""The IR: typed, frozen, language-neutral model of the contract that every target reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from concord_codegen.diagnostics import Location

WKT_PREFIX = "google.protobuf."


class TypeKind(StrEnum):
    """What a field's type is."""

    SCALAR = "scalar"
    ENUM = "enum"
    MESSAGE = "message"
    WELL_KNOWN = "well_known"


@dataclass(frozen=True)
class TypeRef:
    """A type: a proto scalar name (`int64`), or the full name of an enum, message or WKT."""

    kind: TypeKind
    name: str

    @property
    def short_name(self) -> str:
        """The last component of the name (`Timestamp` for `google.protobuf.Timestamp`)."""
        return self.name.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class MapType:
    """Key and value types of a map field."""

    key: TypeRef
    value: TypeRef


@dataclass(frozen=True)
class FieldRules:
    """`(concord.v1.rules)` of a field; None means the rule is not set."""

    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    min_duration: str | None = None
    max_duration: str | None = None

    def is_empty(self) -> bool:
        """True when no rule is set."""
        return all(value is None for value in vars(self).values())


@dataclass(frozen=True)
class Field:
    """A message field. For maps `map` is set, `type` is the value type and `repeated` is False."""

    name: str
    number: int
    type: TypeRef
    doc: str = ""
    repeated: bool = False
    map: MapType | None = None
    optional: bool = False
    oneof: str | None = None
    required: bool = False
    output_only: bool = False
    behaviors: tuple[str, ...] = ()
    rules: FieldRules = field(default_factory=FieldRules)
    json_name: str = ""
    location: Location = field(default_factory=Location, compare=False)

    @property
    def has_presence(self) -> bool:
        """True when "absent" differs from the zero value (contract.md, Presence).

        proto3 `optional` scalars, oneof members and singular message fields (well-known types
        included: an absent Duration is not `0s`, an absent Value is not JSON `null`) have it;
        plain scalars, enums, repeated and map fields do not.
        """
        if self.repeated or self.map is not None:
            return False
        if self.optional or self.oneof is not None:
            return True
        return self.type.kind in (TypeKind.MESSAGE, TypeKind.WELL_KNOWN)

    def __post_init__(self) -> None:
        # contract.md: JSON names are the proto names (snake_case), never lowerCamelCase.
        if not self.json_name:
            object.__setattr__(self, "json_name", self.name)


@dataclass(frozen=True)
class Oneof:
    """A real (not proto3-optional synthetic) oneof and its member field names."""

    name: str
    fields: tuple[str, ...]
    doc: str = ""


@dataclass(frozen=True)
class EnumValue:
    """An enum value: proto name, wire name (type prefix stripped), number."""

    name: str
    wire_name: str
    number: int
    doc: str = ""
    unspecified: bool = False
    location: Location = field(default_factory=Location, compare=False)


@dataclass(frozen=True)
class Enum:
    """An enum; `wire_values` leaves out the UNSPECIFIED value."""

    name: str
    full_name: str
    values: tuple[EnumValue, ...]
    doc: str = ""
    location: Location = field(default_factory=Location, compare=False)

    @property
    def wire_values(self) -> tuple[EnumValue, ...]:
        """The values that appear on the wire (never UNSPECIFIED)."""
        return tuple(v for v in self.values if not v.unspecified)


@dataclass(frozen=True)
class Message:
    """A message with its fields, oneofs, nested messages and nested enums."""

    name: str
    full_name: str
    fields: tuple[Field, ...]
    doc: str = ""
    oneofs: tuple[Oneof, ...] = ()
    nested: tuple[Message, ...] = ()
    enums: tuple[Enum, ...] = ()
    location: Location = field(default_factory=Location, compare=False)

    def get_field(self, name: str) -> Field | None:
        """The field called `name`, or None."""
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class QueryParam:
    """A request field sent in the query string; `name` is dotted for flattened sub-fields."""

    name: str
    field: Field


@dataclass(frozen=True)
class HttpBinding:
    """REST mapping of an RPC. `body` is "*", a field name, or None (no body).

    `body_fields` are the top-level request fields sent in the body; the rest go in the path
    (`path_params`, possibly dotted) or the query string (`query_params`).
    """

    verb: str
    path: str
    template: str
    path_params: tuple[str, ...] = ()
    body: str | None = None
    body_fields: tuple[str, ...] = ()
    query_params: tuple[QueryParam, ...] = ()
    response_body: str | None = None


@dataclass(frozen=True)
class Pagination:
    """AIP-158 pagination fields of a list RPC."""

    page_size_field: str
    page_token_field: str
    next_page_token_field: str
    items_field: str


@dataclass(frozen=True)
class Auth:
    """`(concord.v1.auth)` of an RPC."""

    public: bool = False
    action: str = ""
    resource: str = ""


class Idempotency(StrEnum):
    """`idempotency_level` of an RPC."""

    UNKNOWN = "IDEMPOTENCY_UNKNOWN"
    NO_SIDE_EFFECTS = "NO_SIDE_EFFECTS"
    IDEMPOTENT = "IDEMPOTENT"


@dataclass(frozen=True)
class Method:
    """An RPC: request/response full names, streaming, REST binding, auth, pagination."""

    name: str
    input: str
    output: str
    doc: str = ""
    client_streaming: bool = False
    server_streaming: bool = False
    http: HttpBinding | None = None
    idempotency: Idempotency = Idempotency.UNKNOWN
    auth: Auth | None = None
    pagination: Pagination | None = None
    sdk_name: str = ""
    location: Location = field(default_factory=Location, compare=False)

    @property
    def is_public(self) -> bool:
        """True when the RPC needs no credential."""
        return self.auth is not None and self.auth.public

    @property
    def retry_safe(self) -> bool:
        """True when the RPC may be retried without an idempotency key."""
        return self.idempotency is not Idempotency.UNKNOWN


@dataclass(frozen=True)
class Service:
    """A gRPC service and its RPCs."""

    name: str
    full_name: str
    methods: tuple[Method, ...]
    doc: str = ""
    sdk_resource: str = ""
    location: Location = field(default_factory=Location, compare=False)


@dataclass(frozen=True)
class ErrorCode:
    """One catalogue entry: wire code and its HTTP/gRPC mapping (None when the rule is missing)."""

    code: str
    name: str
    number: int
    http_status: int | None = None
    grpc_code: str | None = None
    retryable: bool = False
    doc: str = ""
    location: Location = field(default_factory=Location, compare=False)


@dataclass(frozen=True)
class Api:
    """The whole contract."""

    package: str
    version: str
    services: tuple[Service, ...]
    messages: tuple[Message, ...]
    enums: tuple[Enum, ...]
    errors: tuple[ErrorCode, ...]
    error_message: str | None = None
    files: tuple[str, ...] = ()

    @cached_property
    def messages_by_name(self) -> dict[str, Message]:
        """Every message, nested ones included, by full name."""
        return {m.full_name: m for m in _walk_messages(self.messages)}

    @cached_property
    def enums_by_name(self) -> dict[str, Enum]:
        """Every enum, nested ones included, by full name."""
        nested = [e for m in _walk_messages(self.messages) for e in m.enums]
        return {e.full_name: e for e in [*self.enums, *nested]}

    def message(self, full_name: str) -> Message | None:
        """The message called `full_name`, or None."""
        return self.messages_by_name.get(full_name)

    def local_name(self, full_name: str) -> str:
        """`concord.v1.Lock.Holder` -> `Lock.Holder` (the name inside the package)."""
        prefix = self.package + "."
        return full_name[len(prefix) :] if full_name.startswith(prefix) else full_name

    def schema_name(self, full_name: str) -> str:
        """Flat name of a message or enum for schemas and SDKs: `Lock.Holder` -> `LockHolder`."""
        return self.local_name(full_name).replace(".", "")


def _walk_messages(messages: tuple[Message, ...]) -> list[Message]:
    """Messages in declaration order, each followed by its nested messages."""
    found: list[Message] = []
    for message in messages:
        found.append(message)
        found.extend(_walk_messages(message.nested))
    return found
