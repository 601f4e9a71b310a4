"""The REST transport over a dispatcher of fakes: mapping, malformed input, routing, request ids."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from concord_server.api.rest.transcoder import make_endpoint
from concord_server.api.rpcs import Rpc, all_rpcs
from concord_server.app import install_http_behaviour
from tests.api.restkit import ACQUIRE, client_for, problem
from tests.fakes import (
    AUTH,
    SECRET,
    Harness,
)

# ---------------------------------------------------------------- mapping


async def test_path_and_body_make_the_request(harness: Harness, client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/locks/res-1:acquire", json={**ACQUIRE, "wait_timeout": "1.5s"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    lock = response.json()["lock"]
    assert lock["name"] == "res-1" and lock["owner"] == "host-1"
    assert lock["fencing_token"] == 42 and type(lock["fencing_token"]) is int
    assert lock["ttl"] == "30s" and lock["acquired_at"] == "2026-01-02T03:04:05.123Z"
    request = harness.locks.last("AcquireLock")
    assert request.name == "res-1"
    assert request.wait_timeout.ToMilliseconds() == 1500


async def test_custom_verb_after_a_name_with_colons(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    response = await client.post("/v1/locks/a:b:acquire", json=ACQUIRE)
    assert response.status_code == 200, response.text
    assert harness.locks.last("AcquireLock").name == "a:b"
    assert response.json()["lock"]["name"] == "a:b"


async def test_get_with_a_name_that_looks_like_a_verb_is_get_lock(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    response = await client.get("/v1/locks/x:acquire")
    assert response.status_code == 200
    assert harness.locks.last("GetLock").name == "x:acquire"


async def test_path_value_equal_to_the_body_value_is_fine(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/locks/a:acquire", json={**ACQUIRE, "name": "a"})
    assert response.status_code == 200


async def test_path_value_conflicting_with_the_body_is_rejected(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/locks/a:acquire", json={**ACQUIRE, "name": "b"})
    assert problem(response, 400, "INVALID_ARGUMENT")["details"]["field"] == "name"


async def test_repeated_bool_and_int_query_params(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    response = await client.get(
        "/v1/services/api/instances",
        params=[("tags", "a"), ("tags", "b"), ("include_unhealthy", "true"), ("page_size", "5")],
    )
    assert response.status_code == 200, response.text
    _, request = harness.discovery.requests[-1]
    assert request.service == "api"
    assert list(request.tags) == ["a", "b"]
    assert request.include_unhealthy is True
    assert request.page_size == 5
    assert response.json()["instances"][0]["tags"] == ["a", "b"]


async def test_enum_and_optional_int_query_params(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    response = await client.get(
        "/v1/streams/orders-1/events", params={"direction": "BACKWARD", "from_revision": "0"}
    )
    assert response.status_code == 200, response.text
    _, request = harness.events.requests[-1]
    assert request.stream == "orders-1"
    assert request.direction == 2
    assert request.HasField("from_revision") and request.from_revision == 0
    await client.get("/v1/streams/orders-1/events")
    _, plain = harness.events.requests[-1]
    assert plain.direction == 0 and not plain.HasField("from_revision")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"direction": "SIDEWAYS"}, "direction"),
        ({"direction": "READ_DIRECTION_FORWARD"}, "direction"),
        ({"from_revision": "abc"}, "from_revision"),
        ({"from_revision": "1.5"}, "from_revision"),
        ({"from_revision": "-1"}, "from_revision"),
        ({"page_size": "2000"}, "page_size"),
        ({"bogus": "1"}, "bogus"),
        ({"stream": "other"}, "stream"),
        ({"page_size": ["1", "2"]}, "page_size"),
    ],
)
async def test_bad_query_params(
    client: httpx.AsyncClient, query: dict[str, Any], field: str
) -> None:
    response = await client.get("/v1/streams/orders-1/events", params=query)
    body = problem(response, 400, "INVALID_ARGUMENT")
    assert body["details"]["field"] == field
    if field == "direction":
        assert body["details"]["allowed"] == ["FORWARD", "BACKWARD"]


async def test_bad_bool_query_param(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/services/api/instances", params={"include_unhealthy": "1"})
    assert problem(response, 400, "INVALID_ARGUMENT")["details"]["field"] == "include_unhealthy"


async def test_query_params_are_refused_when_the_body_is_the_request(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/locks/a:acquire", params={"owner": "x"}, json=ACQUIRE)
    assert problem(response, 400, "INVALID_ARGUMENT")["details"]["field"] == "owner"


async def test_duration_and_bool_query_params_on_a_query_binding(harness: Harness) -> None:
    """No GET of the contract takes a Duration; bind AcquireLock as a GET to parse one."""
    acquire = next(r for r in all_rpcs() if r.name == "AcquireLock")
    as_get: Rpc = dataclasses.replace(
        acquire, http_method="GET", http_path="/t/{name}", http_body=""
    )
    app = Starlette(routes=[Route("/t/{name}", make_endpoint(as_get, harness.dispatcher, 100))])
    install_http_behaviour(app, harness.settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=AUTH) as c:
        ok = await c.get("/t/n1", params={"owner": "o", "ttl": "2.5s", "wait_timeout": "0s"})
        assert ok.status_code == 200, ok.text
        request = harness.locks.last("AcquireLock")
        assert request.ttl.ToMilliseconds() == 2500
        assert request.HasField("wait_timeout")
        bad = await c.get("/t/n1", params={"owner": "o", "ttl": "30"})
        assert problem(bad, 400, "INVALID_ARGUMENT")["details"]["field"] == "ttl"


async def test_empty_body_means_an_empty_request(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/locks/a:acquire")
    assert problem(response, 400, "INVALID_ARGUMENT")["details"] == {
        "field": "owner",
        "reason": "required",
    }


async def test_int64_answers_are_numbers(client: httpx.AsyncClient) -> None:
    events = [{"event_id": "0b6f7c8e-1d2a-4b3c-9d4e-5f6a7b8c9d0e", "type": "T", "data": {"x": 1}}]
    response = await client.post("/v1/streams/s1:append", json={"events": events})
    assert response.status_code == 200, response.text
    assert response.json() == {"next_expected_revision": 0, "position": 2**53 - 1, "revisions": [0]}


async def test_call_context_reaches_the_handler(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        "/v1/locks/a:acquire",
        json=ACQUIRE,
        headers={"Idempotency-Key": "idem-1", "X-Request-ID": "trace.1"},
    )
    assert response.status_code == 200
    ctx = harness.locks.last_ctx("AcquireLock")
    assert ctx.idempotency_key == "idem-1"
    assert ctx.request_id == "trace.1"
    assert ctx.transport == "rest"
    assert ctx.principal.subject == "alice"
    assert harness.guard.checks[-1] == ("alice", "locks.acquire", "locks/a")


# ---------------------------------------------------------------- malformed input and limits


@pytest.mark.parametrize(
    "raw",
    [b"{", b"{'owner': 'x'}", b'{"owner": "x", "ttl": NaN}', b"\xff\xfe{}", b"[" * 3000],
    ids=["truncated", "single-quotes", "nan", "not-utf8", "deep"],
)
async def test_malformed_json_is_a_400_problem(client: httpx.AsyncClient, raw: bytes) -> None:
    response = await client.post(
        "/v1/locks/a:acquire", content=raw, headers={"Content-Type": "application/json"}
    )
    body = problem(response, 400, "INVALID_ARGUMENT")
    assert body["details"]["field"] == "body"


async def test_a_non_object_body_is_rejected(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/locks/a:acquire", json=[ACQUIRE])
    assert problem(response, 400, "INVALID_ARGUMENT")["details"]["field"] == "body"


async def test_unknown_body_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/locks/a:acquire", json={**ACQUIRE, "ownr": "x"})
    assert problem(response, 400, "INVALID_ARGUMENT")["details"]["field"] == "ownr"


async def test_a_path_parameter_given_differently_in_the_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/locks/a:acquire", json={**ACQUIRE, "name": "b"})
    body = problem(response, 400, "INVALID_ARGUMENT")
    assert body["details"]["field"] == "name"
    assert body["message"] == "name in the body differs from the path"
    same = await client.post("/v1/locks/a:acquire", json={**ACQUIRE, "name": "a"})
    assert same.status_code == 200, same.text
    assert same.json()["lock"]["name"] == "a"


async def test_a_body_over_the_limit_with_content_length(client: httpx.AsyncClient) -> None:
    big = json.dumps({**ACQUIRE, "owner": "x" * 5000})
    response = await client.post("/v1/locks/a:acquire", content=big)
    assert int(response.request.headers["content-length"]) > 4096
    body = problem(response, 413, "PAYLOAD_TOO_LARGE")
    assert body["details"] == {"limit_bytes": 4096}


async def test_a_chunked_body_over_the_limit(harness: Harness, client: httpx.AsyncClient) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"owner": "'
        for _ in range(100):
            sent += 1
            yield b"x" * 1000
        yield b'", "ttl": "1s"}'

    response = await client.post("/v1/locks/a:acquire", content=chunks())
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    problem(response, 413, "PAYLOAD_TOO_LARGE")
    assert not any(name == "AcquireLock" for name, _, _ in harness.locks.requests)


async def test_a_body_at_the_limit_is_read(client: httpx.AsyncClient) -> None:
    body = json.dumps({**ACQUIRE, "owner": ""})
    padded = body.replace('"owner": ""', '"owner": "' + "o" * 200 + '"')
    padded += " " * (4096 - len(padded))
    assert len(padded) == 4096
    response = await client.post("/v1/locks/a:acquire", content=padded)
    assert response.status_code == 200, response.text


async def test_a_lying_content_length_over_the_limit_is_refused_before_reading(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/v1/locks/a:acquire", content=b"{}", headers={"Content-Length": "999999999"}
    )
    problem(response, 413, "PAYLOAD_TOO_LARGE")


async def test_an_encoded_newline_in_a_path_param_fails_validation(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/locks/abc%0A:acquire", json=ACQUIRE)
    assert problem(response, 400, "INVALID_ARGUMENT")["details"]["field"] == "name"


# ---------------------------------------------------------------- routing errors


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nothing/here")
    body = problem(response, 404, "NOT_FOUND")
    assert "/v1/nothing/here" in body["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v1/locks/a:acquire"),
        ("PATCH", "/v1/locks"),
        ("PUT", "/v1/health/live"),
        ("POST", "/v1/locks/a"),
    ],
)
async def test_wrong_method_is_a_4xx_problem(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path)
    assert 400 <= response.status_code < 500
    body = problem(response, response.status_code, response.json()["code"])
    assert (response.status_code, body["code"]) in ((405, "METHOD_NOT_ALLOWED"), (404, "NOT_FOUND"))


async def test_wrong_method_names_the_allowed_methods(client: httpx.AsyncClient) -> None:
    response = await client.delete("/v1/locks/a:acquire")
    assert problem(response, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in response.headers["allow"]


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PATCH"])
async def test_methods_no_route_offers_are_405(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, "/v1/locks/a")
    assert problem(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"]


@pytest.mark.parametrize(
    "path", ["/v1/locks/a:frobnicate", "/v1/locks/orders:42:steal", "/v1/sagas/s1:restart"]
)
async def test_unknown_custom_methods_are_404(client: httpx.AsyncClient, path: str) -> None:
    body = problem(await client.post(path, json={}), 404, "NOT_FOUND")
    assert body["message"].startswith("no custom method :")


async def test_an_unexpected_handler_failure_is_a_500_without_the_message(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/locks/a:acquire", json={**ACQUIRE, "owner": "boom"})
    body = problem(response, 500, "INTERNAL")
    assert body["message"] == "internal error"
    assert SECRET not in response.text
    assert "RuntimeError" not in response.text


async def test_a_handler_answering_the_wrong_type_is_a_500(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/locks/a:acquire", json={**ACQUIRE, "owner": "wrong-type"})
    assert problem(response, 500, "INTERNAL")["message"] == "internal error"


async def test_a_failure_outside_the_dispatcher_is_a_500_problem(harness: Harness) -> None:
    async def broken(request: Any, ctx: Any) -> Any:
        raise KeyError(SECRET)

    # Not a dispatcher path: the transcoder's own machinery fails.
    harness.dispatcher._methods["/concord.v1.LockService/GetLock"] = broken
    original = harness.dispatcher.call

    async def crash(*args: Any) -> Any:
        raise ZeroDivisionError(SECRET)

    harness.dispatcher.call = crash  # type: ignore[method-assign,assignment]
    try:
        async with client_for(harness, **AUTH) as c:
            response = await c.get("/v1/locks/a", headers={"X-Request-ID": "r-500"})
    finally:
        harness.dispatcher.call = original  # type: ignore[method-assign]
    body = problem(response, 500, "INTERNAL")
    assert body["request_id"] == "r-500"
    assert SECRET not in response.text


async def test_a_catalogue_error_keeps_code_and_details(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/locks/a:acquire", json={**ACQUIRE, "owner": "conflict"})
    body = problem(response, 409, "LOCK_CONFLICT")
    assert body["details"] == {"holder": "other", "token": 7}
    missing = await client.get("/v1/locks/missing")
    assert problem(missing, 404, "NOT_FOUND")["details"] == {"resource": "lock"}


async def test_an_rpc_without_a_handler_is_unavailable(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/sagas/s1")
    assert problem(response, 503, "UNAVAILABLE")


# ---------------------------------------------------------------- request ids


async def test_a_valid_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/locks/a", headers={"X-Request-ID": "abc-123:x.y_z"})
    assert response.headers["x-request-id"] == "abc-123:x.y_z"
    error = await client.get("/v1/locks/missing", headers={"X-Request-ID": "err-1"})
    assert error.headers["x-request-id"] == "err-1"
    assert error.json()["request_id"] == "err-1"


@pytest.mark.parametrize("given", [None, "", "has space", "x" * 129, "é", "a/b", "<script>"])
async def test_a_missing_or_invalid_request_id_is_replaced(
    client: httpx.AsyncClient, given: str | None
) -> None:
    headers: dict[bytes, bytes] = {} if given is None else {b"X-Request-ID": given.encode()}
    response = await client.get("/v1/locks/missing", headers=headers)
    generated = response.headers["x-request-id"]
    assert generated != given and generated.startswith("req_") and len(generated) == 36
    assert response.json()["request_id"] == generated
    assert response.headers.get_list("x-request-id") == [generated]


async def test_request_ids_differ_per_request(client: httpx.AsyncClient) -> None:
    ids = {(await client.get("/v1/health/live")).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("GET", "/v1/locks?prefix=a%00b", "prefix"),
        ("GET", "/v1/locks?prefix=a%ED%A0%80b", "prefix"),  # a lone surrogate, UTF-8 encoded
        ("GET", "/v1/locks?prefix=a%FFb", "prefix"),
        ("GET", "/v1/roleBindings?subject=a%00b", "subject"),
        ("POST", "/v1/locks/a%00b:acquire", "name"),  # the text rule before the name's pattern
        ("POST", "/v1/locks/a%FFb:acquire", "name"),
    ],
)
async def test_query_and_path_text_is_checked(
    client: httpx.AsyncClient, method: str, url: str, field: str
) -> None:
    response = await client.request(method, url, json=ACQUIRE if method == "POST" else None)
    body = problem(response, 400, "INVALID_ARGUMENT")
    assert body["details"] == {"field": field, "reason": "invalid_text"}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/locks/a:acquire", '{"owner": "a\\u0000b", "ttl": "30s"}', "owner"),
        ("/v1/locks/a:acquire", '{"owner": "\\ud800", "ttl": "30s"}', "owner"),
        (
            "/v1/streams/s:append",
            '{"events": [{"event_id": "e", "type": "T", "data": {"k": ["\\u0000"]}}]}',
            "events[0].data.k[0]",
        ),
    ],
)
async def test_refused_body_text_is_named_as_on_grpc(
    client: httpx.AsyncClient, path: str, body: str, field: str
) -> None:
    headers = {"Content-Type": "application/json"}
    response = await client.post(path, content=body.encode(), headers=headers)
    problem_body = problem(response, 400, "INVALID_ARGUMENT")
    assert problem_body["details"] == {"field": field, "reason": "invalid_text"}
