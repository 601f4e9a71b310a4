"""Writes of one loop turn leave as one: a response's head and body reach the socket together,
in order, and closing or aborting keeps the transport's own meaning."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from concord_server.api.rest.coalesced_writes import CoalescedWrites
from concord_server.api.rest.http_protocol import H11ProblemProtocol
from concord_server.api.rest.httptools_protocol import HttpToolsProblemProtocol


class RecordingTransport(asyncio.Transport):
    """A transport that keeps what is written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.events: list[str] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))
        self.events.append("write")

    def close(self) -> None:
        self.closing = True
        self.events.append("close")

    def abort(self) -> None:
        self.closing = True
        self.events.append("abort")

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 3

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8080)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        self.events.append("pause")

    def resume_reading(self) -> None:
        self.events.append("resume")


async def next_turn() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_the_writes_of_one_turn_leave_in_one_write_in_order() -> None:
    inner = RecordingTransport()
    outer = CoalescedWrites(inner)
    outer.write(b"head ")
    outer.writelines([b"body", bytearray(b" "), memoryview(b"end")])
    outer.write(b"")
    assert inner.writes == []
    assert outer.get_write_buffer_size() == 3 + 13
    await next_turn()
    outer.write(b"second")
    await next_turn()
    assert inner.writes == [b"head body end", b"second"]


async def test_closing_sends_what_waits_and_aborting_drops_it() -> None:
    inner = RecordingTransport()
    outer = CoalescedWrites(inner)
    outer.write(b"last words")
    outer.close()
    assert inner.events == ["write", "close"]
    assert outer.is_closing()
    dropped = RecordingTransport()
    aborted = CoalescedWrites(dropped)
    aborted.write(b"never sent")
    aborted.abort()
    await next_turn()
    assert dropped.events == ["abort"]


async def test_everything_else_is_the_wrapped_transports() -> None:
    inner = RecordingTransport()
    outer = CoalescedWrites(inner)
    outer.pause_reading()
    outer.resume_reading()
    assert outer.get_extra_info("peername") == ("127.0.0.1", 40000)
    assert inner.events == ["pause", "resume"]


async def echo(scope: Any, receive: Any, send: Any) -> None:
    """Answers every request with a fixed JSON body."""
    await receive()
    body = b'{"ok":true}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"11")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.mark.parametrize("protocol_class", [H11ProblemProtocol, HttpToolsProblemProtocol])
async def test_each_response_on_a_keep_alive_connection_is_one_write(
    protocol_class: type[Any],
) -> None:
    config = uvicorn.Config(app=echo, http=protocol_class, lifespan="off", log_level="error")
    config.load()
    protocol = protocol_class(config, ServerState(), app_state={})
    transport = RecordingTransport()
    protocol.connection_made(transport)
    for _ in range(2):
        protocol.data_received(b"GET /x HTTP/1.1\r\nhost: a\r\n\r\n")
        for _ in range(20):
            await asyncio.sleep(0)
    assert len(transport.writes) == 2
    for write in transport.writes:
        assert write.startswith(b"HTTP/1.1 200 OK\r\n")
        assert write.endswith(b'\r\n\r\n{"ok":true}')
    protocol.connection_lost(None)
