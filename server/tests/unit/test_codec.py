"""The contract's JSON mapping: every kind of field both ways, and every rejection."""

from __future__ import annotations

import math
from typing import Any

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from concord_server._gen.concord.v1 import (
    cache_pb2,
    common_pb2,
    discovery_pb2,
    events_pb2,
    health_pb2,
    locks_pb2,
    sagas_pb2,
)
from concord_server.api import codec
from concord_server.api.rpcs import PROTO_MODULES, all_rpcs
from concord_server.errors import ConcordError, ErrorCode

MAX_SAFE = 2**53 - 1


def rejects(data: Any, message: Message) -> ConcordError:
    """The INVALID_ARGUMENT error of parsing `data` into `message`."""
    with pytest.raises(ConcordError) as info:
        codec.from_json(data, message)
    assert info.value.code is ErrorCode.INVALID_ARGUMENT
    return info.value


# ---------------------------------------------------------------- output mapping


def test_int64_are_json_numbers() -> None:
    msg = events_pb2.AppendToStreamResponse(
        next_expected_revision=MAX_SAFE, position=-5, revisions=[0, 1, MAX_SAFE]
    )
    out = codec.to_json(msg)
    assert out == {
        "next_expected_revision": MAX_SAFE,
        "position": -5,
        "revisions": [0, 1, MAX_SAFE],
    }
    assert all(type(v) is int for v in out["revisions"])
    assert codec.to_json(codec.from_json(out, events_pb2.AppendToStreamResponse())) == out


def test_enums_are_stripped_and_unspecified_is_omitted() -> None:
    msg = locks_pb2.WatchLocksResponse(type=locks_pb2.LOCK_EVENT_TYPE_EXPIRED)
    assert codec.to_json(msg)["type"] == "EXPIRED"
    assert "type" not in codec.to_json(locks_pb2.WatchLocksResponse())
    status = health_pb2.GetReadinessResponse(status=health_pb2.SERVING_STATUS_NOT_SERVING)
    assert codec.to_json(status) == {"status": "NOT_SERVING", "components": []}
    parsed = codec.from_json({"direction": "BACKWARD"}, events_pb2.ReadStreamRequest())
    assert parsed.direction == events_pb2.READ_DIRECTION_BACKWARD


def test_timestamp_and_duration_are_strings() -> None:
    lock = locks_pb2.Lock(name="a")
    lock.acquired_at.FromJsonString("2026-11-23T10:00:00.123Z")
    lock.ttl.FromJsonString("0.250s")
    out = codec.to_json(lock)
    assert out["acquired_at"] == "2026-11-23T10:00:00.123Z"
    assert out["ttl"] == "0.250s"
    assert "expires_at" not in out
    back = codec.from_json(out, locks_pb2.Lock())
    assert back == lock
    offset = codec.from_json({"acquired_at": "2026-11-23T12:00:00+02:00"}, locks_pb2.Lock())
    assert codec.to_json(offset)["acquired_at"] == "2026-11-23T10:00:00Z"


@pytest.mark.parametrize(
    "value",
    [None, 0, 3, -7, 2.5, MAX_SAFE, "x", "", True, False, [], [1, "a", None, [2]], {"a": {"b": 1}}],
)
def test_value_round_trips_any_json(value: Any) -> None:
    entry = codec.from_json({"key": "k", "value": value}, cache_pb2.CacheEntry())
    assert entry.HasField("value")
    out = codec.to_json(entry)
    assert out["value"] == value
    assert type(out["value"]) is type(value)


def test_value_integral_numbers_come_out_as_ints() -> None:
    entry = codec.from_json({"value": {"n": 3.0, "f": 3.5, "l": [1.0, 2]}}, cache_pb2.CacheEntry())
    out = codec.to_json(entry)["value"]
    assert out == {"n": 3, "f": 3.5, "l": [1, 2]}
    assert type(out["n"]) is int and type(out["l"][0]) is int


def test_null_value_is_present_and_unset_value_is_omitted() -> None:
    with_null = codec.from_json({"value": None}, cache_pb2.CacheEntry())
    assert with_null.HasField("value")
    assert with_null.value.WhichOneof("kind") == "null_value"
    assert codec.to_json(with_null)["value"] is None
    assert "value" not in codec.to_json(cache_pb2.CacheEntry())


