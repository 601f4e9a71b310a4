"""Server-Sent Events framing of a server stream, with keep-alives and in-band errors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Any

from google.protobuf.message import Message

from concord_server import drain, json_text
from concord_server.api import codec
from concord_server.api.faults import StreamEnd
from concord_server.api.rest.problem import error_body
from concord_server.api.rest.resume import InjectedCut, event_id
from concord_server.errors import ConcordError
from concord_server.streams import OpenStream
from concord_server.telemetry.metrics import STREAM_CONNECTIONS

KEEPALIVE_SECONDS = 15.0


async def sse_events(
    stream: OpenStream[Message],
    request_id: str,
    keepalive: float = KEEPALIVE_SECONDS,
    rpc_name: str = "",
    end: StreamEnd | None = None,
    gone: asyncio.Future[None] | None = None,
) -> AsyncGenerator[bytes, None]:
    """`data:` frames per message (with an `id:` where the stream can resume), `: keep-alive`
    when idle, `event: error` at a failure; `end` (a test fault) breaks the connection, or ends
    the stream as a draining server does, after that many messages. The frames end when `gone`
    completes (the client hung up)."""
    iterator = stream.__aiter__()
    pending: asyncio.Future[Message] | None = None
    connections = STREAM_CONNECTIONS.labels("sse")
    cut = None if end is None else end.after
    connections.inc()
    try:
        if stream.resume_after is not None:
            yield b"id: %d\n\n" % stream.resume_after
        while True:
            if cut == 0:
                assert end is not None
                if end.drained:
                    raise drain.shutting_down()
                raise InjectedCut("test fault: the stream's connection breaks here")
            if pending is None:
                pending = asyncio.ensure_future(iterator.__anext__())
            watched: set[asyncio.Future[Any]] = {pending} if gone is None else {pending, gone}
            done, _ = await asyncio.wait(
                watched, timeout=keepalive, return_when=asyncio.FIRST_COMPLETED
            )
            if gone in done:
                return
            if pending not in done:
                yield b": keep-alive\n\n"
                continue
            try:
                message = pending.result()
            except StopAsyncIteration:
                return
            finally:
                pending = None
            yield _frame(message, rpc_name)
            cut = None if cut is None else cut - 1
    except ConcordError as err:
        body_bytes = error_body(err.code, err.message, err.details, request_id)
        yield b"event: error\ndata: " + body_bytes + b"\n\n"
    finally:
        connections.dec()
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
                await pending
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()


def _frame(message: Message, rpc_name: str) -> bytes:
    """One message's SSE frame, with its id when the stream can resume after it."""
    data = b"data: " + json_text.dumps(codec.to_json(message)) + b"\n\n"
    sse_id = event_id(rpc_name, message)
    return data if sse_id is None else b"id: " + sse_id.encode() + b"\n" + data
