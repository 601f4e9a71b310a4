"""Authentication edge cases on a live server (issue 7 finding 5): repeated or empty credential
headers are refused, and failed authentications are limited per client address."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import grpc
import httpx
import pytest

from concord_server._gen.concord.v1 import auth_pb2
from tests.e2e.live import ADMIN_KEY, LiveServer

pytestmark = pytest.mark.slow
BURST = 5
GUARD_ENV = {  # BURST failures allowed per address, refilling slowly
    "CONCORD_AUTH_FAILURE_BURST": str(BURST),
    "CONCORD_AUTH_FAILURE_RATE_PER_SECOND": "0.01",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server whose failed-authentication guard allows BURST failures, refilling slowly."""
    live = LiveServer(tmp_path_factory.mktemp("auth"), GUARD_ENV).start()
    try:
        yield live
    finally:
        live.stop()


def client_from(server: LiveServer, source: str) -> httpx.Client:
    """A client whose connections come from a loopback address of our choice."""
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=server.base_url, transport=transport, timeout=30)


def whoami(http: httpx.Client, headers: list[tuple[str, str]]) -> httpx.Response:
    return http.get("/v1/auth/whoami", headers=headers)


def reason(response: httpx.Response) -> str:
    return str(response.json()["details"].get("reason", ""))


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ([("X-API-Key", ADMIN_KEY), ("X-API-Key", ADMIN_KEY)], "ambiguous_credential"),
        ([("Authorization", "Bearer a"), ("Authorization", "Bearer b")], "ambiguous_credential"),
        ([("Authorization", "")], "malformed_credential"),
        ([("Authorization", ""), ("X-API-Key", ADMIN_KEY)], "malformed_credential"),
    ],
)
def test_repeated_or_empty_credentials_are_refused(
    server: LiveServer, headers: list[tuple[str, str]], why: str
) -> None:
    with client_from(server, "127.0.0.10") as http:
        answer = whoami(http, headers)
    assert answer.status_code == 401, answer.text
    assert reason(answer) == why


async def _grpc_whoami(port: int, metadata: tuple[tuple[str, str], ...]) -> grpc.StatusCode:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(
            "/concord.v1.AuthService/WhoAmI",
            request_serializer=auth_pb2.WhoAmIRequest.SerializeToString,
            response_deserializer=auth_pb2.WhoAmIResponse.FromString,
        )
        try:
            await call(auth_pb2.WhoAmIRequest(), metadata=metadata)
        except grpc.aio.AioRpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


def test_grpc_refuses_a_repeated_api_key(server: LiveServer) -> None:
    twice = (("x-api-key", ADMIN_KEY), ("x-api-key", ADMIN_KEY))
    assert asyncio.run(_grpc_whoami(server.grpc_port, twice)) == grpc.StatusCode.UNAUTHENTICATED
    once = (("x-api-key", ADMIN_KEY),)
    assert asyncio.run(_grpc_whoami(server.grpc_port, once)) == grpc.StatusCode.OK


def test_failed_authentications_are_limited_per_address(server: LiveServer) -> None:
    with client_from(server, "127.0.0.20") as guesser, client_from(server, "127.0.0.21") as other:
        statuses = [whoami(guesser, [("X-API-Key", f"guess-{i}")]).status_code for i in range(8)]
        assert statuses == [401] * BURST + [429] * (8 - BURST)
        throttled = whoami(guesser, [("X-API-Key", ADMIN_KEY)])  # even the right key waits
        assert throttled.status_code == 429
        assert throttled.json()["code"] == "RATE_LIMITED"
        assert int(throttled.headers["retry-after"]) >= 1
        assert whoami(other, [("X-API-Key", ADMIN_KEY)]).status_code == 200
        metrics = other.get("/metrics").text
    assert 'concord_auth_failures_total{outcome="refused"}' in metrics
    assert 'concord_auth_failures_total{outcome="throttled"}' in metrics


def test_forwarded_headers_do_not_change_the_client_address(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The address is the TCP peer, even from loopback: X-Forwarded-For cannot dodge the limit
    (a server of its own, whose loopback bucket no other test has used)."""
    live = LiveServer(tmp_path_factory.mktemp("forwarded"), GUARD_ENV).start()
    try:
        with client_from(live, "127.0.0.1") as guesser:
            statuses = [
                whoami(guesser, [("X-API-Key", f"guess-{i}"), ("X-Forwarded-For", f"10.0.0.{i}")])
                for i in range(BURST + 1)
            ]
    finally:
        live.stop()
    assert [s.status_code for s in statuses] == [401] * BURST + [429]
