"""The fast lane of unary contract RPCs: which requests take it, and that its answers carry
everything the full stack's do (request id, traceparent, metrics, problem bodies, CORS)."""

from __future__ import annotations

from prometheus_client import REGISTRY

from tests.api.restkit import ACQUIRE, client_for, problem
from tests.fakes import AUTH, Harness, make_settings

ORIGIN = "https://console.example"


def requests_counted(route: str, status: str) -> float:
    labels = {"method": "POST", "route": route, "status": status}
    return REGISTRY.get_sample_value("concord_http_requests_total", labels) or 0.0


async def test_a_unary_call_takes_the_lane_with_the_envelope() -> None:
    harness = Harness(settings=make_settings())
    before = requests_counted("/v1/locks/{name}:acquire", "200")
    async with client_for(harness, **AUTH) as client:
        answer = await client.post(
            "/v1/locks/a:acquire", json=ACQUIRE, headers={"X-Request-ID": "mine-1"}
        )
    assert answer.status_code == 200, answer.text
    assert harness.app.middleware_stack is None  # the full stack was never even built
    assert answer.headers["x-request-id"] == "mine-1"
    assert answer.headers["traceparent"].startswith("00-")
    assert harness.locks.last_ctx("AcquireLock").request_id == "mine-1"
    assert requests_counted("/v1/locks/{name}:acquire", "200") == before + 1


async def test_failures_in_the_lane_are_problem_documents() -> None:
    harness = Harness(settings=make_settings())
    async with client_for(harness, **AUTH) as client:
        conflict = await client.post("/v1/locks/a:acquire", json={**ACQUIRE, "owner": "conflict"})
        crash = await client.post("/v1/locks/a:acquire", json={**ACQUIRE, "owner": "boom"})
        unknown = await client.post("/v1/locks/a:acquire", json={**ACQUIRE, "nope": 1})
    assert harness.app.middleware_stack is None
    assert problem(conflict, 409, "LOCK_CONFLICT")["details"]["holder"] == "other"
    assert "boom" not in problem(crash, 500, "INTERNAL")["message"]
    assert problem(unknown, 400, "INVALID_ARGUMENT")["details"]["field"] == "nope"


async def test_everything_else_takes_the_full_stack() -> None:
    harness = Harness(settings=make_settings())
    async with client_for(harness, **AUTH) as client:
        missing = await client.get("/v1/nothing/here")
        assert harness.app.middleware_stack is not None
        wrong_method = await client.delete("/v1/locks/a:acquire")
    problem(missing, 404, "NOT_FOUND")
    problem(wrong_method, 405, "METHOD_NOT_ALLOWED")


async def test_with_cors_on_a_request_with_an_origin_gets_the_cors_headers() -> None:
    harness = Harness(settings=make_settings(cors_origins=[ORIGIN]))
    async with client_for(harness, **AUTH) as client:
        plain = await client.post("/v1/locks/a:acquire", json=ACQUIRE)
        assert harness.app.middleware_stack is None
        cross = await client.post("/v1/locks/a:acquire", json=ACQUIRE, headers={"Origin": ORIGIN})
    assert plain.status_code == cross.status_code == 200
    assert "access-control-allow-origin" not in plain.headers
    assert cross.headers["access-control-allow-origin"] == ORIGIN
    assert cross.headers["x-request-id"] and cross.headers["traceparent"]