def test_struct() -> None:
    data = {"custom": {"owner": "team-a", "n": 2, "nested": {"ok": True, "list": [1, "x"]}}}
    meta = codec.from_json(data, events_pb2.StreamMetadata())
    assert meta.custom["owner"] == "team-a"
    assert codec.to_json(meta)["custom"] == data["custom"]


def test_maps() -> None:
    data = {"event_id": "e", "type": "T", "metadata": {"a": "1", "b": ""}}
    event = codec.from_json(data, events_pb2.EventData())
    assert dict(event.metadata) == {"a": "1", "b": ""}
    assert codec.to_json(event)["metadata"] == {"a": "1", "b": ""}


def test_repeated_messages() -> None:
    data = {"locks": [{"name": "a", "fencing_token": 1}, {"name": "b", "fencing_token": 2}]}
    msg = codec.from_json(data, locks_pb2.ListLocksResponse())
    assert [lock.name for lock in msg.locks] == ["a", "b"]
    out = codec.to_json(msg)
    assert [(x["name"], x["fencing_token"]) for x in out["locks"]] == [("a", 1), ("b", 2)]
    assert out["next_page_token"] == ""


def test_oneofs() -> None:
    marker = events_pb2.SubscribeToStreamResponse(caught_up=True)
    assert codec.to_json(marker) == {"caught_up": True}
    event = events_pb2.SubscribeToStreamResponse(event=events_pb2.RecordedEvent(stream="s"))
    out = codec.to_json(event)
    assert set(out) == {"event"} and out["event"]["stream"] == "s"
    assert codec.from_json(out, events_pb2.SubscribeToStreamResponse()).WhichOneof("content") == (
        "event"
    )
    false_marker = codec.from_json({"caught_up": False}, events_pb2.SubscribeToStreamResponse())
    assert false_marker.WhichOneof("content") == "caught_up"
    assert codec.to_json(false_marker) == {"caught_up": False}


def test_two_members_of_a_oneof_are_rejected() -> None:
    err = rejects({"http": {"url": "http://x"}, "task": {"task_type": "t"}}, sagas_pb2.StepAction())
    assert err.details["field"] == "task"
    assert "oneof" in err.message


def test_optional_fields_keep_presence() -> None:
    assert "from_revision" not in codec.to_json(events_pb2.ReadStreamRequest(stream="s"))
    zero = codec.from_json({"stream": "s", "from_revision": 0}, events_pb2.ReadStreamRequest())
    assert zero.HasField("from_revision") and zero.from_revision == 0
    assert codec.to_json(zero)["from_revision"] == 0
    absent = codec.from_json({"stream": "s"}, events_pb2.ReadStreamRequest())
    assert not absent.HasField("from_revision")
    null = codec.from_json({"stream": "s", "from_revision": None}, events_pb2.ReadStreamRequest())
    assert not null.HasField("from_revision")


def test_plain_scalars_and_doubles() -> None:
    policy = codec.from_json(
        {"max_attempts": 5.0, "backoff_multiplier": 2}, sagas_pb2.RetryPolicy()
    )
    assert policy.max_attempts == 5
    assert policy.backoff_multiplier == 2.0
    out = codec.to_json(policy)
    assert out["max_attempts"] == 5 and out["backoff_multiplier"] == 2.0


def test_error_body_message() -> None:
    err = common_pb2.Error(code=common_pb2.ERROR_CODE_LOCK_CONFLICT, message="m", request_id="r")
    err.details.update({"holder": "x"})
    assert codec.to_json(err) == {
        "code": "LOCK_CONFLICT",
        "message": "m",
        "details": {"holder": "x"},
        "request_id": "r",
    }


# ---------------------------------------------------------------- rejections


@pytest.mark.parametrize("body", [[], "x", 1, None, True, [{"name": "a"}]])
def test_non_object_body_is_rejected(body: Any) -> None:
    err = rejects(body, locks_pb2.GetLockRequest())
    assert err.details["field"] == "body"


def test_unknown_fields_are_rejected_with_their_path() -> None:
    assert rejects({"bogus": 1}, locks_pb2.GetLockRequest()).details["field"] == "bogus"
    events = {"stream": "s", "events": [{"event_id": "e", "type": "T"}, {"typ": "T"}]}
    assert rejects(events, events_pb2.AppendToStreamRequest()).details["field"] == "events[1].typ"
    saga = {
        "saga_id": "s",
        "definition": {"name": "d", "steps": [{"name": "a", "action": {"http": {"uri": "x"}}}]},
    }
    err = rejects(saga, sagas_pb2.StartSagaRequest())
    assert err.details["field"] == "definition.steps[0].action.http.uri"
    assert "definition.steps[0].action.http.uri" in err.message


