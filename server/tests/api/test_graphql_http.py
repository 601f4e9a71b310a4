"""GraphQL over HTTP at /graphql: queries, mutations, errors, auth, limits, media types."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from concord_server._gen.concord.v1 import health_pb2
from concord_server.api.dispatch import Dispatcher
from concord_server.api.graphql import graphql_routes
from concord_server.api.graphql.graphiql import node_modules
from concord_server.backends.memory.idempotency import MemoryIdempotencyStore
from concord_server.middleware.metrics import RPC_CALLS
from tests.api.graphqlkit import (
    GRAPHQL_RESPONSE,
    field_error,
    graphql_harness,
    graphql_harness_with,
    post,
)
from tests.api.restkit import client_for
from tests.fakes import AUTH, SECRET, FakeGuard, Harness, build_app, make_settings

GET_LOCK = (
    "query($name: String!) { getLock(name: $name) "
    "{ lock { name owner fencingToken acquiredAt expiresAt ttl } } }"
)
ACQUIRE = (
    "mutation($i: AcquireLockInput!) { acquireLock(input: $i) "
    "{ lock { name owner fencingToken ttl } } }"
)


@pytest.fixture
def harness() -> Harness:
    return graphql_harness()


@pytest.fixture
async def client(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(harness, **AUTH) as c:
        yield c


async def test_query_answers_contract_values_in_graphql_names(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    response = await post(client, GET_LOCK, {"name": "l1"}, **{"X-Request-ID": "gq-1"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "data": {
            "getLock": {
                "lock": {
                    "name": "l1",
                    "owner": "me",
                    "fencingToken": 1,
                    "acquiredAt": "2026-01-02T03:04:05.123Z",
                    "expiresAt": None,
                    "ttl": "30s",
                }
            }
        }
    }
    ctx = harness.locks.last_ctx("GetLock")
    assert ctx.transport == "graphql" and ctx.request_id == "gq-1"
    assert ctx.principal.subject == "alice"


async def test_mutation_builds_the_request_message(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    variables = {"i": {"name": "l2", "owner": "host-1", "ttl": "1.5s", "waitTimeout": "0s"}}
    response = await post(client, ACQUIRE, variables)
    assert response.json()["data"]["acquireLock"]["lock"]["fencingToken"] == 42
    request = harness.locks.last("AcquireLock")
    assert (request.name, request.owner) == ("l2", "host-1")
    assert request.ttl.ToMilliseconds() == 1500
    assert request.HasField("wait_timeout")  # an explicit zero is sent, not dropped


async def test_catalogue_error_in_extensions(client: httpx.AsyncClient) -> None:
    variables = {"i": {"name": "l3", "owner": "conflict", "ttl": "30s"}}
    response = await post(client, ACQUIRE, variables)
    assert response.status_code == 200
    error = field_error(response, "LOCK_CONFLICT")
    assert error["message"] == "held by someone else"
    assert error["path"] == ["acquireLock"]
    assert error["extensions"]["details"] == {"holder": "other", "token": 7}
    assert response.json()["data"] == {"acquireLock": None}


async def test_handler_crash_is_a_bare_internal(client: httpx.AsyncClient) -> None:
    response = await post(client, ACQUIRE, {"i": {"name": "l4", "owner": "boom", "ttl": "30s"}})
    error = field_error(response, "INTERNAL")
    assert error["message"] == "internal error"
    assert SECRET not in response.text


async def test_codec_errors_name_the_field(client: httpx.AsyncClient) -> None:
    response = await post(client, ACQUIRE, {"i": {"name": "l5", "owner": "o", "ttl": "soon"}})
    error = field_error(response, "INVALID_ARGUMENT")
    assert error["extensions"]["details"]["field"] == "ttl"


async def test_nul_in_a_literal_is_refused(client: httpx.AsyncClient) -> None:
    response = await post(client, '{ getLock(name: "a\\u0000b") { lock { name } } }')
    error = field_error(response, "INVALID_ARGUMENT")
    assert error["extensions"]["details"] == {"field": "name", "reason": "invalid_text"}


async def test_nul_in_a_variable_is_refused_on_its_field(client: httpx.AsyncClient) -> None:
    # Named as REST and gRPC name it, on the field that got it: not a refusal of the document.
    response = await post(client, ACQUIRE, {"i": {"name": "l6", "owner": "a\x00b", "ttl": "5s"}})
    assert response.status_code == 200
    error = field_error(response, "INVALID_ARGUMENT")
    assert error["path"] == ["acquireLock"]
    assert error["extensions"]["details"] == {"field": "owner", "reason": "invalid_text"}


async def test_nul_in_the_query_text_is_refused(client: httpx.AsyncClient) -> None:
    response = await post(client, "{ __typename }\x00")
    assert response.status_code == 400
    error = field_error(response, "INVALID_ARGUMENT")
    assert error["extensions"]["details"] == {"field": "body.query", "reason": "invalid_text"}


async def test_each_root_field_is_one_call(harness: Harness, client: httpx.AsyncClient) -> None:
    query = (
        '{ a: getLock(name: "x") { lock { name } } b: getLock(name: "missing") { lock { name } } }'
    )
    response = await post(client, query)
    body = response.json()
    assert body["data"] == {"a": {"lock": {"name": "x"}}, "b": None}
    assert body["errors"][0]["path"] == ["b"]
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert len([r for r in harness.locks.requests if r[0] == "GetLock"]) == 2


async def test_no_credential_is_unauthenticated_but_public_fields_answer(
    harness: Harness,
) -> None:
    async with client_for(harness) as anonymous:
        response = await post(
            anonymous, '{ getLiveness { status } getLock(name: "x") { lock { name } } }'
        )
    body = response.json()
    assert body["data"] == {"getLiveness": {"status": "SERVING"}, "getLock": None}
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_rbac_refusal_is_permission_denied() -> None:
    harness = graphql_harness()
    harness.guard.deny.add("locks.read")
    async with client_for(harness, **AUTH) as c:
        response = await post(c, GET_LOCK, {"name": "x"})
    error = field_error(response, "PERMISSION_DENIED")
    assert error["extensions"]["details"] == {"action": "locks.read", "resource": "locks/x"}


async def test_rate_limit_sets_retry_after() -> None:
    harness = graphql_harness()
    harness.rate.limited.add("alice")
    async with client_for(harness, **AUTH) as c:
        response = await post(c, GET_LOCK, {"name": "x"})
    field_error(response, "RATE_LIMITED")
    assert response.headers["retry-after"] == "7"


async def test_get_runs_queries(client: httpx.AsyncClient) -> None:
    params = {"query": GET_LOCK, "variables": json.dumps({"name": "g"})}
    response = await client.get("/graphql", params=params)
    assert response.json()["data"]["getLock"]["lock"]["name"] == "g"


async def test_get_refuses_mutations_with_405(client: httpx.AsyncClient) -> None:
    query = 'mutation { acquireLock(input: {name: "a", owner: "o", ttl: "1s"}) { lock { name } } }'
    response = await client.get("/graphql", params={"query": query})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    field_error(response, "METHOD_NOT_ALLOWED")
    assert "data" not in response.json()


@pytest.mark.parametrize(("accept", "status"), [("application/json", 200), (GRAPHQL_RESPONSE, 400)])
async def test_subscription_over_http_points_to_the_websocket(
    client: httpx.AsyncClient, accept: str, status: int
) -> None:
    # A document that cannot run: 200 in plain JSON, 400 in the GraphQL response media type.
    response = await post(client, "subscription { watchLocks { type } }", Accept=accept)
    assert response.status_code == status
    assert response.headers["content-type"].startswith(accept)
    error = field_error(response, "INVALID_ARGUMENT")
    assert "graphql-transport-ws" in error["message"]
    assert error["extensions"]["details"]["reason"] == "subscription_over_http"


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b'{"variables": {}}', "application/json", 400),
        (b'{"query": 5}', "application/json", 400),
        (b"{ getLiveness { status } }", "application/graphql", 415),
        (b'{"query": "' + b"x" * 5000 + b'"}', "application/json", 413),
    ],
)
async def test_malformed_requests_are_4xx(
    client: httpx.AsyncClient, content: bytes, content_type: str, status: int
) -> None:
    response = await client.post(
        "/graphql", content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code == status, response.text
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] in ("INVALID_ARGUMENT", "PAYLOAD_TOO_LARGE")


async def test_document_errors_follow_the_media_type(client: httpx.AsyncClient) -> None:
    legacy = await post(client, "{ getLock(name: ")
    assert legacy.status_code == 200
    error = field_error(legacy, "INVALID_ARGUMENT")
    assert error["extensions"]["details"] == {"reason": "graphql_syntax"}
    modern = await post(client, "{ nope }", Accept=GRAPHQL_RESPONSE)
    assert modern.status_code == 400
    assert modern.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    error = field_error(modern, "INVALID_ARGUMENT")
    assert error["extensions"]["details"] == {"reason": "graphql_validation"}
    assert "data" not in modern.json()


async def test_bad_variables_run_nothing(harness: Harness, client: httpx.AsyncClient) -> None:
    query = (
        'query($d: ReadDirection) { readStream(stream: "s", direction: $d) '
        "{ events { revision } } }"
    )
    response = await post(client, query, {"d": "SIDEWAYS"}, Accept=GRAPHQL_RESPONSE)
    assert response.status_code == 400
    field_error(response, "INVALID_ARGUMENT")
    assert "data" not in response.json()
    assert harness.events.requests == []


async def test_depth_limit() -> None:
    harness = graphql_harness(graphql_max_depth=2)
    async with client_for(harness, **AUTH) as c:
        response = await post(c, GET_LOCK, {"name": "x"})
    error = field_error(response, "INVALID_ARGUMENT")
    assert error["extensions"]["details"] == {
        "reason": "query_too_deep",
        "depth": 3,
        "max_depth": 2,
    }
    assert harness.locks.requests == []


async def test_cost_limit_counts_every_root_field_as_a_call() -> None:
    harness = graphql_harness(graphql_max_cost=25)
    query = "{ a: getLiveness { status } b: getLiveness { status } c: getLiveness { status } }"
    async with client_for(harness, **AUTH) as c:
        over = await post(c, query)
        under = await post(c, "{ a: getLiveness { status } b: getLiveness { status } }")
    error = field_error(over, "INVALID_ARGUMENT")
    assert error["extensions"]["details"] == {
        "reason": "query_too_costly",
        "cost": 33,
        "max_cost": 25,
    }
    assert under.json()["data"]["b"] == {"status": "SERVING"}


async def test_introspection_can_be_switched_off() -> None:
    on = graphql_harness()
    off = graphql_harness(graphql_introspection=False)
    query = "{ __schema { queryType { name } } }"
    async with client_for(on) as c:
        assert (await post(c, query)).json()["data"]["__schema"]["queryType"]["name"] == "Query"
    async with client_for(off) as c:
        refused = (await post(c, query)).json()
        assert "data" not in refused
        assert refused["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
        assert "introspection has been disabled" in refused["errors"][0]["message"]
        assert (await post(c, "{ __typename }")).json()["data"] == {"__typename": "Query"}
        assert (await c.get("/graphiql")).status_code == 404


async def test_keyed_mutation_with_several_fields_is_refused(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    query = (
        'mutation { a: acquireLock(input: {name: "a", owner: "o", ttl: "1s"}) { lock { name } } '
        'b: acquireLock(input: {name: "b", owner: "o", ttl: "1s"}) { lock { name } } }'
    )
    response = await post(client, query, None, **{"Idempotency-Key": "k-1"})
    assert response.status_code == 400
    error = field_error(response, "INVALID_ARGUMENT")
    assert error["extensions"]["details"]["reason"] == "idempotency_key_ambiguous"
    assert harness.locks.requests == []


async def test_access_log_and_metrics_name_graphql(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    before = RPC_CALLS.labels("graphql", "GetLock", "OK").value
    with caplog.at_level(logging.INFO, logger="concord.access"):
        await post(client, GET_LOCK, {"name": "x"})
    assert RPC_CALLS.labels("graphql", "GetLock", "OK").value == before + 1
    lines = [r for r in caplog.records if r.name == "concord.access"]
    rpc = next(r for r in lines if getattr(r, "rpc", "") == "GetLock")
    http = next(r for r in lines if getattr(r, "route", "") == "/graphql")
    assert rpc.transport == http.transport == "graphql"  # type: ignore[attr-defined]
    assert rpc.code == "OK" and http.subject == "alice"  # type: ignore[attr-defined]


APPEND = "mutation($i: AppendToStreamInput!) { appendToStream(input: $i) { position revisions } }"


async def test_json_null_and_absent_stay_apart(harness: Harness, client: httpx.AsyncClient) -> None:
    events = [{"eventId": str(uuid.uuid4()), "type": "T", "data": None}]
    events.append({"eventId": str(uuid.uuid4()), "type": "T"})
    response = await post(client, APPEND, {"i": {"stream": "s", "events": events}})
    body = response.json()
    assert body["data"]["appendToStream"] == {"position": 2**53 - 1, "revisions": [0, 1]}
    _, request = harness.events.requests[-1]
    assert request.events[0].HasField("data")
    assert request.events[0].data.WhichOneof("kind") == "null_value"
    assert not request.events[1].HasField("data")


async def test_int64_rejects_non_integers(client: httpx.AsyncClient) -> None:
    query = 'query($r: Int64) { readStream(stream: "s", fromRevision: $r) { events { revision } } }'
    for bad in ("5", 1.5, True, 2**64):
        response = await post(client, query, {"r": bad})
        assert "data" not in response.json(), bad
        field_error(response, "INVALID_ARGUMENT")


class OddHealth:
    """HealthService answering a readiness status the contract does not know (a newer server)."""

    SERVICE = "concord.v1.HealthService"

    async def GetReadiness(self, request: Any, ctx: Any) -> health_pb2.GetReadinessResponse:
        return health_pb2.GetReadinessResponse(status=99)  # type: ignore[arg-type]


async def test_unknown_enum_value_reads_as_null() -> None:
    dispatcher = Dispatcher([OddHealth()], FakeGuard())
    settings = make_settings()
    app = build_app(dispatcher, settings)
    app.router.routes.extend(graphql_routes(dispatcher, settings))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://concord") as c:
        response = await post(c, "{ getReadiness { status components { name } } }")
    assert response.json() == {"data": {"getReadiness": {"status": None, "components": []}}}


async def test_keyed_mutation_is_replayed() -> None:
    harness = graphql_harness_with(idempotency=MemoryIdempotencyStore())
    variables = {"i": {"name": "r", "owner": "o", "ttl": "30s"}}
    async with client_for(harness, **AUTH) as c:
        first = await post(c, ACQUIRE, variables, **{"Idempotency-Key": "g-1"})
        again = await post(c, ACQUIRE, variables, **{"Idempotency-Key": "g-1"})
    assert first.json() == again.json()
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert len([r for r in harness.locks.requests if r[0] == "AcquireLock"]) == 1


async def test_graphiql_page_is_served_offline(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphiql")
    if node_modules(make_settings()) is None:
        assert page.status_code == 503  # assets not installed: the page says how
        return
    assert page.status_code == 200
    assert "/graphiql/assets/graphiql/graphiql.min.js" in page.text
    assert "https://" not in page.text  # nothing from a CDN
    for asset in (
        "/graphiql/assets/graphiql/graphiql.min.js",
        "/graphiql/assets/graphiql/graphiql.min.css",
        "/graphiql/assets/react/react.production.min.js",
        "/graphiql/assets/react-dom/react-dom.production.min.js",
    ):
        assert (await client.get(asset)).status_code == 200, asset
