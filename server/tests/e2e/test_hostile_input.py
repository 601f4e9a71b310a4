"""Inputs that once gave 500 answer 400 INVALID_ARGUMENT on every engine and transport (issue 7
finding 2): JSON nested hundreds of levels deep, lone surrogate escapes, and NUL characters."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import struct_pb2

from concord_server._gen.concord.v1 import events_pb2, rbac_pb2
from tests.conftest import engine_url, isolated
from tests.e2e.live import ADMIN_KEY, LiveServer

pytestmark = pytest.mark.slow
GRPC_AUTH = (("x-api-key", ADMIN_KEY),)


@pytest.fixture(scope="module", params=["embedded", "engines"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A server on the embedded default, and one on PostgreSQL + Redis."""
    env: dict[str, str] = {}
    if request.param == "engines":
        pg = isolated(engine_url("postgres"), "postgres")
        redis = isolated(engine_url("redis"), "redis")
        env = {
            "CONCORD_LOCKS_URL": pg,
            "CONCORD_EVENTS_URL": pg,
            "CONCORD_SAGAS_URL": pg,
            "CONCORD_RBAC_URL": pg,
            "CONCORD_CACHE_URL": redis,
            "CONCORD_IDEMPOTENCY_URL": pg,
        }
    live = LiveServer(tmp_path_factory.mktemp(request.param), env).start()
    try:
        yield live
    finally:
        live.stop()


def nested(depth: int) -> str:
    """A JSON array nested `depth` levels deep, as text."""
    return "[" * depth + "1" + "]" * depth


def post_raw(http: httpx.Client, path: str, text: str) -> httpx.Response:
    """POSTs JSON text as it is (json= would escape what the test must send raw)."""
    return http.post(path, content=text.encode(), headers={"content-type": "application/json"})


