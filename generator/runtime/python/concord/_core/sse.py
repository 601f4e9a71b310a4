"""Server-Sent Events: a line decoder and the (async) iterators of server-streaming RPCs."""

from __future__ import annotations

import json
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Mapping,
)
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar

import httpx

from concord._core.errors_base import APIConnectionError, ErrorRegistry

T = TypeVar("T")


@dataclass(frozen=True)
class ServerSentEvent:
    """One dispatched event: its type (`message` by default), data lines joined, id, retry."""

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


class SSEDecoder:
    """Feeds lines (without line endings) and returns an event at each blank line."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id = ""
        self._retry: int | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        """Process one line; an event when it ends one, else None. Comments are skipped."""
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data and not self._event:
            return None
        sse = ServerSentEvent(
            self._event or "message", "\n".join(self._data), self._id, self._retry
        )
        self._event, self._data, self._retry = "", [], None
        return sse


def iter_events(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    """Events of a line iterator (a trailing event without a blank line is dropped)."""
    decoder = SSEDecoder()
    for line in lines:
        event = decoder.feed(line.rstrip("\r\n"))
        if event is not None:
            yield event


async def aiter_events(lines: AsyncIterable[str]) -> AsyncIterator[ServerSentEvent]:
    """Events of an async line iterator."""
    decoder = SSEDecoder()
    async for line in lines:
        event = decoder.feed(line.rstrip("\r\n"))
        if event is not None:
            yield event


def _message(
    sse: ServerSentEvent,
    response: httpx.Response,
    parse: Callable[[Mapping[str, Any]], T],
    errors: ErrorRegistry,
) -> T | None:
    """The parsed message of an event, None for events without data; raises `event: error`."""
    if sse.event == "error":
        raise errors.from_event(sse.data, response)
    if not sse.data:
        return None
    return parse(json.loads(sse.data))


class Stream(Generic[T]):
    """Messages of a server stream, already open (the server accepted the subscription).

    Iterate it once; leaving the loop, `close()` (from any thread) or `with stream:` closes it.
    A stream closed by the caller simply ends, without an error.
    """

    def __init__(
        self,
        response: httpx.Response,
        parse: Callable[[Mapping[str, Any]], T],
        errors: ErrorRegistry,
    ) -> None:
        self._response = response
        self._parse = parse
        self._errors = errors
        self._closing = False

    def __iter__(self) -> Iterator[T]:
        response = self._response
        try:
            for sse in iter_events(response.iter_lines()):
                message = _message(sse, response, self._parse, self._errors)
                if message is not None:
                    yield message
        except (httpx.StreamError, httpx.TransportError) as exc:
            if not self._closing:
                raise APIConnectionError(f"stream broken: {exc}") from exc
        finally:
            self.close()

    def close(self) -> None:
        """Close the stream (idempotent; safe from another thread)."""
        self._closing = True
        self._response.close()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncStream(Generic[T]):
    """Messages of an open server stream for `async for`; `aclose()` or `async with` closes
    it, and a stream closed by the caller simply ends."""

    def __init__(
        self,
        response: httpx.Response,
        parse: Callable[[Mapping[str, Any]], T],
        errors: ErrorRegistry,
    ) -> None:
        self._response = response
        self._parse = parse
        self._errors = errors
        self._closing = False

    async def __aiter__(self) -> AsyncIterator[T]:
        response = self._response
        try:
            async for sse in aiter_events(response.aiter_lines()):
                message = _message(sse, response, self._parse, self._errors)
                if message is not None:
                    yield message
        except (httpx.StreamError, httpx.TransportError) as exc:
            if not self._closing:
                raise APIConnectionError(f"stream broken: {exc}") from exc
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the stream (idempotent)."""
        self._closing = True
        await self._response.aclose()

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
