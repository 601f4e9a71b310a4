"""The HTTP answer of a server stream: Server-Sent Events sent by the request's own task, which
stops when the client hangs up. (Starlette's StreamingResponse runs the stream in a task group
and ends it by throwing a cancellation into it; the cancelled stream's frames then outlive the
connection in reference cycles until a full garbage collection, about 20 KB per stream.)"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable, Mapping

from starlette.types import Receive, Scope, Send

MEDIA_TYPE = b"text/event-stream; charset=utf-8"
Frames = Callable[["asyncio.Future[None]"], AsyncGenerator[bytes, None]]


class EventStreamResponse:
    """An ASGI answer whose body is the frames of `frames(gone)`; `gone` completes when the
    client disconnects, and the frames are expected to end then."""

    def __init__(self, frames: Frames, headers: Mapping[str, str]) -> None:
        self._frames = frames
        self._headers = [(b"content-type", MEDIA_TYPE)] + [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in headers.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gone = asyncio.ensure_future(until_disconnect(receive))
        frames = self._frames(gone)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self._headers})
            async for frame in frames:
                await send({"type": "http.response.body", "body": frame, "more_body": True})
            if not gone.done():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # a server on ASGI 2.4 reports the hang-up this way
            pass
        finally:
            await frames.aclose()
            gone.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gone


async def until_disconnect(receive: Receive) -> None:
    """Returns when the client closes the connection (the request body was read before)."""
    while (await receive())["type"] != "http.disconnect":
        pass
