"""EventStreamResponse: SSE frames sent by the request's task, ended by the client's hang-up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from starlette.types import Message

from concord_server.api.rest.event_stream import EventStreamResponse

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class Client:
    """The ASGI side of one connection: what was sent, and a hang-up to trigger."""

    def __init__(self, fail_send_after: int | None = None) -> None:
        self.sent: list[Message] = []
        self.hang_up = asyncio.Event()
        self._fail_after = fail_send_after

    async def receive(self) -> Message:
        if not any(m["type"] == "request-read" for m in self.sent):
            self.sent.append({"type": "request-read"})
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.hang_up.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        bodies = [m for m in self.sent if m["type"] == "http.response.body"]
        if self._fail_after is not None and len(bodies) >= self._fail_after:
            raise OSError("connection reset")
        self.sent.append(message)

    def bodies(self) -> list[tuple[bytes, bool]]:
        return [(m["body"], m["more_body"]) for m in self.sent if m["type"].endswith("body")]


def _frames(items: list[bytes], ended: list[str], wait_for_gone: bool = False) -> Any:
    async def frames(gone: asyncio.Future[None]) -> AsyncGenerator[bytes, None]:
        try:
            for item in items:
                yield item
            if wait_for_gone:
                await gone
        finally:
            ended.append("closed")

    return frames


async def test_frames_then_the_end_of_the_body() -> None:
    client, ended = Client(), list[str]()
    answer = EventStreamResponse(_frames([b"data: 1\n\n", b"data: 2\n\n"], ended), HEADERS)
    await answer({"type": "http"}, client.receive, client.send)
    start = next(m for m in client.sent if m["type"] == "http.response.start")
    assert start["status"] == 200
    assert start["headers"] == [
        (b"content-type", b"text/event-stream; charset=utf-8"),
        (b"cache-control", b"no-cache"),
        (b"x-accel-buffering", b"no"),
    ]
    assert client.bodies() == [(b"data: 1\n\n", True), (b"data: 2\n\n", True), (b"", False)]
    assert ended == ["closed"]


async def test_a_hang_up_ends_the_frames_and_sends_nothing_more() -> None:
    client, ended = Client(), list[str]()
    answer = EventStreamResponse(_frames([b"data: 1\n\n"], ended, wait_for_gone=True), HEADERS)
    serving = asyncio.ensure_future(answer({"type": "http"}, client.receive, client.send))
    await asyncio.sleep(0.01)
    assert not serving.done()
    client.hang_up.set()
    await asyncio.wait_for(serving, 2)
    assert client.bodies() == [(b"data: 1\n\n", True)]
    assert ended == ["closed"]


async def test_a_failed_send_counts_as_a_hang_up() -> None:
    client, ended = Client(fail_send_after=1), list[str]()
    frames = _frames([b"data: 1\n\n", b"data: 2\n\n"], ended, wait_for_gone=True)
    await EventStreamResponse(frames, HEADERS)({"type": "http"}, client.receive, client.send)
    assert client.bodies() == [(b"data: 1\n\n", True)]
    assert ended == ["closed"]


async def test_a_failure_of_the_frames_reaches_the_server() -> None:
    client = Client()

    async def frames(gone: asyncio.Future[None]) -> AsyncGenerator[bytes, None]:
        yield b"data: 1\n\n"
        raise RuntimeError("the connection breaks here")

    with pytest.raises(RuntimeError, match="breaks here"):
        await EventStreamResponse(frames, HEADERS)({"type": "http"}, client.receive, client.send)
    assert client.bodies() == [(b"data: 1\n\n", True)]
