"""Timestamps and durations of the contract's JSON, read exactly (nanoseconds), so that the
same instant written two ways (`…:00Z`, `…:00.000+00:00`) compares equal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_TIMESTAMP = re.compile(
    r"^(?P<base>\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d{1,9}))?"
    r"(?P<zone>[Zz]|[+-]\d{2}:\d{2})$"
)
_DURATION = re.compile(r"^(?P<sign>-)?(?P<whole>\d+)(?:\.(?P<fraction>\d{1,9}))?s$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS = 1_000_000_000


@dataclass(frozen=True, order=True)
class Instant:
    """A point in time: nanoseconds since the Unix epoch."""

    ns: int


@dataclass(frozen=True, order=True)
class Span:
    """A signed duration in nanoseconds."""

    ns: int

    @classmethod
    def of_seconds(cls, seconds: float) -> Span:
        """A span of (fractional) seconds, rounded to the nanosecond."""
        return cls(round(seconds * _NS))


def _nanos(fraction: str | None) -> int:
    return int((fraction or "").ljust(9, "0") or "0")


def parse_timestamp(text: str) -> Instant | None:
    """The instant an RFC 3339 timestamp names; None when the text is not one."""
    found = _TIMESTAMP.match(text)
    if found is None:
        return None
    zone = found["zone"].upper().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(found["base"].replace("t", "T") + zone)
    except ValueError:
        return None
    whole = (moment - _EPOCH) // timedelta(seconds=1)
    return Instant(whole * _NS + _nanos(found["fraction"]))


def parse_duration(text: str) -> Span | None:
    """The span of a contract duration (`"1.5s"`, `"-0.25s"`); None when the text is not one."""
    found = _DURATION.match(text)
    if found is None:
        return None
    ns = int(found["whole"]) * _NS + _nanos(found["fraction"])
    return Span(-ns if found["sign"] else ns)


def _fraction(ns: int) -> str:
    """`.5`, `.250`, `.000001` … : the shortest of 3, 6 or 9 digits that is exact."""
    if ns == 0:
        return ""
    for digits in (3, 6, 9):
        scale = 10 ** (9 - digits)
        if ns % scale == 0:
            return "." + str(ns // scale).rjust(digits, "0")
    return ""  # unreachable: 9 digits are always exact


def format_timestamp(moment: Instant) -> str:
    """RFC 3339 in UTC with `Z`, with as many fraction digits as needed (0, 3, 6 or 9)."""
    whole, ns = divmod(moment.ns, _NS)
    base = (_EPOCH + timedelta(seconds=whole)).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}{_fraction(ns)}Z"


def format_duration(span: Span) -> str:
    """The contract's duration text: `"30s"`, `"1.500s"`, `"-0.250s"`."""
    whole, ns = divmod(abs(span.ns), _NS)
    sign = "-" if span.ns < 0 else ""
    return f"{sign}{whole}{_fraction(ns)}s"


def comparable(text: str) -> Instant | Span | None:
    """What a string means when it is a timestamp or a duration (for equality and order)."""
    return parse_timestamp(text) or parse_duration(text)
