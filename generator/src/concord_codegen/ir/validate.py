"""Check the IR against contract.md; every problem is collected as a diagnostic."""

from __future__ import annotations

import re

from concord_codegen.diagnostics import Diagnostics, Location
from concord_codegen.ir.errors import ERROR_ENUM
from concord_codegen.ir.model import Api, Enum, Field, FieldRules, Message, TypeKind
from concord_codegen.ir.validate_methods import check_services

GRPC_CODES = frozenset(
    [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ]
)
SUPPORTED_WELL_KNOWN = frozenset(
    f"google.protobuf.{name}"
    for name in [
        "Timestamp",
        "Duration",
        "Value",
        "Struct",
        "ListValue",
        "Empty",
        "Any",
        "FieldMask",
        "StringValue",
        "BytesValue",
        "BoolValue",
        "Int32Value",
        "Int64Value",
        "UInt32Value",
        "UInt64Value",
        "FloatValue",
        "DoubleValue",
    ]
)
ERROR_BODY_FIELDS = ("code", "message", "details", "request_id")
DURATION = re.compile(r"^-?[0-9]+(\.[0-9]{1,9})?s$")
STRING_TYPES = frozenset({"string"})
NUMERIC_TYPES = frozenset(
    [
        "double",
        "float",
        "int32",
        "int64",
        "uint32",
        "uint64",
        "sint32",
        "sint64",
        "fixed32",
        "fixed64",
        "sfixed32",
        "sfixed64",
    ]
)


def validate(api: Api) -> Diagnostics:
    """Every diagnostic about `api`: catalogue, messages, enums and services."""
    found = Diagnostics()
    _check_catalogue(api, found)
    _check_schema_names(api, found)
    for message in api.messages_by_name.values():
        _check_message(api, message, found)
    for enum in api.enums_by_name.values():
        _check_enum(enum, found)
    check_services(api, found)
    return found


def _check_catalogue(api: Api, found: Diagnostics) -> None:
    """The `ErrorCode` enum exists, every code has a sound rule, and `Error` has its fields."""
    first = Location(api.files[0]) if api.files else Location()
    if not any(e.name == ERROR_ENUM for e in api.enums):
        found.error(first, f"no top-level enum '{ERROR_ENUM}': the error catalogue is missing")
    for code in api.errors:
        if code.http_status is None or code.grpc_code is None:
            found.error(code.location, f"error code {code.name} has no (concord.v1.error_rule)")
            continue
        if not 400 <= code.http_status <= 599:
            found.error(code.location, f"{code.name}: http_status {code.http_status} not 4xx/5xx")
        if code.grpc_code not in GRPC_CODES:
            found.error(code.location, f"{code.name}: unknown gRPC code '{code.grpc_code}'")
    error_message = api.message(api.error_message) if api.error_message else None
    if error_message is None:
        found.error(first, f"no top-level message 'Error' in package {api.package}")
        return
    for name in ERROR_BODY_FIELDS:
        if error_message.get_field(name) is None:
            found.error(error_message.location, f"message Error has no field '{name}'")


def _check_schema_names(api: Api, found: Diagnostics) -> None:
    """Flattened schema names (`Lock.Holder` -> `LockHolder`) must not collide."""
    seen: dict[str, str] = {}
    names = [*api.messages_by_name, *api.enums_by_name]
    for full_name in names:
        flat = api.schema_name(full_name)
        if flat in seen:
            found.error(Location(), f"{full_name} and {seen[flat]} both map to schema {flat}")
        seen[flat] = full_name


def _check_message(api: Api, message: Message, found: Diagnostics) -> None:
    """Documentation, type references and rules of one message's fields."""
    if not message.doc:
        found.warning(message.location, f"message {message.name} is undocumented")
    for field in message.fields:
        where = f"{message.name}.{field.name}"
        if not field.doc:
            found.warning(field.location, f"field {where} is undocumented")
        _check_type(api, field, where, found)
        _check_rules(field, where, found)
        if field.required and field.output_only:
            found.error(field.location, f"field {where} is both REQUIRED and OUTPUT_ONLY")


def _check_type(api: Api, field: Field, where: str, found: Diagnostics) -> None:
    """Message and well-known references resolve to something the generator can map."""
    types = [field.type, *([field.map.key] if field.map else [])]
    for ref in types:
        if ref.kind is TypeKind.MESSAGE and api.message(ref.name) is None:
            found.error(field.location, f"field {where}: type {ref.name} is outside the contract")
        if ref.kind is TypeKind.WELL_KNOWN and ref.name not in SUPPORTED_WELL_KNOWN:
            found.error(field.location, f"field {where}: unsupported well-known type {ref.name}")


def _check_rules(field: Field, where: str, found: Diagnostics) -> None:
    """`(concord.v1.rules)` only uses rules that fit the field's type, with sane bounds."""
    rules, kind, name = field.rules, field.type.kind, field.type.name
    is_string = kind is TypeKind.SCALAR and name in STRING_TYPES
    is_number = kind is TypeKind.SCALAR and name in NUMERIC_TYPES
    is_duration = name == "google.protobuf.Duration"
    checks = [
        (rules.pattern is not None or rules.min_length is not None, is_string, "string rules"),
        (rules.max_length is not None, is_string, "max_length"),
        (rules.minimum is not None or rules.maximum is not None, is_number, "numeric bounds"),
        (rules.min_items is not None, field.repeated, "min_items"),
        (rules.max_items is not None, field.repeated or field.map is not None, "max_items"),
        (
            rules.min_duration is not None or rules.max_duration is not None,
            is_duration,
            "durations",
        ),
    ]
    for used, fits, label in checks:
        if used and not fits:
            found.error(field.location, f"field {where}: {label} do not apply to its type")
    _check_bounds(field, rules, where, found)


def _check_bounds(field: Field, rules: FieldRules, where: str, found: Diagnostics) -> None:
    """Lower bounds not above upper bounds; pattern and durations well-formed."""
    pairs = [
        (rules.min_length, rules.max_length, "length"),
        (rules.minimum, rules.maximum, "value"),
        (rules.min_items, rules.max_items, "items"),
    ]
    for low, high, label in pairs:
        if low is not None and high is not None and low > high:
            found.error(field.location, f"field {where}: minimum {label} above maximum")
    for duration in (rules.min_duration, rules.max_duration):
        if duration is not None and not DURATION.match(duration):
            found.error(field.location, f"field {where}: '{duration}' is not a JSON duration")
    if rules.pattern is not None:
        try:
            re.compile(rules.pattern)
        except re.error as exc:
            found.error(field.location, f"field {where}: bad pattern: {exc}")


def _check_enum(enum: Enum, found: Diagnostics) -> None:
    """Documentation and the type prefix of every value."""
    if not enum.doc:
        found.warning(enum.location, f"enum {enum.name} is undocumented")
    for value in enum.values:
        if value.wire_name == value.name:
            found.warning(value.location, f"enum value {value.name} lacks the type prefix")
        if not value.doc and not value.unspecified:
            found.warning(value.location, f"enum value {value.name} is undocumented")
