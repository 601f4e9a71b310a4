"""The contract's JSON mapping of well-known types: RFC 3339 timestamps, "1.5s" durations."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)
_DURATION = re.compile(r"^(-)?(\d+)(?:\.(\d{1,9}))?s$")


def encode_timestamp(value: datetime) -> str:
    """A tz-aware datetime as RFC 3339 in UTC, `Z` suffix, milli- or microsecond digits."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware datetimes (e.g. tzinfo=timezone.utc)")
    utc = value.astimezone(timezone.utc)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        fraction = f"{utc.microsecond:06d}"
        text += "." + (fraction[:3] if fraction.endswith("000") else fraction)
    return text + "Z"


def decode_timestamp(value: str) -> datetime:
    """An RFC 3339 string as a tz-aware UTC datetime (digits past microseconds are dropped)."""
    match = _TIMESTAMP.match(value)
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    micros = int((match[7] or "0").ljust(9, "0")[:6])
    parsed = datetime(year, month, day, hour, minute, second, micros, tzinfo=timezone.utc)
    if match[9]:
        offset = timedelta(hours=int(match[10]), minutes=int(match[11]))
        parsed -= offset if match[9] == "+" else -offset
    return parsed


def encode_duration(value: timedelta) -> str:
    """A timedelta as proto3 JSON seconds: `30s`, `0.250s`, `1.000001s`."""
    micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    sign = "-" if micros < 0 else ""
    seconds, fraction = divmod(abs(micros), 1_000_000)
    if not fraction:
        return f"{sign}{seconds}s"
    digits = f"{fraction:06d}"
    return f"{sign}{seconds}.{digits[:3] if digits.endswith('000') else digits}s"


def decode_duration(value: str) -> timedelta:
    """A proto3 JSON duration string as a timedelta (digits past microseconds are dropped)."""
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f"not a duration: {value!r}")
    micros = int(match[2]) * 1_000_000 + int((match[3] or "0").ljust(9, "0")[:6])
    return timedelta(microseconds=-micros if match[1] else micros)


def encode_bytes(value: bytes) -> str:
    """Bytes as standard base64."""
    return base64.b64encode(value).decode("ascii")


def decode_bytes(value: str) -> bytes:
    """Standard or URL-safe base64 as bytes."""
    return base64.b64decode(value.replace("-", "+").replace("_", "/") + "=" * (-len(value) % 4))


def opt(convert: Callable[[Any], R], value: Any) -> R | None:
    """`convert(value)`, or None when the value is absent."""
    return None if value is None else convert(value)


class JsonNull:
    """The type of `JSON_NULL`."""

    _instance: JsonNull | None = None

    def __new__(cls) -> JsonNull:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "JSON_NULL"


JSON_NULL = JsonNull()
"""An explicit JSON `null` for a `google.protobuf.Value` field (a cache value, event data, a
saga's input, a task's output): `None` leaves the field out, `JSON_NULL` sends `null`. A field
the server sent as `null` reads as `JSON_NULL`, one it left out as `None`."""


def value_in(data: Mapping[str, Any], key: str) -> Any:
    """A Value member: JSON_NULL when present as null, None when absent, else the value."""
    if key in data and data[key] is None:
        return JSON_NULL
    return data.get(key)


def value_out(value: Any) -> Any:
    """The JSON of a Value field: JSON_NULL becomes null."""
    return None if value is JSON_NULL else value
