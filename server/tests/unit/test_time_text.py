"""Strict proto3 JSON text for Duration and Timestamp, refused in our own words."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from google.protobuf import duration_pb2, timestamp_pb2

from concord_server.api.time_text import (
    duration_from_text,
    duration_text,
    timestamp_from_text,
    timestamp_text,
)
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


_NANOS = [0, 1, 999, 1000, 1_000_000, 120_000_000, 123_456_000, 123_456_789, 999_999_999]


def _some_seconds(low: int, high: int) -> list[int]:
    rng = random.Random(7)
    return [low, low + 1, 0, 1, 86_399, 86_400, high - 1] + [
        rng.randrange(low, high) for _ in range(200)
    ]


def test_timestamp_text_is_protobufs_own() -> None:
    for seconds in _some_seconds(-62_135_596_800, 253_402_300_800):
        for nanos in _NANOS:
            value = timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)
            assert timestamp_text(value) == value.ToJsonString(), (seconds, nanos)


def test_duration_text_is_protobufs_own() -> None:
    for seconds in _some_seconds(-315_576_000_000, 315_576_000_001):
        for nanos in _NANOS:
            signed = -nanos if seconds < 0 else nanos
            value = duration_pb2.Duration(seconds=seconds, nanos=signed)
            assert duration_text(value) == value.ToJsonString(), (seconds, signed)
    negative = duration_pb2.Duration(seconds=0, nanos=-500_000_000)
    assert duration_text(negative) == "-0.500s"


def test_text_of_values_out_of_range_fails_as_protobuf_does() -> None:
    with pytest.raises(ValueError, match="Timestamp is not valid"):
        timestamp_text(timestamp_pb2.Timestamp(seconds=253_402_300_800))
    with pytest.raises(ValueError, match="Duration is not valid"):
        duration_text(duration_pb2.Duration(seconds=315_576_000_001))
