"""The contract's JSON mapping (docs/contract.md) between protobuf messages and JSON values."""

from __future__ import annotations

import base64
import functools
import keyword
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from concord_server import json_text
from concord_server.api import json_values
from concord_server.api.text_rules import (
    MAX_DEPTH,
    MAX_VALUE_DEPTH,
    check_document,
    check_value_depth,
)
from concord_server.api.time_text import (
    duration_from_text,
    duration_text,
    timestamp_from_text,
    timestamp_text,
)
from concord_server.errors import invalid_argument

# Descriptors are reflective objects (C++/upb or Python); their stubs do not line up.
FieldDesc = Any
EnumDesc = Any

_WKT_JSON = {
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.Value",
    "google.protobuf.Struct",
    "google.protobuf.ListValue",
}
_WKT_OUT: dict[str, Callable[[Any], Any]] = {
    "google.protobuf.Timestamp": timestamp_text,
    "google.protobuf.Duration": duration_text,
    "google.protobuf.Value": json_values.value_out,
    "google.protobuf.Struct": json_values.struct_out,
    "google.protobuf.ListValue": json_values.list_out,
}
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


_INTEGER_TEXT = re.compile(r"-?[0-9]{1,20}")
_NUMBER_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def parse_json(
    raw: bytes | str, where: str = "body", *, path: str | None = None, text: bool = True
) -> Any:
    """Strict JSON text: no NaN/Infinity, UTF-8 only, INVALID_ARGUMENT when it is not JSON, too
    deep, or (when `text`) holding NUL or lone surrogates (`check_document` names the place)."""
    try:
        value = json_text.loads(raw)
    except RecursionError as exc:
        raise invalid_argument(
            f"{where} nests deeper than {MAX_DEPTH} levels", where, reason="too_deep"
        ) from exc
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise invalid_argument(f"{where} is not valid JSON: {_short(exc)}", where) from exc
    check_document(value, raw, where, path=path, text=text)
    return value


@functools.cache
def enum_prefix(enum: EnumDesc) -> str:
    """The prefix stripped from wire names: `ExpectedStreamState` -> `EXPECTED_STREAM_STATE_`."""
    out = [("_" + c if c.isupper() and i else c) for i, c in enumerate(enum.name)]
    return "".join(out).upper() + "_"


def enum_wire_name(enum: EnumDesc, number: int) -> str | None:
    """The wire name of an enum number, or None for 0 / unknown numbers."""
    value = enum.values_by_number.get(number)
    if value is None or number == 0:
        return None
    return str(value.name).removeprefix(enum_prefix(enum))


def is_map(field: FieldDesc) -> bool:
    """Whether a field is a map field."""
    msg = field.message_type
    return msg is not None and msg.GetOptions().map_entry


def _is_repeated(field: FieldDesc) -> bool:
    return bool(field.is_repeated)


Convert = Callable[[Any], Any] | None  # None: the value is its own JSON
_SCALAR, _LIST, _MAP = range(3)


@dataclass(frozen=True)
class _FieldOut:
    """How one field is written: its name, whether presence decides, its shape and converter."""

    name: str
    has_presence: bool
    shape: int
    convert: Convert
    is_enum: bool


def to_json(message: Message) -> dict[str, Any]:
    """A message as a JSON object: proto field names, int64 as numbers, stripped enum names."""
    return _writer(message.DESCRIPTOR)(message)


Writer = Callable[[Message], dict[str, Any]]


@functools.cache
def _writer(desc: Any) -> Writer:
    """The JSON writer of a message type, built once per type from its `_plan_out`: one
    statement per field, so a message is written without a loop that looks every field's
    shape, presence and converter up again."""
    scope: dict[str, Any] = {}
    lines = ["def write(m):", "    out = {}"]
    for i, field in enumerate(_plan_out(desc)):
        lines += _field_lines(field, f"c{i}")
        scope[f"c{i}"] = field.convert
    lines.append("    return out")
    exec("\n".join(lines), scope)  # the source holds only field names and converter slots
    writer: Writer = scope["write"]
    return writer


def _field_lines(field: _FieldOut, convert: str) -> list[str]:
    """The statements that write one field (`convert` names its converter in the scope)."""
    name = field.name
    get = f"getattr(m, {name!r})" if keyword.iskeyword(name) else f"m.{name}"
    if field.shape == _MAP:
        value = (
            f"{{k: {convert}(v) for k, v in {get}.items()}}"
            if field.convert
            else f"dict({get}.items())"
        )
    elif field.shape == _LIST:
        value = f"[{convert}(v) for v in {get}]" if field.convert else f"list({get})"
    else:
        value = f"{convert}({get})" if field.convert else get
    body = [f"out[{name!r}] = {value}"]
    if field.shape == _SCALAR and field.is_enum:  # an unknown or zero enum number is left out
        body = [f"v = {value}", "if v is not None:", f"    out[{name!r}] = v"]
    if not field.has_presence:
        return ["    " + line for line in body]
    return [f"    if m.HasField({name!r}):", *("        " + line for line in body)]


