"""Server-Sent Events framing of a server stream, with keep-alives and in-band errors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from google.protobuf.message import Message

from concord_server.api import codec, json_text
from concord_server.api.rest.problem import error_body
from concord_server.errors import ConcordError
from concord_server.telemetry.metrics import STREAM_CONNECTIONS

KEEPALIVE_SECONDS = 15.0


async def sse_events(
    stream: AsyncIterator[Message], request_id: str, keepalive: float = KEEPALIVE_SECONDS
) -> AsyncIterator[bytes]:
    """`data:` frames per message, `: keep-alive` when idle, `event: error` at a failure."""
    iterator = stream.__aiter__()
    pending: asyncio.Future[Message] | None = None
    connections = STREAM_CONNECTIONS.labels("sse")
    connections.inc()
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(iterator.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=keepalive)
            if not done:
                yield b": keep-alive\n\n"
                continue
            try:
                message = pending.result()
            except StopAsyncIteration:
                return
            finally:
                pending = None
            yield b"data: " + json_text.dumps(codec.to_json(message)) + b"\n\n"
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
