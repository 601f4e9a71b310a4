"""WebSocket subscriptions against an in-process `websockets` server scripted per test."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

import concord
from concord import AsyncConcord, Concord
from concord._core.ws import ws_url

from .helpers import Recorder, ok

Script = Callable[[ServerConnection, dict[str, Any]], None]
LOCK = {"name": "a", "owner": "w1", "fencing_token": 7}


class FakeServer:
    """A `/v1/ws` server that records the upgrade and subscribe, then runs `script`."""

    def __init__(self, script: Script, reject: Response | None = None) -> None:
        self.script = script
        self.reject = reject
        self.headers: Headers | None = None
        self.path = ""
        self.subscribe: dict[str, Any] = {}
        self.received: list[dict[str, Any]] = []
        self.closed = threading.Event()
        self.server: Server = serve(self._handle, "127.0.0.1", 0, process_request=self._check)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        """The http:// base URL of this server."""
        port = self.server.socket.getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def _check(self, conn: ServerConnection, request: Request) -> Response | None:
        self.headers, self.path = request.headers, request.path
        return self.reject

    def _handle(self, conn: ServerConnection) -> None:
        try:
            self.subscribe = json.loads(conn.recv())
            self.script(conn, self.subscribe)
            for raw in conn:  # whatever the client still sends, until it closes
                self.received.append(json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()

    def client(self, **options: Any) -> Concord:
        """A sync client of this server."""
        options.setdefault("api_key", "k1")
        return Concord(stream_transport="websocket", base_url=self.url, max_retries=0, **options)

    def async_client(self, **options: Any) -> AsyncConcord:
        """An async client of this server."""
        options.setdefault("api_key", "k1")
        return AsyncConcord(
            stream_transport="websocket", base_url=self.url, max_retries=0, **options
        )


@pytest.fixture
def servers() -> Iterator[Callable[..., FakeServer]]:
    """Starts fake servers and shuts them down after the test."""
    started: list[FakeServer] = []

    def start(script: Script, reject: Response | None = None) -> FakeServer:
        started.append(FakeServer(script, reject))
        return started[-1]

    yield start
    for server in started:
        server.server.shutdown()


def send(conn: ServerConnection, kind: str, **fields: Any) -> None:
    """Sends one server message."""
    conn.send(json.dumps({"type": kind, "id": "s1", **fields}))


def two_then_complete(conn: ServerConnection, sub: dict[str, Any]) -> None:
    """subscribed, two lock events, complete."""
    send(conn, "subscribed")
    send(conn, "message", message={"type": "ACQUIRED", "lock": LOCK})
    send(conn, "pong")  # unknown to the stream: skipped
    send(conn, "message", message={"type": "RELEASED", "lock": LOCK})
    send(conn, "complete")


def test_messages_are_typed_and_the_upgrade_carries_headers(servers: Any) -> None:
    server = servers(two_then_complete)
    with server.client(extra_headers={"X-Trace": "t1"}) as client:
        events = list(client.locks.watch(prefix="a"))
    assert [e.type for e in events] == ["ACQUIRED", "RELEASED"]
    assert events[0].lock is not None and events[0].lock.fencing_token == 7
    assert server.path == "/v1/ws"
    assert server.subscribe == {
        "type": "subscribe",
        "id": "s1",
        "rpc": "WatchLocks",
        "request": {"prefix": "a"},
    }
    assert server.headers is not None
    assert server.headers["X-API-Key"] == "k1"
    assert server.headers["User-Agent"].startswith("concord-python/")
    assert server.headers["X-Trace"] == "t1"
    assert len(server.headers["X-Request-ID"]) == 36
    assert server.closed.wait(5)


def test_bearer_token_goes_in_authorization(servers: Any) -> None:
    server = servers(two_then_complete)
    with server.client(api_key=None, bearer_token="jwt-1") as client:
        assert len(list(client.events.subscribe_all())) == 2
    assert server.headers is not None
    assert server.headers["Authorization"] == "Bearer jwt-1"
    assert "X-API-Key" not in server.headers
    assert server.subscribe["rpc"] == "SubscribeToAll"


def error_script(code: str) -> Script:
    """Answers the subscribe with an `error` message of `code`."""

    def script(conn: ServerConnection, sub: dict[str, Any]) -> None:
        body = {"code": code, "message": "no", "details": {"stream": "x"}, "request_id": "r-9"}
        send(conn, "error", error=body)

    return script


def test_error_message_raises_the_typed_error(servers: Any) -> None:
    server = servers(error_script("NOT_FOUND"))
    with server.client() as client, pytest.raises(concord.NotFoundError) as caught:
        list(client.events.subscribe("x"))
    err = caught.value
    assert (err.code, err.status, err.request_id) == ("NOT_FOUND", 404, "r-9")
    assert err.details == {"stream": "x"}
    assert server.closed.wait(5)


def test_unknown_error_code_is_a_concord_api_error(servers: Any) -> None:
    server = servers(error_script("BRAND_NEW"))
    with server.client() as client, pytest.raises(concord.ConcordAPIError) as caught:
        list(client.locks.watch())
    assert (caught.value.code, caught.value.status) == ("BRAND_NEW", 500)


def test_ping_is_answered_with_pong(servers: Any) -> None:
    def script(conn: ServerConnection, sub: dict[str, Any]) -> None:
        conn.send(json.dumps({"type": "ping"}))
        assert json.loads(conn.recv(timeout=5)) == {"type": "pong"}
        send(conn, "message", message={"type": "ACQUIRED", "lock": LOCK})
        send(conn, "complete")

    server = servers(script)
    with server.client() as client:
        assert len(list(client.locks.watch())) == 1


def closing_script(code: int, reason: str) -> Script:
    """One message, then the server closes with `code`."""

    def script(conn: ServerConnection, sub: dict[str, Any]) -> None:
        send(conn, "message", message={"type": "ACQUIRED", "lock": LOCK})
        conn.close(code, reason)

    return script


def test_slow_consumer_close_raises_slow_consumer_error(servers: Any) -> None:
    server = servers(closing_script(4008, "slow consumer"))
    seen = []
    with server.client() as client, pytest.raises(concord.SlowConsumerError) as caught:
        for event in client.locks.watch():
            seen.append(event)
    assert len(seen) == 1
    assert (caught.value.close_code, caught.value.reason) == (4008, "slow consumer")
    assert isinstance(caught.value, concord.APIConnectionError)


def test_close_before_complete_is_a_connection_error(servers: Any) -> None:
    server = servers(closing_script(1011, "boom"))
    with server.client() as client, pytest.raises(concord.APIConnectionError, match="1011"):
        list(client.locks.watch())


def endless(conn: ServerConnection, sub: dict[str, Any]) -> None:
    """Messages until the client goes away."""
    while True:
        send(conn, "message", message={"type": "ACQUIRED", "lock": LOCK})
        time.sleep(0.01)


def test_breaking_out_of_the_loop_closes_the_socket(servers: Any) -> None:
    server = servers(endless)
    with server.client() as client:
        for _ in client.locks.watch():
            break
        assert server.closed.wait(5)


def test_with_block_closes_the_socket(servers: Any) -> None:
    server = servers(endless)
    with server.client() as client, client.locks.watch() as stream:
        assert next(iter(stream)).type == "ACQUIRED"
    assert server.closed.wait(5)


def test_upgrade_refused_with_an_error_body_is_typed(servers: Any) -> None:
    body = json.dumps({"code": "UNAUTHENTICATED", "message": "no key", "request_id": "r-1"})
    headers = Headers({"Content-Type": "application/json"})
    reject = Response(401, "Unauthorized", headers, body.encode())
    server = servers(two_then_complete, reject)
    with server.client() as client, pytest.raises(concord.UnauthenticatedError) as caught:
        list(client.locks.watch())
    assert (caught.value.status, caught.value.request_id) == (401, "r-1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_connection_refused_is_retried_then_a_connection_error() -> None:
    sleeps: list[float] = []
    client = Concord(
        stream_transport="websocket",
        base_url=f"http://127.0.0.1:{free_port()}",
        api_key="k",
        max_retries=2,
    )
    client._sleep_hook = sleeps.append
    with client, pytest.raises(concord.APIConnectionError):
        list(client.locks.watch())
    assert len(sleeps) == 2


def test_connect_honours_the_client_timeout() -> None:
    with socket.socket() as listener:  # accepts TCP, never answers the upgrade
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with Concord(
            stream_transport="websocket", base_url=url, api_key="k", max_retries=0, timeout=0.3
        ) as client:
            started = time.monotonic()
            with pytest.raises(concord.APITimeoutError):
                list(client.locks.watch())
            assert time.monotonic() - started < 3


def test_sse_stays_selectable_per_client_and_per_call() -> None:
    frame = 'data: {"type":"ACQUIRED","lock":{"name":"a"}}\n\n'
    sse = httpx.Response(200, text=frame, headers={"content-type": "text/event-stream"})
    recorder = Recorder(sse)
    with recorder.client(stream_transport="websocket") as client:
        events = list(client.locks.watch(transport="sse"))
    assert [e.type for e in events] == ["ACQUIRED"]
    assert recorder.requests[0].url.path == "/v1/locks:watch"
    with recorder.client() as client:
        assert client.stream_transport == "sse"
    with pytest.raises(ValueError, match="stream_transport"):
        Concord(api_key="k", stream_transport="carrier-pigeon")  # type: ignore[arg-type]
    assert ok({}).status_code == 200


def test_ws_url() -> None:
    assert ws_url("http://h:1") == "ws://h:1/v1/ws"
    assert ws_url("https://h/api/") == "wss://h/api/v1/ws"
    with pytest.raises(ValueError):
        ws_url("ftp://h")


def test_async_messages_error_and_close(servers: Any) -> None:
    server = servers(two_then_complete)
    failing = servers(error_script("PERMISSION_DENIED"))
    endless_server = servers(endless)

    async def main() -> None:
        async with server.async_client() as client:
            events = [e async for e in await client.locks.watch(prefix="a")]
            assert [e.type for e in events] == ["ACQUIRED", "RELEASED"]
        async with failing.async_client() as client:
            with pytest.raises(concord.PermissionDeniedError):
                await client.discovery.watch("svc")  # refused when opened, not when read
        async with endless_server.async_client() as client:
            stream = await client.locks.watch()
            async for _ in stream:
                break
            await stream.aclose()

    asyncio.run(main())
    assert failing.subscribe["rpc"] == "WatchService"
    assert endless_server.closed.wait(5)


def test_a_refused_subscription_raises_when_opened(servers: Any) -> None:
    server = servers(error_script("PERMISSION_DENIED"))
    with server.client() as client, pytest.raises(concord.PermissionDeniedError):
        client.discovery.watch("svc")  # no iteration needed


def test_closing_from_another_thread_ends_the_stream_without_error(servers: Any) -> None:
    server = servers(endless)
    with server.client() as client:
        stream = client.locks.watch()
        seen = 0
        for _ in stream:
            seen += 1
            if seen == 1:
                threading.Thread(target=stream.close).start()
    assert seen >= 1 and server.closed.wait(5)


def test_a_redirect_to_another_origin_is_refused_and_sends_nothing_there(servers: Any) -> None:
    other = servers(two_then_complete)
    target = other.url + "/v1/ws"  # the http:// form a proxy would send
    headers = Headers({"Location": target})
    first = servers(two_then_complete, Response(307, "Temporary Redirect", headers, b""))
    with first.client() as client, pytest.raises(concord.CrossOriginRedirectError):
        client.locks.watch()
    assert first.headers is not None and other.headers is None