@functools.cache
def _plan_out(desc: Any) -> tuple[_FieldOut, ...]:
    """The fields of a message type in order, each with its writer (worked out once per type)."""
    plan = []
    for field in desc.fields:
        repeated = _is_repeated(field)
        if is_map(field):
            shape, writer = _MAP, field.message_type.fields_by_name["value"]
        else:
            shape, writer = (_LIST if repeated else _SCALAR), field
        is_enum = writer.type == FieldDescriptor.TYPE_ENUM
        has_presence = bool(field.has_presence) and not repeated
        plan.append(_FieldOut(field.name, has_presence, shape, _converter(writer), is_enum))
    return tuple(plan)


def _converter(field: FieldDesc) -> Convert:
    """The function that writes one value of a (non-map) field, None when none is needed."""
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        full_name = field.message_type.full_name
        writer = _WKT_OUT.get(full_name)
        return writer if writer is not None else to_json
    if field.type == FieldDescriptor.TYPE_ENUM:
        return functools.partial(enum_wire_name, field.enum_type)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return _base64
    return None


def _base64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def integral_numbers(value: Any) -> Any:
    """JSON with integral floats as ints (protobuf's Value stores every number as a double)."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    if isinstance(value, list):
        return [integral_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: integral_numbers(v) for k, v in value.items()}
    return value


M = TypeVar("M", bound=Message)


@dataclass(frozen=True)
class _FieldIn:
    """How one field is read: its shape, the field its values are read as (a map's value
    field), whether JSON null is a value, and the real oneof it belongs to."""

    field: FieldDesc
    shape: int
    item: FieldDesc
    is_message: bool
    nullable: bool
    oneof: str | None
    plain_text: bool  # a string field, or a map of strings to strings: a str is taken as is


def from_json(data: Any, message: M, path: str = "") -> M:
    """Fills a message from a JSON object, rejecting unknown fields and wrong types."""
    if not isinstance(data, dict):
        raise invalid_argument(f"{path or 'body'} must be a JSON object", path or "body")
    plan = _plan_in(message.DESCRIPTOR)
    oneofs: dict[str, str] = {}
    for key, value in data.items():
        spec = plan.get(key)
        where = f"{path}.{key}" if path else key
        if spec is None:
            raise invalid_argument(f"unknown field {where!r}", where)
        if value is None and not spec.nullable:
            continue
        if spec.oneof is not None:
            other = oneofs.setdefault(spec.oneof, key)
            if other != key:
                raise invalid_argument(
                    f"{where} and {other!r} are members of oneof {spec.oneof!r}; give one", where
                )
        _assign(message, spec, value, where)
    return message


def set_field(message: M, name: str, value: Any, where: str) -> M:
    """Sets one known field from its JSON value, as `from_json` sets it."""
    _assign(message, _plan_in(message.DESCRIPTOR)[name], value, where)
    return message


@functools.cache
def _plan_in(desc: Any) -> dict[str, _FieldIn]:
    """The fields of a message type by JSON name, each with how it is read (once per type)."""
    plan = {}
    for field in desc.fields:
        shape, item = _SCALAR, field
        if is_map(field):
            shape, item = _MAP, field.message_type.fields_by_name["value"]
        elif _is_repeated(field):
            shape = _LIST
        group = field.containing_oneof
        oneof = group.name if group is not None and not _is_synthetic(group) else None
        is_string = item.type == FieldDescriptor.TYPE_STRING
        if shape == _MAP:
            key_field = field.message_type.fields_by_name["key"]
            is_string = is_string and key_field.type == FieldDescriptor.TYPE_STRING
        is_message = item.type == FieldDescriptor.TYPE_MESSAGE
        nullable = _is_json_value(field)
        plan[field.name] = _FieldIn(field, shape, item, is_message, nullable, oneof, is_string)
    return plan


def _is_synthetic(oneof: Any) -> bool:
    """Whether a oneof is the hidden one of a proto3 `optional` field."""
    fields = list(oneof.fields)
    return len(fields) == 1 and fields[0].has_presence and oneof.name == "_" + fields[0].name


def _is_json_value(field: FieldDesc) -> bool:
    msg = field.message_type
    return msg is not None and msg.full_name == "google.protobuf.Value" and not field.is_repeated


def _assign(message: Message, spec: _FieldIn, value: Any, where: str) -> None:
    """Sets one field from its JSON value; messages are filled where they sit (no copies)."""
    field, item = spec.field, spec.item
    if spec.shape == _MAP:
        if not isinstance(value, dict):
            raise invalid_argument(f"{where} must be a JSON object", where)
        target = getattr(message, field.name)
        if spec.plain_text and all(isinstance(v, str) for v in value.values()):
            target.update(value)
            return
        for k, v in value.items():
            if spec.is_message:
                _message_into(item, v, f"{where}.{k}", target[k])
            else:
                target[k] = _scalar_in(item, v, f"{where}.{k}")
    elif spec.shape == _LIST:
        if not isinstance(value, list):
            raise invalid_argument(f"{where} must be a JSON array", where)
        target = getattr(message, field.name)
        if spec.is_message:
            for i, v in enumerate(value):
                _message_into(field, v, f"{where}[{i}]", target.add())
        else:
            target.extend([_scalar_in(field, v, f"{where}[{i}]") for i, v in enumerate(value)])
    elif spec.is_message:
        target = getattr(message, field.name)
        target.SetInParent()
        _message_into(field, value, where, target)
    elif spec.plain_text and isinstance(value, str):
        setattr(message, field.name, value)
    else:
        setattr(message, field.name, _scalar_in(field, value, where))


def _scalar_in(field: FieldDesc, value: Any, where: str) -> Any:
    kind = field.type
    if kind == FieldDescriptor.TYPE_ENUM:
        return _enum_in(field.enum_type, value, where)
    if kind == FieldDescriptor.TYPE_STRING:
        if not isinstance(value, str):
            raise invalid_argument(f"{where} must be a string", where)
        return value
    if kind == FieldDescriptor.TYPE_BOOL:
        if not isinstance(value, bool):
            raise invalid_argument(f"{where} must be true or false", where)
        return value
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise invalid_argument(f"{where} must be a finite number", where)
        return float(value)
    if kind == FieldDescriptor.TYPE_BYTES:
        return _bytes_in(value, where)
    return _int_in(kind, value, where)


def _int_in(kind: int, value: Any, where: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_argument(f"{where} must be an integer", where)
    low, high = _INT_RANGES[kind]
    if not low <= value <= high:
        raise invalid_argument(f"{where} is out of range [{low}, {high}]", where)
    return value


def _bytes_in(value: Any, where: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (TypeError, ValueError) as exc:
        raise invalid_argument(f"{where} must be base64", where) from exc


def _enum_in(enum: EnumDesc, value: Any, where: str) -> int:
    prefix = enum_prefix(enum)
    allowed = [v.name.removeprefix(prefix) for v in enum.values if v.number != 0]
    if isinstance(value, str) and value in allowed:
        return int(enum.values_by_name[prefix + value].number)
    raise invalid_argument(f"{where} must be one of {allowed}", where, allowed=allowed)


def _message_into(field: FieldDesc, value: Any, where: str, target: Message) -> None:
    """Fills `target`, a message of the field's type, from its JSON value."""
    full_name = field.message_type.full_name
    if full_name not in _WKT_JSON:
        from_json(value, target, where)
        return
    if full_name in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
        if not isinstance(value, str):
            raise invalid_argument(f"{where} must be a string", where)
        if full_name == "google.protobuf.Duration":
            target.CopyFrom(duration_from_text(value, where))
        else:
            target.CopyFrom(timestamp_from_text(value, where))
        return
    if full_name == "google.protobuf.Struct" and not isinstance(value, dict):
        raise invalid_argument(f"{where} must be a JSON object", where)
    if full_name == "google.protobuf.ListValue" and not isinstance(value, list):
        raise invalid_argument(f"{where} must be a JSON array", where)
    try:  # JSON text gives only values these types take
        filled = json_values.filled_within(value, target, MAX_VALUE_DEPTH)
    except (ValueError, TypeError, OverflowError) as exc:
        raise invalid_argument(f"{where} is not a JSON value this field can hold", where) from exc
    if not filled:  # names the place that nests too deeply, else the number
        check_value_depth(value, where)
        raise invalid_argument(f"{where} must not hold NaN or Infinity", where)


def _short(exc: Exception) -> str:
    return str(exc).split("\n", 1)[0][:200]


def parse_text(field: FieldDesc, text: str, where: str) -> Any:
    """A query or path parameter's text converted to the field's JSON value."""
    kind = field.type
    if kind == FieldDescriptor.TYPE_BOOL:
        if text not in ("true", "false"):
            raise invalid_argument(f"{where} must be true or false", where)
        return text == "true"
    if kind in _INT_RANGES:
        if not _INTEGER_TEXT.fullmatch(text):
            raise invalid_argument(f"{where} must be an integer", where)
        return int(text)
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        if not _NUMBER_TEXT.fullmatch(text):
            raise invalid_argument(f"{where} must be a number", where)
        return float(text)
    return text