def test_camel_case_names_are_unknown() -> None:
    assert rejects({"fencingToken": 1}, locks_pb2.Lock()).details["field"] == "fencingToken"


@pytest.mark.parametrize(
    ("message", "data", "field"),
    [
        (locks_pb2.GetLockRequest(), {"name": 5}, "name"),
        (locks_pb2.GetLockRequest(), {"name": ["a"]}, "name"),
        (locks_pb2.Lock(), {"fencing_token": "5"}, "fencing_token"),
        (locks_pb2.Lock(), {"fencing_token": 1.5}, "fencing_token"),
        (locks_pb2.Lock(), {"fencing_token": {}}, "fencing_token"),
        (cache_pb2.SetCacheEntryRequest(), {"create_only": "true"}, "create_only"),
        (cache_pb2.SetCacheEntryRequest(), {"create_only": 1}, "create_only"),
        (cache_pb2.SetCacheEntryRequest(), {"create_only": 0}, "create_only"),
        (locks_pb2.Lock(), {"fencing_token": True}, "fencing_token"),
        (discovery_pb2.RegisterInstanceRequest(), {"port": False}, "port"),
        (sagas_pb2.RetryPolicy(), {"backoff_multiplier": True}, "backoff_multiplier"),
        (sagas_pb2.RetryPolicy(), {"backoff_multiplier": "2"}, "backoff_multiplier"),
        (discovery_pb2.RegisterInstanceRequest(), {"tags": "a"}, "tags"),
        (discovery_pb2.RegisterInstanceRequest(), {"tags": ["a", 1]}, "tags[1]"),
        (discovery_pb2.RegisterInstanceRequest(), {"metadata": ["a"]}, "metadata"),
        (discovery_pb2.RegisterInstanceRequest(), {"metadata": {"a": 1}}, "metadata.a"),
        (locks_pb2.AcquireLockResponse(), {"lock": "a"}, "lock"),
        (locks_pb2.ListLocksResponse(), {"locks": {"name": "a"}}, "locks"),
        (locks_pb2.ListLocksResponse(), {"locks": ["a"]}, "locks[0]"),
        (events_pb2.SetStreamMetadataRequest(), {"custom": [1]}, "custom"),
        (events_pb2.SetStreamMetadataRequest(), {"custom": "x"}, "custom"),
    ],
)
def test_wrong_types_are_rejected(message: Message, data: dict[str, Any], field: str) -> None:
    err = rejects(data, message)
    assert err.details["field"] == field


@pytest.mark.parametrize(
    ("data", "ok"),
    [
        ({"port": 2**31 - 1}, True),
        ({"port": 2**31}, False),
        ({"port": -(2**31)}, True),
        ({"port": -(2**31) - 1}, False),
    ],
)
def test_int32_range(data: dict[str, Any], ok: bool) -> None:
    if ok:
        assert codec.from_json(data, discovery_pb2.RegisterInstanceRequest()).port == data["port"]
    else:
        assert "out of range" in rejects(data, discovery_pb2.RegisterInstanceRequest()).message


def test_int64_range() -> None:
    assert (
        codec.from_json({"fencing_token": 2**63 - 1}, locks_pb2.Lock()).fencing_token == 2**63 - 1
    )
    rejects({"fencing_token": 2**63}, locks_pb2.Lock())
    rejects({"fencing_token": -(2**63) - 1}, locks_pb2.Lock())
    rejects({"fencing_token": 1e30}, locks_pb2.Lock())


def test_bad_enum_names_list_the_allowed_ones() -> None:
    for bad in ("SIDEWAYS", "READ_DIRECTION_FORWARD", "UNSPECIFIED", "forward", 1, 0):
        err = rejects({"direction": bad}, events_pb2.ReadStreamRequest())
        assert err.details["field"] == "direction"
        assert err.details["allowed"] == ["FORWARD", "BACKWARD"]


@pytest.mark.parametrize(
    "text", ["yesterday", "2026-13-01T00:00:00Z", "2026-01-01", "2026-01-01T25:00:00Z", 1700000000]
)
def test_bad_timestamps(text: Any) -> None:
    assert rejects({"acquired_at": text}, locks_pb2.Lock()).details["field"] == "acquired_at"


