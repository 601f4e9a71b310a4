"""Our GraphQL API works with a client nobody here wrote: `gql` (PyPI), against a live server.

gql fetches the schema by introspection and validates every document against it before
sending; queries and mutations go over HTTP (httpx), subscriptions over graphql-transport-ws.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

from tests.e2e.live import ADMIN_KEY, LiveServer

pytestmark = pytest.mark.slow
TIMEOUT = 60
ACQUIRE = GraphQLRequest("""
mutation Acquire($input: AcquireLockInput!) {
  acquireLock(input: $input) { lock { name owner fencingToken expiresAt ttl } }
}
""")
WATCH = GraphQLRequest("""
subscription Watch($prefix: String) {
  watchLocks(prefix: $prefix) { type lock { name fencingToken } occurredAt }
}
""")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One live server (embedded storage) for the module: each test uses its own names."""
    live = LiveServer(tmp_path_factory.mktemp("gql") / "data").start()
    try:
        yield live
    finally:
        live.stop()


def http_client(server: LiveServer, key: str = ADMIN_KEY) -> Client:
    transport = HTTPXAsyncTransport(
        url=f"{server.base_url}/graphql", headers={"X-API-Key": key}, timeout=TIMEOUT
    )
    return Client(transport=transport, fetch_schema_from_transport=True, execute_timeout=TIMEOUT)


async def test_queries_and_mutations_over_http(server: LiveServer) -> None:
    name = "gql-" + uuid.uuid4().hex[:8]
    async with http_client(server) as session:
        me = await session.execute(GraphQLRequest("{ whoAmI { subject credentialType } }"))
        assert me == {"whoAmI": {"subject": "bootstrap-admin", "credentialType": "API_KEY"}}
        acquired = await session.execute(
            GraphQLRequest(
                ACQUIRE, variable_values={"input": {"name": name, "owner": "a", "ttl": "30s"}}
            )
        )
        lock = acquired["acquireLock"]["lock"]
        assert (lock["name"], lock["owner"], lock["ttl"]) == (name, "a", "30s")
        assert isinstance(lock["fencingToken"], int) and lock["fencingToken"] > 0
        with pytest.raises(TransportQueryError) as refused:
            await session.execute(
                GraphQLRequest(
                    ACQUIRE, variable_values={"input": {"name": name, "owner": "b", "ttl": "30s"}}
                )
            )
    error: dict[str, Any] = (refused.value.errors or [{}])[0]
    assert error["extensions"]["code"] == "LOCK_CONFLICT"
    assert error["extensions"]["request_id"]


async def test_a_bad_key_is_unauthenticated(server: LiveServer) -> None:
    async with http_client(server, key="not-a-key") as session:
        with pytest.raises(TransportQueryError) as refused:
            await session.execute(GraphQLRequest("{ whoAmI { subject } }"))
    assert (refused.value.errors or [{}])[0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_subscription_over_graphql_transport_ws(server: LiveServer) -> None:
    prefix = "gqlw-" + uuid.uuid4().hex[:8]
    ws = WebsocketsTransport(
        url=f"ws://127.0.0.1:{server.http_port}/graphql",
        init_payload={"X-API-Key": ADMIN_KEY},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        connect_timeout=TIMEOUT,
    )
    async with Client(transport=ws, fetch_schema_from_transport=False) as session:
        events = session.subscribe(GraphQLRequest(WATCH, variable_values={"prefix": prefix}))

        async def first_event() -> dict[str, Any]:
            async for event in events:
                return dict(event)
            raise AssertionError("the subscription ended without an event")

        waiting = asyncio.create_task(first_event())
        async with http_client(server) as http:
            for _ in range(TIMEOUT * 10):  # acquire until the subscription (live) sees one
                variables = {"input": {"name": f"{prefix}-x", "owner": "o", "ttl": "30s"}}
                await http.execute(GraphQLRequest(ACQUIRE, variable_values=variables))
                done, _ = await asyncio.wait({waiting}, timeout=0.1)
                if done:
                    break
        event = await asyncio.wait_for(waiting, TIMEOUT)
    assert event["watchLocks"]["type"] == "ACQUIRED"
    assert event["watchLocks"]["lock"]["name"] == f"{prefix}-x"
