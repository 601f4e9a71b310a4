"""SSE streams: the client's timeout bounds the opening, never the wait between messages."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

import concord
from concord import AsyncConcord, Concord

QUIET_SECONDS = 1.0
TIMEOUT = 0.3
EVENT = b'data: {"event":{"stream":"s","revision":0}}\n\n'


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture
def quiet_url() -> Iterator[str]:
    """A server that opens a stream at once, then stays quiet longer than TIMEOUT, then sends
    one event and ends the stream."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            conn.sendall(head + b"transfer-encoding: chunked\r\n\r\n")
            time.sleep(QUIET_SECONDS)
            conn.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(EVENT), EVENT))
            conn.recv(1)  # until the client closes

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    thread.join(timeout=5)
    listener.close()


def test_opening_is_bounded_by_the_client_timeout(silent_url: str) -> None:
    with Concord(base_url=silent_url, api_key="k", max_retries=0, timeout=TIMEOUT) as client:
        started = time.monotonic()
        with pytest.raises(concord.APITimeoutError):
            client.events.subscribe("s")
        assert time.monotonic() - started < 3


def test_async_opening_is_bounded_by_the_client_timeout(silent_url: str) -> None:
    async def run() -> None:
        async with AsyncConcord(
            base_url=silent_url, api_key="k", max_retries=0, timeout=TIMEOUT
        ) as c:
            await c.events.subscribe("s")

    with pytest.raises(concord.APITimeoutError):
        asyncio.run(asyncio.wait_for(run(), 3))


def test_a_quiet_stream_outlives_the_timeout(quiet_url: str) -> None:
    client = Concord(base_url=quiet_url, api_key="k", max_retries=0, timeout=TIMEOUT)
    with client, client.events.subscribe("s") as stream:
        revisions = [m.event.revision for m in stream if m.event is not None]
    assert revisions == [0]


def test_an_async_quiet_stream_outlives_the_timeout(quiet_url: str) -> None:
    async def run() -> list[int]:
        async with (
            AsyncConcord(base_url=quiet_url, api_key="k", max_retries=0, timeout=TIMEOUT) as c,
            await c.events.subscribe("s") as stream,
        ):
            return [m.event.revision async for m in stream if m.event is not None]

    assert asyncio.run(asyncio.wait_for(run(), 5)) == [0]