@pytest.mark.parametrize("text", ["30", "abc", "1m", "s", 30, {"seconds": 1}, "99999999999999s"])
def test_bad_durations(text: Any) -> None:
    assert rejects({"ttl": text}, locks_pb2.Lock()).details["field"] == "ttl"


def test_non_finite_numbers_are_rejected() -> None:
    rejects({"backoff_multiplier": math.inf}, sagas_pb2.RetryPolicy())
    rejects({"backoff_multiplier": math.nan}, sagas_pb2.RetryPolicy())
    assert rejects({"value": math.nan}, cache_pb2.CacheEntry()).details["field"] == "value"
    assert rejects({"value": {"a": [math.inf]}}, cache_pb2.CacheEntry()).details["field"] == "value"


def test_bad_base64_is_rejected() -> None:
    from google.protobuf import wrappers_pb2

    field = wrappers_pb2.BytesValue.DESCRIPTOR.fields_by_name["value"]
    with pytest.raises(ConcordError):
        codec._scalar_in(field, "***", "value")
    assert codec._scalar_in(field, "AAE=", "value") == b"\x00\x01"


# ---------------------------------------------------------------- strict JSON text


def test_parse_json_accepts_json() -> None:
    assert codec.parse_json(b'{"a": [1, 2.5, null, "x"]}') == {"a": [1, 2.5, None, "x"]}
    assert codec.parse_json('"\\u00e9"') == "é"


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"{'a': 1}",
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b"[-Infinity]",
        b"\xff\xfe",
        b"[" * 5000,
    ],
)
def test_parse_json_rejects_invalid_text(raw: bytes) -> None:
    with pytest.raises(ConcordError) as info:
        codec.parse_json(raw)
    assert info.value.code is ErrorCode.INVALID_ARGUMENT


# ---------------------------------------------------------------- query and path text


def _field(message: type[Message], name: str) -> Any:
    return message.DESCRIPTOR.fields_by_name[name]


def test_parse_text() -> None:
    flag = _field(discovery_pb2.ListInstancesRequest, "include_unhealthy")
    size = _field(discovery_pb2.ListInstancesRequest, "page_size")
    assert codec.parse_text(flag, "true", "f") is True
    assert codec.parse_text(flag, "false", "f") is False
    assert codec.parse_text(size, "-3", "p") == -3
    assert codec.parse_text(_field(sagas_pb2.RetryPolicy, "backoff_multiplier"), "1.5", "b") == 1.5
    assert codec.parse_text(_field(events_pb2.ReadStreamRequest, "direction"), "X", "d") == "X"


@pytest.mark.parametrize("text", ["1", "0", "yes", "True", ""])
def test_parse_text_rejects_bad_bools(text: str) -> None:
    flag = _field(discovery_pb2.ListInstancesRequest, "include_unhealthy")
    with pytest.raises(ConcordError):
        codec.parse_text(flag, text, "include_unhealthy")


@pytest.mark.parametrize("text", ["", "1.5", " 5", "5 ", "1_000", "+5", "٣", "0x10", "1e3"])
def test_parse_text_rejects_bad_integers(text: str) -> None:
    with pytest.raises(ConcordError) as info:
        codec.parse_text(_field(discovery_pb2.ListInstancesRequest, "page_size"), text, "page_size")
    assert info.value.details["field"] == "page_size"


@pytest.mark.parametrize("text", ["", "nan", "inf", "1_0", " 1", "1.", ".5", "0x1"])
def test_parse_text_rejects_bad_numbers(text: str) -> None:
    field = _field(sagas_pb2.RetryPolicy, "backoff_multiplier")
    with pytest.raises(ConcordError):
        codec.parse_text(field, text, "backoff_multiplier")


# ---------------------------------------------------------------- the whole contract


def _all_messages() -> list[Descriptor]:
    seen: dict[str, Descriptor] = {}

    def visit(desc: Any) -> None:
        if desc.full_name in seen or desc.GetOptions().map_entry:
            return
        seen[desc.full_name] = desc
        for nested in desc.nested_types:
            visit(nested)
        for f in desc.fields:
            if f.message_type is not None and f.message_type.full_name.startswith("concord."):
                visit(f.message_type)

    for module in PROTO_MODULES:
        for desc in module.DESCRIPTOR.message_types_by_name.values():
            visit(desc)
    visit(common_pb2.Error.DESCRIPTOR)
    return sorted(seen.values(), key=lambda d: d.full_name)


