"""REQUIRED markers and `(concord.v1.rules)` enforced on requests, with the field path."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.message import Message

from concord_server._gen.concord.v1 import (
    cache_pb2,
    discovery_pb2,
    events_pb2,
    locks_pb2,
    sagas_pb2,
)
from concord_server.api import codec
from concord_server.api.rpcs import all_rpcs
from concord_server.api.validation import NO_RULES, checked_fields, field_check, validate
from concord_server.errors import ConcordError, ErrorCode

UUID = "0b6f7c8e-1d2a-4b3c-9d4e-5f6a7b8c9d0e"


def acquire(**overrides: Any) -> locks_pb2.AcquireLockRequest:
    data: dict[str, Any] = {"name": "orders.lock:1", "owner": "host-1", "ttl": "30s"}
    data.update(overrides)
    return codec.from_json(
        {k: v for k, v in data.items() if v is not ...}, locks_pb2.AcquireLockRequest()
    )


def fails(message: Message) -> ConcordError:
    with pytest.raises(ConcordError) as info:
        validate(message)
    assert info.value.code is ErrorCode.INVALID_ARGUMENT
    assert info.value.details["field"] in info.value.message
    return info.value


def test_a_valid_request_passes() -> None:
    validate(acquire())
    validate(acquire(wait_timeout="0s"))
    validate(acquire(wait_timeout="300s"))


@pytest.mark.parametrize("missing", ["name", "owner", "ttl"])
def test_required_fields(missing: str) -> None:
    err = fails(acquire(**{missing: ...}))
    assert err.details == {"field": missing, "reason": "required"}


def test_required_fields_are_checked_in_declaration_order() -> None:
    assert fails(locks_pb2.AcquireLockRequest()).details["field"] == "name"


def test_empty_string_and_zero_count_as_missing() -> None:
    assert fails(acquire(owner="")).details["field"] == "owner"
    renew = locks_pb2.RenewLockRequest(name="a", owner="o", fencing_token=0)
    renew.ttl.FromJsonString("1s")
    assert fails(renew).details == {"field": "fencing_token", "reason": "required"}


def test_required_repeated_and_required_message() -> None:
    assert fails(events_pb2.AppendToStreamRequest(stream="s")).details["field"] == "events"
    assert fails(events_pb2.SetStreamMetadataRequest(stream="s")).details["field"] == "custom"
    ok = events_pb2.SetStreamMetadataRequest(stream="s")
    ok.custom.SetInParent()
    validate(ok)


@pytest.mark.parametrize("name", ["-lead", ".x", "a b", "a/b", "a*", "ä", "abc\n", "\nabc", ""])
def test_patterns(name: str) -> None:
    err = fails(acquire(name=name))
    assert err.details["field"] == "name"
    if name:
        assert err.details["pattern"] == "^[A-Za-z0-9][A-Za-z0-9._:-]*$"


def test_pattern_applies_to_the_whole_value() -> None:
    callback = sagas_pb2.HttpCallback(url="http://x\nInjected: header")
    assert fails(callback).details["field"] == "url"
    validate(sagas_pb2.HttpCallback(url="https://example.com/a?b=c"))
    assert fails(sagas_pb2.HttpCallback(url="http://x", method="GETS")).details["field"] == "method"
    validate(sagas_pb2.HttpCallback(url="http://x", method="PATCH"))


def test_uuid_pattern() -> None:
    validate(events_pb2.EventData(event_id=UUID, type="T"))
    assert fails(events_pb2.EventData(event_id=UUID[:-1], type="T")).details["field"] == "event_id"
    assert fails(events_pb2.EventData(event_id=UUID + "0", type="T")).details["field"] == "event_id"


def test_lengths() -> None:
    validate(acquire(name="a" * 200, owner="o" * 200))
    err = fails(acquire(name="a" * 201))
    assert err.details["field"] == "name" and "200" in err.message
    assert fails(acquire(owner="o" * 201)).details["field"] == "owner"
    validate(locks_pb2.ListLocksRequest(prefix="p" * 200))
    assert fails(locks_pb2.ListLocksRequest(prefix="p" * 201)).details["field"] == "prefix"


def test_numeric_ranges() -> None:
    validate(locks_pb2.ListLocksRequest(page_size=1000))
    err = fails(locks_pb2.ListLocksRequest(page_size=1001))
    assert err.details["field"] == "page_size" and "1000" in err.message
    assert fails(locks_pb2.ListLocksRequest(page_size=-1)).details["field"] == "page_size"
    renew = locks_pb2.RenewLockRequest(name="a", owner="o", fencing_token=-5)
    renew.ttl.FromJsonString("1s")
    assert fails(renew).details["field"] == "fencing_token"
    base: dict[str, Any] = {"service": "s", "instance_id": "i", "address": "10.0.0.1"}
    validate(discovery_pb2.RegisterInstanceRequest(**base, port=65535))
    assert fails(discovery_pb2.RegisterInstanceRequest(**base, port=65536)).details["field"] == (
        "port"
    )


def test_optional_numbers_are_checked_when_present() -> None:
    validate(events_pb2.ReadStreamRequest(stream="s", from_revision=0))
    assert fails(events_pb2.ReadStreamRequest(stream="s", from_revision=-1)).details["field"] == (
        "from_revision"
    )


def test_item_counts() -> None:
    events = [{"event_id": UUID, "type": "T"}] * 501
    request = codec.from_json({"stream": "s", "events": events}, events_pb2.AppendToStreamRequest())
    err = fails(request)
    assert err.details["field"] == "events" and "500" in err.message
    del request.events[500:]
    validate(request)
    base: dict[str, Any] = {"service": "s", "instance_id": "i", "address": "h", "port": 1}
    tags = discovery_pb2.RegisterInstanceRequest(**base, tags=[f"t{i}" for i in range(51)])
    assert fails(tags).details["field"] == "tags"
    meta = discovery_pb2.RegisterInstanceRequest(**base, metadata={f"k{i}": "v" for i in range(51)})
    assert fails(meta).details["field"] == "metadata"
    validate(
        discovery_pb2.RegisterInstanceRequest(**base, metadata={f"k{i}": "v" for i in range(50)})
    )
    empty = cache_pb2.BatchGetCacheEntriesRequest(namespace="n", keys=[])
    assert fails(empty).details == {"field": "keys", "reason": "required"}


@pytest.mark.parametrize(
    ("ttl", "ok"),
    [("0.010s", True), ("86400s", True), ("0.009s", False), ("86400.001s", False), ("-1s", False)],
)
def test_duration_bounds(ttl: str, ok: bool) -> None:
    if ok:
        validate(acquire(ttl=ttl))
    else:
        err = fails(acquire(ttl=ttl))
        assert err.details["field"] == "ttl"


def test_zero_duration_is_present_and_checked() -> None:
    assert fails(acquire(ttl="0s")).details["field"] == "ttl"
    assert fails(acquire(wait_timeout="301s")).details["field"] == "wait_timeout"
    assert fails(acquire(wait_timeout="-0.5s")).details["field"] == "wait_timeout"


def _saga(step: dict[str, Any]) -> sagas_pb2.StartSagaRequest:
    data = {"saga_id": "s1", "definition": {"name": "checkout", "steps": [step]}}
    return codec.from_json(data, sagas_pb2.StartSagaRequest())


def test_nested_messages_report_the_full_path() -> None:
    validate(_saga({"name": "pay", "action": {"task": {"task_type": "payments.charge"}}}))
    err = fails(_saga({"name": "pay", "action": {"http": {"url": "ftp://x"}}}))
    assert err.details["field"] == "definition.steps[0].action.http.url"
    err = fails(_saga({"name": "pay", "action": {"task": {"task_type": ""}}}))
    assert err.details["field"] == "definition.steps[0].action.task.task_type"
    err = fails(_saga({"name": "pay"}))
    assert err.details == {"field": "definition.steps[0].action", "reason": "required"}
    retry = {"initial_backoff": "3601s"}
    err = fails(_saga({"name": "pay", "action": {"task": {"task_type": "t"}}, "retry": retry}))
    assert err.details["field"] == "definition.steps[0].retry.initial_backoff"
    missing = codec.from_json(
        {"saga_id": "s", "definition": {"steps": []}}, sagas_pb2.StartSagaRequest()
    )
    assert fails(missing).details["field"] == "definition.name"


def test_repeated_message_items_report_their_index() -> None:
    events = [{"event_id": UUID, "type": "T"}, {"event_id": "nope", "type": "T"}]
    request = codec.from_json({"stream": "s", "events": events}, events_pb2.AppendToStreamRequest())
    err = fails(request)
    assert err.details["field"] == "events[1].event_id"
    entries = [{"key": "k", "value": 1}, {"key": "k2"}]
    batch = codec.from_json(
        {"namespace": "n", "entries": entries}, cache_pb2.BatchSetCacheEntriesRequest()
    )
    assert fails(batch).details == {"field": "entries[1].value", "reason": "required"}


def test_unknown_enum_numbers_are_rejected() -> None:
    request = events_pb2.ReadStreamRequest(stream="s")
    request.direction = 7  # type: ignore[assignment]  # gRPC clients may: proto3 enums are open
    err = fails(request)
    assert err.details["field"] == "direction"
    validate(events_pb2.ReadStreamRequest(stream="s", direction=events_pb2.READ_DIRECTION_BACKWARD))


def test_field_checks_are_compiled_from_the_options() -> None:
    name = locks_pb2.AcquireLockRequest.DESCRIPTOR.fields_by_name["name"]
    check = field_check(name)
    assert check.required and check.min_length == 1 and check.max_length == 200
    assert check.pattern is not None
    assert field_check(name) is check
    ttl = field_check(locks_pb2.AcquireLockRequest.DESCRIPTOR.fields_by_name["ttl"])
    assert ttl.min_duration is not None and ttl.min_duration.total_seconds() == 0.01


def test_every_empty_request_fails_only_on_a_required_field() -> None:
    for rpc in all_rpcs():
        try:
            validate(rpc.request_cls())
        except ConcordError as err:
            assert err.details.get("reason") == "required", (rpc.name, err.message)


def test_only_fields_that_a_check_can_refuse_are_visited() -> None:
    visited = {f.name for f, _ in checked_fields(events_pb2.EventData.DESCRIPTOR)}
    assert {"event_id", "type"} <= visited
    assert "data" not in visited  # a JSON value: no rule can refuse it here
    for rpc in all_rpcs():
        desc = rpc.request_cls.DESCRIPTOR
        chosen = {f.name for f, _ in checked_fields(desc)}
        for field in desc.fields:
            if field.name in chosen:
                continue
            assert field_check(field) == NO_RULES, (rpc.name, field.name)
            assert field.enum_type is None, (rpc.name, field.name)
            message = field.message_type
            contract = message is not None and message.full_name.startswith("concord.")
            assert message is None or not contract or message.GetOptions().map_entry, field.name
