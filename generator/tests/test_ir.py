"""Functional tests: inline protos -> loader -> IR."""

from __future__ import annotations

import pytest

from concord_codegen.ir.model import Api, Idempotency, Method, TypeKind
from tests.conftest import MakeRoot
from tests.helpers import build
from tests.inline_protos import COMMON, LOCKS


@pytest.fixture
def api(make_root: MakeRoot) -> Api:
    built, diagnostics = build(make_root({"common.proto": COMMON, "locks.proto": LOCKS}))
    assert not diagnostics.errors, [str(d) for d in diagnostics.errors]
    return built


def method(api: Api, name: str) -> Method:
    return next(m for s in api.services for m in s.methods if m.name == name)


def test_files_package_and_version(api: Api) -> None:
    assert api.package == "concord.v1"
    assert api.version == "0.1.0"
    assert api.files == (
        "concord/v1/common.proto",
        "concord/v1/locks.proto",
        "concord/v1/options.proto",
    )
    assert api.error_message == "concord.v1.Error"


def test_options_messages_are_not_part_of_the_api(api: Api) -> None:
    assert api.message("concord.v1.FieldRules") is None


def test_body_star_with_path_param(api: Api) -> None:
    http = method(api, "AcquireLock").http
    assert http is not None
    assert (http.verb, http.path, http.body) == ("POST", "/v1/locks/{name}:acquire", "*")
    assert http.path_params == ("name",)
    assert http.body_fields == ("ttl", "expected")
    assert http.query_params == ()


def test_get_query_params_flatten_one_level(api: Api) -> None:
    http = method(api, "ListLocks").http
    assert http is not None
    assert (http.body, http.body_fields) == (None, ())
    names = [q.name for q in http.query_params]
    assert names == ["page_size", "page_token", "filter.prefix", "filter.states", "names"]
    states = http.query_params[3].field
    assert states.repeated and states.type.kind is TypeKind.ENUM


def test_body_field_leaves_rest_to_query(api: Api) -> None:
    http = method(api, "PutLabel").http
    assert http is not None
    assert (http.body, http.body_fields) == ("label", ("label",))
    assert http.path_params == ("name",)
    assert [q.name for q in http.query_params] == ["force"]


def test_pagination_detected(api: Api) -> None:
    paging = method(api, "ListLocks").pagination
    assert paging is not None
    assert paging.items_field == "locks"
    assert paging.next_page_token_field == "next_page_token"
    assert method(api, "AcquireLock").pagination is None


def test_streaming_auth_and_idempotency(api: Api) -> None:
    watch = method(api, "WatchLocks")
    assert watch.server_streaming and not watch.client_streaming
    assert watch.is_public
    acquire = method(api, "AcquireLock")
    assert acquire.auth is not None
    assert (acquire.auth.action, acquire.auth.resource) == ("locks.acquire", "locks/{name}")
    assert acquire.idempotency is Idempotency.UNKNOWN and not acquire.retry_safe
    assert method(api, "PutLabel").idempotency is Idempotency.IDEMPOTENT


def test_enum_values_are_stripped(api: Api) -> None:
    enum = api.enums_by_name["concord.v1.ExpectedStreamState"]
    assert [v.wire_name for v in enum.wire_values] == ["NO_STREAM", "ANY"]
    unspecified = enum.values[0]
    assert unspecified.unspecified and unspecified.name == "EXPECTED_STREAM_STATE_UNSPECIFIED"
    assert enum.values[1].doc == "The stream must not exist."


def test_error_catalogue(api: Api) -> None:
    codes = {c.code: c for c in api.errors}
    assert list(codes) == ["INVALID_ARGUMENT", "LOCK_CONFLICT", "RATE_LIMITED", "UNAUTHENTICATED"]
    conflict = codes["LOCK_CONFLICT"]
    assert (conflict.http_status, conflict.grpc_code, conflict.retryable) == (409, "ABORTED", True)
    assert conflict.name == "ERROR_CODE_LOCK_CONFLICT"
    assert conflict.doc == "Lock taken."
    assert codes["INVALID_ARGUMENT"].retryable is False


def test_field_rules_and_behaviour(api: Api) -> None:
    lock = api.message("concord.v1.Lock")
    assert lock is not None
    name = lock.get_field("name")
    assert name is not None and name.required and not name.output_only
    assert (name.rules.pattern, name.rules.min_length, name.rules.max_length) == ("^[a-z]+$", 1, 64)
    assert name.rules.minimum is None
    token = lock.get_field("fencing_token")
    assert token is not None and token.output_only and token.type.name == "int64"
    ttl = lock.get_field("ttl")
    assert ttl is not None and (ttl.rules.min_duration, ttl.rules.max_duration) == ("1s", "60s")
    priority = lock.get_field("priority")
    assert priority is not None and priority.optional and priority.oneof is None
    assert (priority.rules.minimum, priority.rules.maximum) == (1, 9)


def test_comments(api: Api) -> None:
    lock = api.message("concord.v1.Lock")
    assert lock is not None
    assert lock.doc == "A held lock.\n\nSecond paragraph."
    assert api.services[0].doc == "Locks."
    assert method(api, "AcquireLock").doc == "Acquire a lock."
    assert lock.location.file == "concord/v1/locks.proto" and lock.location.line > 0


def test_oneofs_maps_and_well_known(api: Api) -> None:
    lock = api.message("concord.v1.Lock")
    assert lock is not None
    assert [(o.name, o.fields, o.doc) for o in lock.oneofs] == [
        ("owner", ("client_id", "session_id"), "Owner.")
    ]
    client = lock.get_field("client_id")
    assert client is not None and client.oneof == "owner"
    labels = lock.get_field("labels")
    assert labels is not None and labels.map is not None and not labels.repeated
    assert (labels.map.key.name, labels.map.value.name) == ("string", "int64")
    expire = lock.get_field("expire_time")
    assert expire is not None and expire.type.kind is TypeKind.WELL_KNOWN
    assert expire.type.name == "google.protobuf.Timestamp"
    tags = lock.get_field("tags")
    assert tags is not None and tags.repeated and tags.json_name == "tags"
