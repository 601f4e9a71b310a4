"""Strict proto3 JSON text for Duration and Timestamp, refused in our own words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from concord_server.api.time_text import duration_from_text, timestamp_from_text
from concord_server.errors import ConcordError, ErrorCode


@pytest.mark.parametrize(
    ("text", "seconds", "nanos"),
    [
        ("30s", 30, 0),
        ("0s", 0, 0),
        ("0.250s", 0, 250_000_000),
        ("1.000000001s", 1, 1),
        ("-1.5s", -1, -500_000_000),
        ("315576000000s", 315_576_000_000, 0),
    ],
)
def test_durations_of_the_json_mapping(text: str, seconds: int, nanos: int) -> None:
    duration = duration_from_text(text, "ttl")
    assert (duration.seconds, duration.nanos) == (seconds, nanos)


@pytest.mark.parametrize(
    "text",
    [" 5s", "5s ", "5.s", ".5s", "5", "5S", "5ms", "1m", "+5s", "1.0000000001s", "1e3s",
     "315576000001s", "315576000000.1s", "", "s", "--1s", "5 s", "\u0665s"],
)  # fmt: skip
def test_other_duration_text_is_refused_in_our_words(text: str) -> None:
    with pytest.raises(ConcordError) as caught:
        duration_from_text(text, "ttl")
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT
    assert caught.value.details == {"field": "ttl"}
    assert caught.value.message.startswith("ttl ")
    assert "Duration" not in caught.value.message  # not protobuf's parser text


@pytest.mark.parametrize(
    ("text", "moment", "nanos"),
    [
        ("2026-11-23T10:00:00Z", datetime(2026, 11, 23, 10, tzinfo=UTC), 0),
        ("2026-11-23t10:00:00.123z", datetime(2026, 11, 23, 10, tzinfo=UTC), 123_000_000),
        ("2026-11-23T11:00:00+01:00", datetime(2026, 11, 23, 10, tzinfo=UTC), 0),
        ("2026-11-23T09:30:00.000000001-00:30", datetime(2026, 11, 23, 10, tzinfo=UTC), 1),
    ],
)
def test_timestamps_of_the_json_mapping(text: str, moment: datetime, nanos: int) -> None:
    stamp = timestamp_from_text(text, "at")
    assert stamp.seconds == int(moment.timestamp()) and stamp.nanos == nanos


@pytest.mark.parametrize(
    "text",
    ["2026-11-23 10:00:00Z", "2026-11-23T10:00:00", "2026-13-01T00:00:00Z",
     "2026-02-30T00:00:00Z", "2026-11-23T24:00:00Z", "2026-11-23T10:00:00+24:00",
     "0000-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", " 2026-11-23T10:00:00Z",
     "2026-11-23T10:00:00.1234567890Z", "tomorrow"],
)  # fmt: skip
def test_other_timestamp_text_is_refused(text: str) -> None:
    with pytest.raises(ConcordError) as caught:
        timestamp_from_text(text, "at")
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT
    assert "RFC 3339" in caught.value.message
