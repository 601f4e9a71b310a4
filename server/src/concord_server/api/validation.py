"""Checks a request against the contract's REQUIRED markers and `(concord.v1.rules)`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from google.api import field_behavior_pb2
from google.protobuf import duration_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from concord_server._gen.concord.v1 import options_pb2
from concord_server.errors import invalid_argument

_DURATION = "google.protobuf.Duration"
FieldDesc = Any  # reflective descriptor objects; their stubs do not line up


@dataclass(frozen=True)
class FieldCheck:
    """The compiled constraints of one field."""

    required: bool
    pattern: re.Pattern[str] | None
    min_length: int | None
    max_length: int | None
    minimum: int | None
    maximum: int | None
    min_items: int | None
    max_items: int | None
    min_duration: timedelta | None
    max_duration: timedelta | None


NO_RULES = FieldCheck(False, None, None, None, None, None, None, None, None, None)


def _parse_duration(text: str) -> timedelta | None:
    if not text:
        return None
    d = duration_pb2.Duration()
    d.FromJsonString(text)
    return d.ToTimedelta()


@cache
def field_check(field: FieldDesc) -> FieldCheck:
    """The constraints of a field, compiled once."""
    opts = field.GetOptions()
    behaviors = opts.Extensions[field_behavior_pb2.field_behavior]
    rules: Any = opts.Extensions[options_pb2.rules]

    def opt(name: str) -> int | None:
        return int(getattr(rules, name)) if rules.HasField(name) else None

    return FieldCheck(
        required=field_behavior_pb2.REQUIRED in behaviors,
        pattern=re.compile(rules.pattern) if rules.pattern else None,
        min_length=opt("min_length"),
        max_length=opt("max_length"),
        minimum=opt("minimum"),
        maximum=opt("maximum"),
        min_items=opt("min_items"),
        max_items=opt("max_items"),
        min_duration=_parse_duration(rules.min_duration),
        max_duration=_parse_duration(rules.max_duration),
    )


def validate(message: Message, path: str = "") -> None:
    """Raises INVALID_ARGUMENT naming the first field that breaks a rule."""
    for field, check in checked_fields(message.DESCRIPTOR):
        where = f"{path}.{field.name}" if path else field.name
        value = getattr(message, field.name)
        if field.is_repeated:
            _check_items(field, check, value, where)
            continue
        present = message.HasField(field.name) if field.has_presence else bool(value)
        if not present:
            if check.required:
                raise invalid_argument(f"{where} is required", where, reason="required")
            continue
        _check_value(field, check, value, where)


@cache
def checked_fields(desc: Any) -> tuple[tuple[FieldDesc, FieldCheck], ...]:
    """The fields of a message type that some check can refuse, in field order: those with
    a rule, enums, and messages of the contract (their own fields may have rules)."""
    return tuple(
        (field, field_check(field))
        for field in desc.fields
        if _may_refuse(field, field_check(field))
    )


def _may_refuse(field: FieldDesc, check: FieldCheck) -> bool:
    if check != NO_RULES or field.type == FieldDescriptor.TYPE_ENUM:
        return True
    if field.type != FieldDescriptor.TYPE_MESSAGE:
        return False
    message = field.message_type
    return not message.GetOptions().map_entry and not message.full_name.startswith(
        "google.protobuf."
    )


def _check_items(field: FieldDesc, check: FieldCheck, items: Any, where: str) -> None:
    count = len(items)
    if check.required and count == 0:
        raise invalid_argument(f"{where} is required", where, reason="required")
    if check.min_items is not None and count < check.min_items:
        raise invalid_argument(f"{where} needs at least {check.min_items} items", where)
    if check.max_items is not None and count > check.max_items:
        raise invalid_argument(f"{where} allows at most {check.max_items} items", where)
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return
    for i, item in enumerate(items):
        _check_value(field, check, item, f"{where}[{i}]")


def _check_value(field: FieldDesc, check: FieldCheck, value: Any, where: str) -> None:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if field.message_type.full_name == _DURATION:
            _check_duration(check, value.ToTimedelta(), where)
        elif not field.message_type.full_name.startswith("google.protobuf."):
            validate(value, where)
    elif field.type == FieldDescriptor.TYPE_STRING:
        _check_string(check, value, where)
    elif field.type == FieldDescriptor.TYPE_ENUM:
        if field.enum_type.values_by_number.get(value) is None:
            raise invalid_argument(f"{where} has no enum value {value}", where)
    elif isinstance(value, int) and not isinstance(value, bool):
        _check_number(check, value, where)


def _check_string(check: FieldCheck, value: str, where: str) -> None:
    if check.min_length is not None and len(value) < check.min_length:
        raise invalid_argument(f"{where} must have at least {check.min_length} characters", where)
    if check.max_length is not None and len(value) > check.max_length:
        raise invalid_argument(f"{where} must have at most {check.max_length} characters", where)
    # The whole value must match: `search` would let `$` match before a trailing newline.
    if check.pattern is not None and not check.pattern.fullmatch(value):
        raise invalid_argument(
            f"{where} must match {check.pattern.pattern}", where, pattern=check.pattern.pattern
        )


def _check_number(check: FieldCheck, value: int, where: str) -> None:
    if check.minimum is not None and value < check.minimum:
        raise invalid_argument(f"{where} must be at least {check.minimum}", where)
    if check.maximum is not None and value > check.maximum:
        raise invalid_argument(f"{where} must be at most {check.maximum}", where)


def _check_duration(check: FieldCheck, value: timedelta, where: str) -> None:
    if check.min_duration is not None and value < check.min_duration:
        raise invalid_argument(f"{where} must be at least {_fmt(check.min_duration)}", where)
    if check.max_duration is not None and value > check.max_duration:
        raise invalid_argument(f"{where} must be at most {_fmt(check.max_duration)}", where)


def _fmt(td: timedelta) -> str:
    d = duration_pb2.Duration()
    d.FromTimedelta(td)
    return str(d.ToJsonString())
