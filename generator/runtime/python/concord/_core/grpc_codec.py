"""The contract's JSON of a request or an answer <-> protobuf messages (the gRPC transport).

The SDK's models speak the contract's JSON mapping, which differs from protobuf's own in two
ways bridged here along the message descriptors: enum values drop their type prefix
(`ACQUIRED` for `LOCK_EVENT_TYPE_ACQUIRED`) and 64-bit integers are numbers. An answer reads as
the REST API writes it: every field (defaults too), unset message fields and unknown or zero
enum values left out.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

# Descriptors: protobuf's stubs type them as a union of its two implementations.
Descriptor = Any
EnumDescriptor = Any
FieldDesc = Any
M = TypeVar("M", bound=Message)


def enum_prefix(enum: EnumDescriptor) -> str:
    """The prefix of an enum's value names: `ExpectedStreamState` -> `EXPECTED_STREAM_STATE_`."""
    out = [("_" + c if c.isupper() and i else c) for i, c in enumerate(enum.name)]
    return "".join(out).upper() + "_"


def to_message(data: Mapping[str, Any], message: M) -> M:
    """`message` filled from the contract JSON of a request; ValueError when it cannot be."""
    try:
        json_format.ParseDict(_wire(data, message.DESCRIPTOR), message)
    except json_format.ParseError as exc:
        raise ValueError(str(exc)) from exc
    return message


def to_contract(message: Message) -> dict[str, Any]:
    """The contract JSON of a message, as the REST API writes it."""
    out: dict[str, Any] = {}
    desc: Descriptor = message.DESCRIPTOR
    for field in desc.fields:
        repeated = _is_repeated(field)
        if field.has_presence and not repeated and not message.HasField(field.name):
            continue
        raw = getattr(message, field.name)
        if _is_map(field):
            value_field = field.message_type.fields_by_name["value"]
            out[field.name] = {k: _out(value_field, v) for k, v in raw.items()}
        elif repeated:
            out[field.name] = [_out(field, v) for v in raw]
        else:
            value = _out(field, raw)
            if value is not None or field.type != FieldDescriptor.TYPE_ENUM:
                out[field.name] = value
    return out


def _out(field: FieldDesc, raw: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if _is_well_known(field.message_type):
            return _integral(json_format.MessageToDict(raw))
        return to_contract(raw)
    if field.type == FieldDescriptor.TYPE_ENUM:
        value = field.enum_type.values_by_number.get(raw)
        if value is None or raw == 0:
            return None
        return value.name.removeprefix(enum_prefix(field.enum_type))
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(raw).decode("ascii")
    return raw


def _wire(value: Any, desc: Descriptor) -> Any:
    """The protobuf JSON of one message object (enum names get their prefix back)."""
    if not isinstance(value, Mapping) or _is_well_known(desc):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        field = desc.fields_by_name.get(key)
        out[key] = item if field is None else _wire_field(item, field)
    return out


def _wire_field(value: Any, field: FieldDesc) -> Any:
    if _is_map(field) and isinstance(value, Mapping):
        value_field = field.message_type.fields_by_name["value"]
        return {k: _wire_value(v, value_field) for k, v in value.items()}
    if _is_repeated(field) and isinstance(value, list):
        return [_wire_value(v, field) for v in value]
    return _wire_value(value, field)


def _wire_value(value: Any, field: FieldDesc) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return _wire(value, field.message_type)
    if field.type == FieldDescriptor.TYPE_ENUM and isinstance(value, str):
        full = enum_prefix(field.enum_type) + value
        return full if full in field.enum_type.values_by_name else value
    return value


def _is_map(field: FieldDesc) -> bool:
    message = field.message_type
    return message is not None and bool(message.GetOptions().map_entry)


def _is_repeated(field: FieldDesc) -> bool:
    return bool(field.is_repeated)


def _is_well_known(desc: Descriptor) -> bool:
    """Timestamp, Duration, Struct, Value ...: the same JSON in the contract and protobuf."""
    return bool(desc.full_name.startswith("google.protobuf."))


def _integral(value: Any) -> Any:
    """JSON with integral floats as ints (protobuf's Value keeps every number as a double)."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    if isinstance(value, list):
        return [_integral(v) for v in value]
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    return value
