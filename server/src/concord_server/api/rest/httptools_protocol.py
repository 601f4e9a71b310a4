"""uvicorn's httptools (llhttp) protocol with the two behaviours h11 gives and httptools lacks:
a bound on an unfinished request head, and a body read for a request that offers an upgrade the
server declines (HTTP/2 over `Upgrade: h2c`, which Java's HttpClient offers on plain HTTP); and
one keep-alive timer per connection instead of a new timer after every response."""

from __future__ import annotations

import asyncio
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from concord_server.api.rest.http_protocol import JoinedWrites, ProblemOnUnreadable

MAX_HEAD_BYTES = 16 * 1024  # h11's bound on an unfinished request line and headers


class _HeadLimit:
    """Past MAX_HEAD_BYTES without the end of the headers a request is unreadable, as with h11
    (llhttp itself waits for the end of a head however long it gets)."""

    transport: asyncio.Transport
    _in_head = True
    _head_bytes = 0

    def _count_head(self, data: bytes) -> None:
        """Counts what was fed while the head is still unfinished; answers 400 past the bound."""
        if not self._in_head or self.transport.is_closing():
            return
        self._head_bytes += len(data)
        if self._head_bytes > MAX_HEAD_BYTES:
            self.send_400_response("request head too long")  # type: ignore[attr-defined]

    def on_message_begin(self) -> None:
        """A new request: its head starts."""
        self._in_head, self._head_bytes = True, 0
        super().on_message_begin()  # type: ignore[misc]

    def head_complete(self) -> None:
        """The request's head is complete: the bound stops counting."""
        self._in_head = False


class _OneIdleTimer:
    """The keep-alive timeout with one timer per connection. uvicorn arms a fresh timer after
    every response and cancels it when the next request's bytes arrive; here the connection
    notes when it fell idle, and its one timer, when it fires, closes a connection idle for the
    whole timeout, waits for the rest of it, or (busy) leaves the next response to re-arm it.
    `on_response_complete` is uvicorn 0.54's (constraints.txt pins it) with that one change."""

    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    timeout_keep_alive: int
    _idle_since: float | None = None  # None while a request is being read or answered
    _idle_timer: asyncio.TimerHandle | None = None

    def _unset_keepalive_if_required(self) -> None:
        """Bytes arrived, or a response ended: the connection is busy (the timer may stay)."""
        self._idle_since = None

    def on_response_complete(self) -> None:
        """Counts the request, reads on, starts a queued request or falls idle."""
        self.server_state.total_requests += 1  # type: ignore[attr-defined]
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        self.flow.resume_reading()  # type: ignore[attr-defined]
        if self.pipeline:  # type: ignore[attr-defined]
            cycle, app = self.pipeline.pop()  # type: ignore[attr-defined]
            self._start_asgi_task(cycle, app)  # type: ignore[attr-defined]
            return
        self._idle_since = self.loop.time()
        if self._idle_timer is None:
            self._arm(self._idle_since + self.timeout_keep_alive)

    def _arm(self, deadline: float) -> None:
        self._idle_timer = self.loop.call_at(deadline, self._on_idle_timer)

    def _on_idle_timer(self) -> None:
        """Closes the connection if it stayed idle for the whole timeout."""
        self._idle_timer = None
        if self._idle_since is None:
            return
        deadline = self._idle_since + self.timeout_keep_alive
        if self.loop.time() < deadline:
            self._arm(deadline)
        elif not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection ended: its timer goes too."""
        super().connection_lost(exc)  # type: ignore[misc]
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None


class _DeclinedUpgradeBody:
    """The callbacks of the parser that reads on after a declined upgrade. It is fed a made-up
    head with the request's own framing, then the rest of the connection: the made-up head's
    callbacks are dropped; the body, the request's end and every later request reach the
    protocol, for which this parser is the connection's parser from then on."""

    def __init__(self, protocol: HttpToolsProblemProtocol) -> None:
        self._protocol = protocol
        self._made_up_head = True

    def on_message_begin(self) -> None:
        """A later request begins."""
        if not self._made_up_head:
            self._protocol.on_message_begin()

    def on_url(self, url: bytes) -> None:
        """A later request's target."""
        if not self._made_up_head:
            self._protocol.on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        """A later request's header."""
        if not self._made_up_head:
            self._protocol.on_header(name, value)

    def on_headers_complete(self) -> None:
        """The made-up head ends here; a later request's head goes to the protocol."""
        if self._made_up_head:
            self._protocol.head_complete()
        else:
            self._protocol.on_headers_complete()

    def on_body(self, body: bytes) -> None:
        """Body bytes, of the declined request or of a later one."""
        self._protocol.on_body(body)

    def on_message_complete(self) -> None:
        """The end of a request: the declined one first, then later ones."""
        self._made_up_head = False
        self._protocol.on_message_complete()


def _framing_head(headers: list[tuple[bytes, bytes]]) -> bytes:
    """A request head carrying only the framing of `headers` (llhttp checked it already)."""
    framing = [
        name + b": " + value + b"\r\n"
        for name, value in headers
        if name in (b"content-length", b"transfer-encoding")
    ]
    return b"POST / HTTP/1.1\r\n" + b"".join(framing) + b"\r\n"


class HttpToolsProblemProtocol(
    ProblemOnUnreadable, JoinedWrites, _HeadLimit, _OneIdleTimer, HttpToolsProtocol
):
    """httptools' protocol with contract error bodies and joined writes, which declines
    upgrades other than WebSocket and reads on.

    llhttp ends the parse of a request that offers an upgrade right after its head (it skips
    the body and hands the rest of the connection to the new protocol). The server declines
    such an upgrade as RFC 9110 §7.8 allows and serves the request on HTTP/1.1: the parser's
    early end of that request is ignored, and a fresh parser reads its body with the same
    framing and every request after it."""

    _declined = False

    def on_headers_complete(self) -> None:
        """Notes whether the parser is about to skip the body of a declined upgrade."""
        self._declined = self.parser.should_upgrade() and not self._should_upgrade()
        self.head_complete()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The request's end, unless it is the parser's early end of a declined upgrade."""
        if self._declined:
            self._declined = False
            return
        super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        """Parses, answering unreadable input with 400 and reading on past declined upgrades."""
        self._unset_keepalive_if_required()
        while data:
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
                return
            except httptools.HttpParserUpgrade as upgrade:
                if self._should_upgrade():
                    self.handle_websocket_upgrade()
                    return
                data = self._read_on(data[upgrade.args[0] :])
                continue
            self._count_head(data)
            return

    def _read_on(self, rest: bytes) -> bytes:
        """Swaps in the parser that reads on; returns what to feed it."""
        parser: Any = httptools.HttpRequestParser(_DeclinedUpgradeBody(self))
        parser.set_dangerous_leniencies(lenient_data_after_close=True)  # as uvicorn's own
        self.parser = parser
        self._declined = False
        return _framing_head(self.headers) + rest
