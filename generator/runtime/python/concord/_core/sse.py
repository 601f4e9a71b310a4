"""Server-Sent Events: a line decoder and the (async) iterators of server-streaming RPCs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
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

from concord._core.errors_base import APIConnectionError, ConcordAPIError, ErrorRegistry
from concord._core.resume import AsyncReopener, Reopener, ReopenPolicy

T = TypeVar("T")


@dataclass(frozen=True)
class ServerSentEvent:
    """One dispatched event: its type (`message` by default), data lines joined, id, retry."""

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


class SSEDecoder:
    """Feeds lines (without line endings) and returns an event at each blank line.

    `last_id` is the id of the last frame that ended, a frame without data included (it
    dispatches nothing but sets the id, as in a browser's EventSource)."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id = ""
        self._retry: int | None = None
        self.last_id = ""

    def feed(self, line: str) -> ServerSentEvent | None:
        """Process one line; an event when it ends one, else None. Comments are skipped."""
        if not line:
            self.last_id = self._id
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

    def restart(self) -> None:
        """Drop the frame a broken connection cut short; the last id stays."""
        self._event, self._data, self._id, self._retry = "", [], self.last_id, None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data and not self._event:
            return None
        sse = ServerSentEvent(
            self._event or "message", "\n".join(self._data), self._id, self._retry
        )
        self._event, self._data, self._retry = "", [], None
        return sse


def iter_events(
    lines: Iterable[str], decoder: SSEDecoder | None = None
) -> Iterator[ServerSentEvent]:
    """Events of a line iterator (a trailing event without a blank line is dropped)."""
    decoder = decoder or SSEDecoder()
    for line in lines:
        event = decoder.feed(line.rstrip("\r\n"))
        if event is not None:
            yield event


async def aiter_events(
    lines: AsyncIterable[str], decoder: SSEDecoder | None = None
) -> AsyncIterator[ServerSentEvent]:
    """Events of an async line iterator."""
    decoder = decoder or SSEDecoder()
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


def _resumes(
    error: ConcordAPIError, reopener: Reopener | AsyncReopener | None, decoder: SSEDecoder
) -> bool:
    """Whether an `event: error` ends the stream as a broken connection does: an UNAVAILABLE (a
    draining server's `shutting_down`, an engine outage) after an id, where reopening is on."""
    return (
        error.code == "UNAVAILABLE"
        and reopener is not None
        and reopener.limit > 0
        and bool(decoder.last_id)
    )


def _broken(error: Exception) -> APIConnectionError:
    """The connection error of a stream that cannot go on."""
    return APIConnectionError(f"stream broken: {error}")


def _wake_reader(response: httpx.Response) -> None:
    """Shuts the response's socket down, so that a thread blocked reading it returns at once:
    closing the response from another thread does not wake that read, which would otherwise
    wait for the server's next bytes (a keep-alive comes every 15 s, or never)."""
    network = response.extensions.get("network_stream")
    sock = network.get_extra_info("socket") if network is not None else None
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):  # closed already
            sock.shutdown(socket.SHUT_RDWR)