ALL_MESSAGES = _all_messages()
REQUESTS = sorted({r.request_cls.DESCRIPTOR.full_name: r for r in all_rpcs()}.values(), key=str)
_WKT_SAMPLES: dict[str, Any] = {
    "google.protobuf.Timestamp": "2026-11-23T10:00:00.123Z",
    "google.protobuf.Duration": "30.250s",
    "google.protobuf.Value": {"a": [1, "x", None, True, 2.5], "b": {"c": -3}},
    "google.protobuf.Struct": {"k": {"n": 1}, "s": "v"},
    "google.protobuf.ListValue": [1, "a", None],
}


def sample(desc: Any, depth: int = 0) -> dict[str, Any]:
    """A JSON sample filling every field (one member per oneof) down to a depth."""
    out: dict[str, Any] = {}
    oneofs_done: set[str] = set()
    for f in desc.fields:
        if f.containing_oneof is not None and not f.containing_oneof.name.startswith("_"):
            if f.containing_oneof.name in oneofs_done:
                continue
            oneofs_done.add(f.containing_oneof.name)
        if codec.is_map(f):
            out[f.name] = {
                "k1": _sample_value(f.message_type.fields_by_name["value"], depth),
                "k2": _sample_value(f.message_type.fields_by_name["value"], depth),
            }
            continue
        too_deep = depth >= 4 and f.type == FieldDescriptor.TYPE_MESSAGE
        if too_deep and f.message_type.full_name not in _WKT_SAMPLES:
            continue
        value = _sample_value(f, depth)
        out[f.name] = [value, value] if f.is_repeated else value
    return out


def _sample_value(f: Any, depth: int) -> Any:
    kind = f.type
    if kind == FieldDescriptor.TYPE_MESSAGE:
        if f.message_type.full_name in _WKT_SAMPLES:
            return _WKT_SAMPLES[f.message_type.full_name]
        return sample(f.message_type, depth + 1)
    if kind == FieldDescriptor.TYPE_ENUM:
        return codec.enum_wire_name(f.enum_type, f.enum_type.values[-1].number)
    if kind == FieldDescriptor.TYPE_STRING:
        return f"s-{f.name}"
    if kind == FieldDescriptor.TYPE_BOOL:
        return True
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return 1.5
    if kind == FieldDescriptor.TYPE_BYTES:
        return "AAE="
    if kind in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64):
        return MAX_SAFE
    if kind in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32):
        return -7
    return 7


def test_the_contract_has_messages_of_every_kind() -> None:
    kinds = {f.type for d in ALL_MESSAGES for f in d.fields}
    assert {FieldDescriptor.TYPE_ENUM, FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_INT64}
    assert kinds >= {
        FieldDescriptor.TYPE_ENUM,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_BOOL,
    }
    assert len(REQUESTS) == len(all_rpcs())


@pytest.mark.parametrize("rpc", REQUESTS, ids=lambda r: r.name)
def test_every_request_parses_from_an_empty_object(rpc: Any) -> None:
    message = codec.from_json({}, rpc.request_cls())
    assert message == rpc.request_cls()


@pytest.mark.parametrize("desc", ALL_MESSAGES, ids=lambda d: d.name)
def test_every_message_round_trips_a_full_sample(desc: Descriptor) -> None:
    data = sample(desc)
    message = codec.from_json(data, GetMessageClass(desc)())
    assert codec.to_json(message) == data
    again = codec.from_json(codec.to_json(message), GetMessageClass(desc)())
    assert again == message
    assert GetMessageClass(desc).FromString(message.SerializeToString()) == message


@pytest.mark.parametrize("desc", ALL_MESSAGES, ids=lambda d: d.name)
def test_every_message_rejects_an_unknown_field(desc: Descriptor) -> None:
    err = rejects({**sample(desc), "zz_unknown": 1}, GetMessageClass(desc)())
    assert err.details["field"] == "zz_unknown"


def test_every_enum_value_has_the_stripped_prefix() -> None:
    enums = {
        f.enum_type.full_name: f.enum_type for d in ALL_MESSAGES for f in d.fields if f.enum_type
    }
    assert len(enums) >= 5
    for enum in enums.values():
        prefix = codec.enum_prefix(enum)
        assert enum.values_by_number[0].name == prefix + "UNSPECIFIED", enum.full_name
        for value in enum.values:
            assert value.name.startswith(prefix), (enum.full_name, value.name)
            wire = codec.enum_wire_name(enum, value.number)
            assert wire == (None if value.number == 0 else value.name.removeprefix(prefix))