def refused(response: httpx.Response, reason: str) -> None:
    """A 400 INVALID_ARGUMENT with the given reason, keeping the connection open."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "INVALID_ARGUMENT"
    assert body["details"].get("reason") == reason, body
    assert response.headers.get("connection", "").lower() != "close"


BODIES_WITH_A_VALUE = {
    "cache value": ("/v1/cache/ns/entries/k", '{"value": %s}', "put"),
    "event data": (
        "/v1/streams/s:append",
        '{"events": [{"event_id": "EVENT_ID", "type": "T", "data": %s}]}',
        "post",
    ),
    "saga input": (
        "/v1/sagas",
        '{"saga_id": "deep", "input": %s, "definition": {"name": "n", "steps": [{"name": "a",'
        ' "action": {"task": {"task_type": "t"}}}]}}',
        "post",
    ),
}


@pytest.mark.parametrize("depth", [150, 450, 980, 5000, 100_000])
@pytest.mark.parametrize("field", sorted(BODIES_WITH_A_VALUE))
def test_deeply_nested_values_are_refused(server: LiveServer, field: str, depth: int) -> None:
    path, template, verb = BODIES_WITH_A_VALUE[field]
    with server.client() as http:
        text = template % nested(depth)
        answer = http.request(
            verb.upper(), path, content=text.encode(), headers={"content-type": "application/json"}
        )
        refused(answer, "too_deep")
        assert http.get("/v1/health/live").status_code == 200  # same connection, still served


@pytest.mark.parametrize("field", sorted(BODIES_WITH_A_VALUE))
def test_values_nest_up_to_32_levels(server: LiveServer, field: str) -> None:
    path, template, verb = BODIES_WITH_A_VALUE[field]
    headers = {"content-type": "application/json"}
    with server.client() as http:
        text = template.replace('"deep"', '"deep-32"').replace("EVENT_ID", str(uuid.uuid4()))
        text = text % nested(31)  # 31 arrays around a number
        answer = http.request(verb.upper(), path, content=text.encode(), headers=headers)
        assert answer.status_code == 200, answer.text
        text = template.replace('"deep"', '"deep-33"').replace("EVENT_ID", str(uuid.uuid4()))
        text = text % nested(33)
        refused(
            http.request(verb.upper(), path, content=text.encode(), headers=headers), "too_deep"
        )


EVENT = {"event_id": "5a0f8f6e-4f7e-4f0e-9d7c-3a6b2f1e0d9c", "type": "T"}
STRING_FIELDS: dict[str, tuple[str, dict[str, Any]]] = {
    "lock owner": ("/v1/locks/l1:acquire", {"owner": "BAD", "ttl": "5s"}),
    "event data": ("/v1/streams/s1:append", {"events": [{**EVENT, "data": {"k": "BAD"}}]}),
    "event data key": ("/v1/streams/s2:append", {"events": [{**EVENT, "data": {"BAD": 1}}]}),
    "event metadata": ("/v1/streams/s3:append", {"events": [{**EVENT, "metadata": {"m": "BAD"}}]}),
    "api key name": ("/v1/apiKeys", {"name": "BAD", "subject": "s", "scopes": ["*"]}),
    "role description": ("/v1/roles", {"name": "r-nul", "description": "BAD", "permissions": []}),
    "saga input": (
        "/v1/sagas",
        {
            "saga_id": "text",
            "input": {"a": "BAD"},
            "definition": {
                "name": "n",
                "steps": [{"name": "a", "action": {"task": {"task_type": "t"}}}],
            },
        },
    ),
}


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800", "x\\udfffy"])
@pytest.mark.parametrize("field", sorted(STRING_FIELDS))
def test_nul_and_lone_surrogates_are_refused(server: LiveServer, field: str, escape: str) -> None:
    path, body = STRING_FIELDS[field]
    text = json.dumps(body).replace("BAD", escape)
    with server.client() as http:
        refused(post_raw(http, path, text), "invalid_text")


async def _grpc_answers(port: int) -> list[grpc.StatusCode]:
    """Status codes of gRPC calls carrying NUL in a string, in a Value, and a deep Value."""
    codes: list[grpc.StatusCode] = []
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        create_role = channel.unary_unary(
            "/concord.v1.RbacService/CreateRole",
            request_serializer=rbac_pb2.CreateRoleRequest.SerializeToString,
            response_deserializer=rbac_pb2.CreateRoleResponse.FromString,
        )
        append = channel.unary_unary(
            "/concord.v1.EventService/AppendToStream",
            request_serializer=events_pb2.AppendToStreamRequest.SerializeToString,
            response_deserializer=events_pb2.AppendToStreamResponse.FromString,
        )
        role = rbac_pb2.CreateRoleRequest(name="grpc-nul", description="a\x00b")
        with_nul = events_pb2.AppendToStreamRequest(stream="g1")
        with_nul.events.add(event_id=str(uuid.uuid4()), type="T").data.struct_value.update(
            {"k": "a\x00b"}
        )
        deep = events_pb2.AppendToStreamRequest(stream="g2")
        value = struct_pb2.Value(number_value=1)
        for _ in range(40):
            outer = struct_pb2.Value()
            outer.list_value.values.add().CopyFrom(value)
            value = outer
        deep.events.add(event_id=str(uuid.uuid4()), type="T").data.CopyFrom(value)
        for call, request in ((create_role, role), (append, with_nul), (append, deep)):
            try:
                await call(request, metadata=GRPC_AUTH)
                codes.append(grpc.StatusCode.OK)
            except grpc.aio.AioRpcError as exc:
                codes.append(exc.code())
    return codes


def test_grpc_refuses_the_same_input(server: LiveServer) -> None:
    codes = asyncio.run(_grpc_answers(server.grpc_port))
    assert codes == [grpc.StatusCode.INVALID_ARGUMENT] * 3


def test_explicit_null_event_data_is_kept(server: LiveServer) -> None:
    events = [
        {"event_id": str(uuid.uuid4()), "type": "Null", "data": None},
        {"event_id": str(uuid.uuid4()), "type": "Absent"},
    ]
    with server.client() as http:
        appended = http.post("/v1/streams/null-data:append", json={"events": events})
        assert appended.status_code == 200, appended.text
        read = http.get("/v1/streams/null-data/events").json()["events"]
    assert [("data" in e, e.get("data")) for e in read] == [(True, None), (False, None)]
