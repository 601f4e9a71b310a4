"""Strict proto3 JSON text of Duration and Timestamp, with errors in our own words.

The text written is the text of protobuf's `ToJsonString` (3, 6 or 9 fraction digits, none
when whole), made without its float arithmetic; values outside the fast path's range go to
`ToJsonString` itself.

protobuf's own parsers accept text the JSON mapping does not (`" 5s"`, `"5.s"`) and answer
with their parser's message; these follow the mapping exactly:
- Duration: optional `-`, whole seconds, optionally `.` and 1 to 9 digits, then `s`
  (`"30s"`, `"0.250s"`, `"-1.5s"`), within ±315,576,000,000 s;
- Timestamp: RFC 3339 with `T`, an optional 1 to 9 digit fraction and `Z` or an offset
  (`"2026-11-23T10:00:00.123Z"`, `"2026-11-23T11:00:00+01:00"`), years 0001 to 9999.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta, timezone

from google.protobuf import duration_pb2, timestamp_pb2

from concord_server.errors import ConcordError, invalid_argument

MAX_DURATION_SECONDS = 315_576_000_000
_NANOS = 1_000_000_000
_TIMESTAMP_END = 253_402_300_800  # 10000-01-01T00:00:00Z, the first second past the range
_EPOCH_NAIVE = datetime(1970, 1, 1)
_DURATION = re.compile(r"(-)?([0-9]+)(?:\.([0-9]{1,9}))?s")
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)


def _bad_duration(where: str) -> ConcordError:
    return invalid_argument(
        f'{where} must be a duration in seconds ending in "s", like "30s" or "0.5s"', where
    )


def duration_from_text(text: str, where: str) -> duration_pb2.Duration:
    """A Duration from its JSON text, or INVALID_ARGUMENT."""
    found = _DURATION.fullmatch(text)
    if found is None:
        raise _bad_duration(where)
    sign, whole, fraction = found.groups()
    seconds, nanos = int(whole), int((fraction or "").ljust(9, "0"))
    if seconds > MAX_DURATION_SECONDS or (seconds == MAX_DURATION_SECONDS and nanos):
        raise invalid_argument(
            f"{where} is longer than the largest duration ({MAX_DURATION_SECONDS}s)", where
        )
    factor = -1 if sign else 1
    return duration_pb2.Duration(seconds=factor * seconds, nanos=factor * nanos)


def timestamp_from_text(text: str, where: str) -> timestamp_pb2.Timestamp:
    """A Timestamp from its RFC 3339 JSON text, or INVALID_ARGUMENT."""
    found = _TIMESTAMP.fullmatch(text)
    bad = invalid_argument(
        f'{where} must be an RFC 3339 timestamp like "2026-11-23T10:00:00Z"', where
    )
    if found is None:
        raise bad
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = found.groups()
    try:
        offset = timedelta(0) if zulu else timedelta(hours=int(off_h), minutes=int(off_m))
        zone = timezone(-offset if sign == "-" else offset) if not zulu else UTC
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=zone
        ).astimezone(UTC)
    except (ValueError, OverflowError):  # no such date, an offset of a day or more, year 0
        raise bad from None
    result = timestamp_pb2.Timestamp()
    result.FromDatetime(moment)
    result.nanos = int((fraction or "").ljust(9, "0"))
    return result


def _fraction(nanos: int) -> str:
    """`.` and 3, 6 or 9 digits, as few as the nanoseconds need ("" when there are none)."""
    if nanos == 0:
        return ""
    if nanos % 1_000_000 == 0:
        return f".{nanos // 1_000_000:03d}"
    if nanos % 1000 == 0:
        return f".{nanos // 1000:06d}"
    return f".{nanos:09d}"


def timestamp_text(value: timestamp_pb2.Timestamp) -> str:
    """The RFC 3339 JSON text of a Timestamp (`Z`, 0, 3, 6 or 9 fraction digits)."""
    seconds, nanos = value.seconds, value.nanos
    if not (0 <= seconds < _TIMESTAMP_END and 0 <= nanos < _NANOS):
        return str(value.ToJsonString())  # before 1970 or out of range: protobuf's own
    return f"{_second_text(seconds)}{_fraction(nanos)}Z"


@functools.lru_cache(maxsize=1024)
def _second_text(seconds: int) -> str:
    """The date and time of a second since the epoch, without zone (cached: the answers of
    one second share their times)."""
    return (_EPOCH_NAIVE + timedelta(0, seconds)).isoformat()


def duration_text(value: duration_pb2.Duration) -> str:
    """The JSON text of a Duration (`"30s"`, `"0.250s"`)."""
    seconds, nanos = value.seconds, value.nanos
    if not (0 <= seconds <= MAX_DURATION_SECONDS and 0 <= nanos < _NANOS):
        return str(value.ToJsonString())  # negative or out of range: protobuf's own
    return f"{seconds}{_fraction(nanos)}s"
