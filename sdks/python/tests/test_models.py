"""Models and the JSON mapping: timestamps, durations, open enums, request building."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from concord import (
    AppendToStreamRequest,
    EventData,
    ExpectedStreamState,
    InstanceStatus,
    Lock,
    LockEventType,
    ServiceInstance,
    SubscribeToStreamResponse,
    WatchLocksResponse,
)
from concord._core import jsonmap
from concord._core.endpoint import Endpoint
from tests.helpers import LOCK, Recorder, ok


def test_lock_round_trip() -> None:
    lock = Lock.from_dict(LOCK)
    assert lock.acquired_at == datetime(2026, 11, 23, 10, 0, 0, 123000, tzinfo=timezone.utc)
    assert lock.ttl == timedelta(seconds=30)
    assert lock.to_dict() == LOCK


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("30s", timedelta(seconds=30)),
        ("0.250s", timedelta(milliseconds=250)),
        ("1.000001s", timedelta(seconds=1, microseconds=1)),
        ("-1.500s", timedelta(seconds=-1.5)),
        ("0s", timedelta(0)),
    ],
)
def test_durations(text: str, value: timedelta) -> None:
    assert jsonmap.encode_duration(value) == text
    assert jsonmap.decode_duration(text) == value


def test_duration_nanoseconds_and_garbage() -> None:
    assert jsonmap.decode_duration("1.123456789s") == timedelta(seconds=1, microseconds=123456)
    with pytest.raises(ValueError, match="not a duration"):
        jsonmap.decode_duration("5m")


def test_timestamps() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=timezone.utc)
    assert jsonmap.encode_timestamp(moment) == "2026-01-02T03:04:05.120Z"
    assert jsonmap.decode_timestamp("2026-01-02T04:04:05.12+01:00") == moment
    assert jsonmap.decode_timestamp("2026-01-02T03:04:05.120000999Z") == moment
    plus_two = moment.astimezone(timezone(timedelta(hours=2)))
    assert jsonmap.encode_timestamp(plus_two) == "2026-01-02T03:04:05.120Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        jsonmap.encode_timestamp(datetime(2026, 1, 1))  # naive: refused


def test_enums_are_strings_and_tolerate_unknown_values() -> None:
    assert LockEventType("ACQUIRED") is LockEventType.ACQUIRED
    assert LockEventType.ACQUIRED == "ACQUIRED" and LockEventType.ACQUIRED.is_known
    future = LockEventType("TRANSFERRED")
    assert future == "TRANSFERRED" and future.value == "TRANSFERRED" and not future.is_known
    assert LockEventType("TRANSFERRED") is future
    event = WatchLocksResponse.from_dict({"type": "TRANSFERRED"})
    assert event.type == "TRANSFERRED" and event.to_dict() == {"type": "TRANSFERRED"}


def test_unset_members_are_left_out_and_defaults_kept() -> None:
    instance = ServiceInstance.from_dict({"service": "api", "port": 80})
    data = instance.to_dict()
    assert data["tags"] == [] and data["metadata"] == {} and "status" not in data
    assert ServiceInstance(status=InstanceStatus.HEALTHY).to_dict()["status"] == "HEALTHY"


def test_oneof_and_value_members() -> None:
    caught_up = SubscribeToStreamResponse.from_dict({"caught_up": True})
    assert caught_up.caught_up is True and caught_up.event is None
    assert caught_up.to_dict() == {"caught_up": True}
    event = EventData(event_id="e1", type="t", data={"x": [1, None]})
    assert event.to_dict() == {
        "event_id": "e1",
        "type": "t",
        "data": {"x": [1, None]},
        "metadata": {},
    }


def test_required_fields_are_keyword_arguments_without_defaults() -> None:
    with pytest.raises(TypeError):
        EventData(type="t")  # type: ignore[call-arg]
    request = AppendToStreamRequest(stream="s", events=[], expected_state=ExpectedStreamState.ANY)
    assert request.to_dict() == {"stream": "s", "events": [], "expected_state": "ANY"}


def test_calls_send_path_body_and_query() -> None:
    rec = Recorder(ok({"instances": [], "next_page_token": ""}))
    client = rec.client()
    list(client.discovery.list_instances("api v1", tags=["a", "b"], include_unhealthy=True))
    request = rec.requests[0]
    assert (
        request.url.raw_path
        == b"/v1/services/api%20v1/instances?tags=a&tags=b&include_unhealthy=true"
    )
    client.events.read_all(from_position=0).first_page()
    assert rec.requests[1].url.params.get("from_position") == "0"
    client.events.read_all().first_page()
    assert "from_position" not in rec.requests[2].url.params


def test_empty_path_parameter_is_refused_locally() -> None:
    rec = Recorder(ok({}))
    with pytest.raises(ValueError, match="'name' must not be empty"):
        rec.client().locks.get("")
    assert rec.requests == []


def test_endpoint_body_forms() -> None:
    star = Endpoint("X", "POST", "/v1/x/{a.b}", path_params=("a.b",), body="*")
    data = {"a": {"b": "1"}, "c": 2}
    assert star.url_path(data) == "/v1/x/1" and star.body_json(data) == {"c": 2}
    single = Endpoint("Y", "PUT", "/v1/y", body="c")
    assert single.body_json(data) == 2
