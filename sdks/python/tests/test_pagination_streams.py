"""Auto-pagination and Server-Sent Events subscriptions (sync and async)."""

from __future__ import annotations

import asyncio
import gc

import httpx
import pytest

from concord import LockConflictError, LockEventType, NotFoundError
from concord._core.sse import ServerSentEvent, SSEDecoder, iter_events
from tests.helpers import LOCK, ClosingStream, Recorder, error, sse


def pages(request: httpx.Request) -> httpx.Response:
    """Three pages of locks: a0,a1 / a2,a3 / a4."""
    token = request.url.params.get("page_token", "")
    start = int(token or 0)
    names = [f"a{i}" for i in range(start, min(start + 2, 5))]
    following = "" if start + 2 >= 5 else str(start + 2)
    body = {"locks": [{**LOCK, "name": n} for n in names], "next_page_token": following}
    return httpx.Response(200, json=body)


def test_iteration_walks_every_page() -> None:
    rec = Recorder(pages)
    names = [lock.name for lock in rec.client().locks.list(prefix="a", page_size=2)]
    assert names == ["a0", "a1", "a2", "a3", "a4"]
    assert [r.url.params.get("page_token") for r in rec.requests] == [None, "2", "4"]
    assert all(r.url.params["prefix"] == "a" for r in rec.requests)
    assert all(r.url.params["page_size"] == "2" for r in rec.requests)


def test_pages_and_first_page() -> None:
    rec = Recorder(pages)
    pager = rec.client().locks.list()
    assert [len(p.locks) for p in pager.pages()] == [2, 2, 1]
    assert pager.first_page().next_page_token == "2"
    assert [lock.name for lock in rec.client().locks.list(page_token="4")] == ["a4"]


def test_iteration_is_lazy_and_stops_on_a_repeated_token() -> None:
    rec = Recorder(httpx.Response(200, json={"locks": [LOCK], "next_page_token": "same"}))
    assert len(list(rec.client().locks.list())) == 2
    assert len(rec.requests) == 2


def test_async_iteration() -> None:
    async def run() -> list[str]:
        async with Recorder(pages).async_client() as client:
            names = [lock.name async for lock in client.locks.list(prefix="a")]
            sizes = [len(p.locks) async for p in client.locks.list().pages()]
        assert sizes == [2, 2, 1]
        return names

    assert asyncio.run(run()) == ["a0", "a1", "a2", "a3", "a4"]


def test_sse_decoder() -> None:
    lines = [": keep-alive", "", "event: update", 'data: {"a":', "data: 1}", "id: 7", "", "x"]
    events = list(iter_events(lines))
    assert events == [ServerSentEvent("update", '{"a":\n1}', "7")]
    decoder = SSEDecoder()
    assert decoder.feed("data:plain") is None
    assert decoder.feed("retry: 100") is None
    assert decoder.feed("") == ServerSentEvent("message", "plain", "", 100)


def test_stream_yields_typed_messages() -> None:
    frames = [
        ": keep-alive\n\n",
        'data: {"type":"ACQUIRED","lock":{"name":"a","fencing_token":1}}\r\n\r\n',
        'data: {"type":"RELEASED","lock":{"name":"a","fencing_token":1}}\n\n',
    ]
    rec = Recorder(sse(*frames))
    events = list(rec.client().locks.watch(prefix="a"))
    assert [e.type for e in events] == [LockEventType.ACQUIRED, LockEventType.RELEASED]
    assert events[0].lock is not None and events[0].lock.fencing_token == 1
    request = rec.requests[0]
    assert request.url.path == "/v1/locks:watch" and request.url.params["prefix"] == "a"


def test_error_event_raises_the_typed_error() -> None:
    body = '{"code":"LOCK_CONFLICT","message":"gone","details":{},"request_id":"r2"}'
    rec = Recorder(sse('data: {"type":"ACQUIRED"}\n\n', f"event: error\ndata: {body}\n\n"))
    received = []
    with pytest.raises(LockConflictError) as caught:
        for event in rec.client().locks.watch():
            received.append(event)
    assert len(received) == 1
    assert (caught.value.status, caught.value.request_id) == (409, "r2")


def test_opening_error_is_raised_and_retried() -> None:
    rec = Recorder(error(503, "UNAVAILABLE"), error(404, "NOT_FOUND"))
    with pytest.raises(NotFoundError):
        list(rec.client().discovery.watch("api"))
    assert len(rec.requests) == 2


def test_breaking_out_of_the_loop_closes_the_http_stream() -> None:
    frame = b'data: {"type":"ACQUIRED"}\n\n'
    body = ClosingStream([frame] * 100)
    rec = Recorder(httpx.Response(200, stream=body, headers={"content-type": "text/event-stream"}))
    stream = rec.client().locks.watch()
    for _event in stream:
        break
    gc.collect()
    assert body.closed


def test_with_block_closes_the_stream() -> None:
    body = ClosingStream([b'data: {"type":"ACQUIRED"}\n\n'] * 5)
    rec = Recorder(httpx.Response(200, stream=body, headers={"content-type": "text/event-stream"}))
    with rec.client().locks.watch() as stream:
        iterator = iter(stream)
        next(iterator)
    assert body.closed


def test_async_stream_and_break() -> None:
    closed: list[bool] = []

    class AsyncBody(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def]
            for _ in range(100):
                yield b'data: {"type":"EXPIRED"}\n\n'

        async def aclose(self) -> None:
            closed.append(True)

    async def run() -> list[str]:
        rec = Recorder(httpx.Response(200, stream=AsyncBody()))
        seen = []
        async with rec.async_client() as client:
            async for event in await client.locks.watch():
                seen.append(str(event.type))
                if len(seen) == 2:
                    break
            await asyncio.sleep(0.01)  # the event loop finalises the abandoned generator
        return seen

    assert asyncio.run(run()) == ["EXPIRED", "EXPIRED"]
    assert closed