class Stream(Generic[T]):
    """Messages of a server stream, already open (the server accepted the subscription).

    Iterate it once; leaving the loop, `close()` (from any thread) or `with stream:` closes it.
    A stream closed by the caller simply ends, without an error. A connection that breaks
    after an event id, or an in-band UNAVAILABLE after one, is reopened from that id
    (`Reopener`), transparently to the loop.
    """

    def __init__(
        self,
        response: httpx.Response,
        parse: Callable[[Mapping[str, Any]], T],
        errors: ErrorRegistry,
        reopener: Reopener | None = None,
    ) -> None:
        self._response = response
        self._parse = parse
        self._errors = errors
        self._reopener = reopener
        self._closing = False
        self._closed = threading.Event()
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[T]:
        decoder = SSEDecoder()
        policy = ReopenPolicy(self._reopener.limit if self._reopener else 0)
        try:
            while True:
                try:
                    for message in self._messages(decoder):
                        policy.message_arrived()
                        yield message
                    return
                except (httpx.StreamError, httpx.TransportError) as exc:
                    if self._closing:
                        return
                    if self._reopener is None or not decoder.last_id:
                        raise _broken(exc) from exc
                    if not self._reopen(self._reopener, decoder, policy, exc):
                        return
                except ConcordAPIError as exc:
                    if not _resumes(exc, self._reopener, decoder):
                        raise
                    assert self._reopener is not None
                    if not self._reopen(self._reopener, decoder, policy, exc):
                        return
        finally:
            self.close()

    def _messages(self, decoder: SSEDecoder) -> Iterator[T]:
        response = self._response
        for sse in iter_events(response.iter_lines(), decoder):
            message = _message(sse, response, self._parse, self._errors)
            if message is not None:
                yield message

    def _reopen(
        self, reopener: Reopener, decoder: SSEDecoder, policy: ReopenPolicy, error: Exception
    ) -> bool:
        """Replace the broken response by one that resumes after the last id; False when the
        caller closed the stream meanwhile. Raises when the policy gives up."""
        while not self._closing:
            delay = policy.next_delay(error)
            if reopener.sleep_hook is not None:
                reopener.sleep_hook(delay)
            else:
                self._closed.wait(delay)
            if self._closing:
                break
            try:
                return self._install(reopener.attempt(decoder.last_id), decoder)
            except httpx.TransportError as exc:
                error = exc
            except ConcordAPIError as exc:
                error = exc
                if not self._closing:
                    policy.refused(exc)
        return False

    def _install(self, response: httpx.Response, decoder: SSEDecoder) -> bool:
        with self._lock:
            if self._closing:
                response.close()
                return False
            broken, self._response = self._response, response
        broken.close()
        decoder.restart()
        return True

    def close(self) -> None:
        """Close the stream (idempotent; safe from another thread)."""
        self._closing = True
        self._closed.set()
        with self._lock:
            response = self._response
        _wake_reader(response)
        response.close()

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
    it, and a stream closed by the caller simply ends. A connection that breaks after an
    event id, or an in-band UNAVAILABLE after one, is reopened from that id (`AsyncReopener`),
    transparently to the loop."""

    def __init__(
        self,
        response: httpx.Response,
        parse: Callable[[Mapping[str, Any]], T],
        errors: ErrorRegistry,
        reopener: AsyncReopener | None = None,
    ) -> None:
        self._response = response
        self._parse = parse
        self._errors = errors
        self._reopener = reopener
        self._closing = False
        self._closed = asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[T]:
        decoder = SSEDecoder()
        policy = ReopenPolicy(self._reopener.limit if self._reopener else 0)
        try:
            while True:
                try:
                    async for message in self._messages(decoder):
                        policy.message_arrived()
                        yield message
                    return
                except (httpx.StreamError, httpx.TransportError) as exc:
                    if self._closing:
                        return
                    if self._reopener is None or not decoder.last_id:
                        raise _broken(exc) from exc
                    if not await self._reopen(self._reopener, decoder, policy, exc):
                        return
                except ConcordAPIError as exc:
                    if not _resumes(exc, self._reopener, decoder):
                        raise
                    assert self._reopener is not None
                    if not await self._reopen(self._reopener, decoder, policy, exc):
                        return
        finally:
            await self.aclose()

    async def _messages(self, decoder: SSEDecoder) -> AsyncIterator[T]:
        response = self._response
        async for sse in aiter_events(response.aiter_lines(), decoder):
            message = _message(sse, response, self._parse, self._errors)
            if message is not None:
                yield message

    async def _reopen(
        self,
        reopener: AsyncReopener,
        decoder: SSEDecoder,
        policy: ReopenPolicy,
        error: Exception,
    ) -> bool:
        """Replace the broken response by one that resumes after the last id; False when the
        caller closed the stream meanwhile. Raises when the policy gives up."""
        while not self._closing:
            delay = policy.next_delay(error)
            if reopener.sleep_hook is not None:
                reopener.sleep_hook(delay)
            else:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._closed.wait(), delay)
            if self._closing:
                break
            try:
                return await self._install(await reopener.attempt(decoder.last_id), decoder)
            except httpx.TransportError as exc:
                error = exc
            except ConcordAPIError as exc:
                error = exc
                if not self._closing:
                    policy.refused(exc)
        return False

    async def _install(self, response: httpx.Response, decoder: SSEDecoder) -> bool:
        if self._closing:
            await response.aclose()
            return False
        broken, self._response = self._response, response
        await broken.aclose()
        decoder.restart()
        return True

    async def aclose(self) -> None:
        """Close the stream (idempotent)."""
        self._closing = True
        self._closed.set()
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
