"""`google.protobuf.Value`, `Struct` and `ListValue` straight to and from JSON values: the same
results as json_format's `ParseDict` / `MessageToDict` (plus integral numbers as ints), without
their generic per-field machinery."""

from __future__ import annotations

import math
from typing import Any

from google.protobuf import struct_pb2

MAX_EXACT = 2**53  # integral doubles up to here come out as JSON integers


def value_out(message: struct_pb2.Value, integral: bool = True) -> Any:
    """A Value as a JSON value; NaN/Infinity raise as in json_format. With `integral`, integral
    numbers come out as ints (the contract's JSON); without, every number is a float, exactly as
    `MessageToDict` gives it."""
    kind = message.WhichOneof("kind")
    if kind == "number_value":
        number = message.number_value
        if not math.isfinite(number):
            raise ValueError(f"Fail to serialize {number} for Value.number_value")
        exact = integral and number.is_integer() and abs(number) <= MAX_EXACT
        return int(number) if exact else number
    if kind == "string_value":
        return message.string_value
    if kind == "bool_value":
        return message.bool_value
    if kind == "struct_value":
        return struct_out(message.struct_value, integral)
    if kind == "list_value":
        return list_out(message.list_value, integral)
    return None  # null_value, or nothing set


def struct_out(message: struct_pb2.Struct, integral: bool = True) -> dict[str, Any]:
    """A Struct as a JSON object."""
    return {key: value_out(value, integral) for key, value in message.fields.items()}


def list_out(message: struct_pb2.ListValue, integral: bool = True) -> list[Any]:
    """A ListValue as a JSON array."""
    return [value_out(value, integral) for value in message.values]


def value_in(value: Any, message: struct_pb2.Value) -> None:
    """Fills a Value from a JSON value (TypeError for anything JSON cannot hold)."""
    _value_within(value, message, 1, math.inf, finite=False)


def struct_in(value: dict[str, Any], message: struct_pb2.Struct) -> None:
    """Fills a Struct from a JSON object (set even when the object is empty)."""
    _struct_within(value, message, 1, math.inf, finite=False)


def list_in(value: list[Any], message: struct_pb2.ListValue) -> None:
    """Fills a ListValue from a JSON array (set even when the array is empty)."""
    _list_within(value, message, 1, math.inf, finite=False)


def filled_within(value: Any, message: Any, limit: int) -> bool:
    """Fills a Value, Struct or ListValue from a JSON value in one pass when it nests at most
    `limit` levels and holds only finite numbers; False (the message partly filled) otherwise.
    TypeError as `value_in` for what JSON cannot hold."""
    if isinstance(message, struct_pb2.Value):
        return _value_within(value, message, 1, limit, finite=True)
    if isinstance(message, struct_pb2.Struct):
        return _struct_within(value, message, 1, limit, finite=True)
    return _list_within(value, message, 1, limit, finite=True)


# Depth and finiteness are checked while filling: False stops at the first value that breaks one.


def _value_within(
    value: Any, message: struct_pb2.Value, depth: int, limit: float, finite: bool
) -> bool:
    if isinstance(value, str):
        message.string_value = value
    elif isinstance(value, dict):
        return depth <= limit and _struct_within(value, message.struct_value, depth, limit, finite)
    elif isinstance(value, list):
        return depth <= limit and _list_within(value, message.list_value, depth, limit, finite)
    elif isinstance(value, bool):
        message.bool_value = value
    elif isinstance(value, int):
        message.number_value = value
    elif isinstance(value, float):
        if finite and not math.isfinite(value):
            return False
        message.number_value = value
    elif value is None:
        message.null_value = struct_pb2.NULL_VALUE
    else:
        raise TypeError(f"a JSON value cannot be a {type(value).__name__}")
    return True


def _struct_within(
    value: dict[str, Any], message: struct_pb2.Struct, depth: int, limit: float, finite: bool
) -> bool:
    message.Clear()
    fields, inner = message.fields, depth + 1
    for key, item in value.items():
        if not _value_within(item, fields[key], inner, limit, finite):
            return False
    return True


def _list_within(
    value: list[Any], message: struct_pb2.ListValue, depth: int, limit: float, finite: bool
) -> bool:
    message.ClearField("values")
    add, inner = message.values.add, depth + 1
    for item in value:  # noqa: SIM110 (a loop: no generator on the hot path)
        if not _value_within(item, add(), inner, limit, finite):
            return False
    return True
