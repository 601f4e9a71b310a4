"""Conversions between protobuf well-known types and plain Python values, for handlers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2

from concord_server.api import json_values

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp(dt: datetime | None) -> timestamp_pb2.Timestamp | None:
    """A Timestamp from a tz-aware datetime (None stays None)."""
    if dt is None:
        return None
    delta = dt - _EPOCH  # protobuf's FromDatetime, without its conversions
    return timestamp_pb2.Timestamp(
        seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1000
    )


def to_datetime(ts: timestamp_pb2.Timestamp) -> datetime:
    """A tz-aware UTC datetime from a Timestamp."""
    return ts.ToDatetime(tzinfo=UTC)


def duration(td: timedelta | None) -> duration_pb2.Duration | None:
    """A Duration from a timedelta (None stays None)."""
    if td is None:
        return None
    d = duration_pb2.Duration()
    d.FromTimedelta(td)
    return d


def to_timedelta(d: duration_pb2.Duration) -> timedelta:
    """A timedelta from a Duration."""
    return d.ToTimedelta()


def optional_timedelta(msg: Any, field: str) -> timedelta | None:
    """The timedelta of a Duration field, or None when it is unset or zero."""
    if not msg.HasField(field):
        return None
    td = to_timedelta(getattr(msg, field))
    return td if td > timedelta(0) else None


def to_python(value: struct_pb2.Value) -> Any:
    """A JSON-like Python value from a Value (numbers as floats, as `MessageToDict` gives)."""
    return json_values.value_out(value, integral=False)


def value(obj: Any) -> struct_pb2.Value:
    """A Value from a JSON-like Python value."""
    v = struct_pb2.Value()
    json_values.value_in(obj, v)
    return v


def struct(obj: dict[str, Any]) -> struct_pb2.Struct:
    """A Struct from a dict."""
    s = struct_pb2.Struct()
    s.update(obj)
    return s


def struct_to_dict(s: struct_pb2.Struct) -> dict[str, Any]:
    """A dict from a Struct (numbers as floats, as `MessageToDict` gives)."""
    return json_values.struct_out(s, integral=False)
