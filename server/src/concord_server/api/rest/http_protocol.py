"""uvicorn's HTTP protocol, answering requests it cannot parse with the contract's error body.

uvicorn answers a request line or headers it cannot read (too long, bad framing) itself, before
the application sees anything, with a plain-text 400. These subclasses send the same 400 as an
`application/problem+json` document like every other error.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from concord_server.api.rest.problem import MEDIA_TYPE, error_body
from concord_server.api.rest.request_id import new_request_id
from concord_server.errors import ErrorCode

MAX_HEAD_BYTES = 16 * 1024  # h11's bound on an unfinished request line and headers
UNREADABLE = (
    "the request is not readable HTTP/1.1 (for example its request line or headers are too "
    "long, or its framing is broken)"
)


def unreadable_request_response() -> bytes:
    """The raw bytes of the 400 answer to a request the HTTP parser refused."""
    request_id = new_request_id()
    details = {"reason": "unreadable_http_request"}
    body = error_body(ErrorCode.INVALID_ARGUMENT, UNREADABLE, details, request_id)
    head = (
        "HTTP/1.1 400 Bad Request\r\n"
        f"content-type: {MEDIA_TYPE}\r\n"
        f"content-length: {len(body)}\r\n"
        f"x-request-id: {request_id}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class _ProblemOnUnreadable:
    """Replaces uvicorn's plain-text 400 with the problem document, then closes."""

    transport: asyncio.Transport

    def send_400_response(self, msg: str) -> None:
        """Writes the problem answer and closes the connection (uvicorn's text is dropped)."""
        self.transport.write(unreadable_request_response())
        self.transport.close()


class _HeadLimit:
    """A bound on an unfinished request head for httptools, which has none of its own: past
    MAX_HEAD_BYTES without the end of the headers the request is unreadable, as with h11."""

    transport: asyncio.Transport
    _in_head = True
    _head_bytes = 0

    def data_received(self, data: bytes) -> None:
        """Parses, then counts what was fed while the head is still unfinished."""
        super().data_received(data)  # type: ignore[misc]
        if not self._in_head or self.transport.is_closing():
            return
        self._head_bytes += len(data)
        if self._head_bytes > MAX_HEAD_BYTES:
            self.send_400_response("request head too long")  # type: ignore[attr-defined]

    def on_message_begin(self) -> None:
        """A new request: its head starts."""
        self._in_head, self._head_bytes = True, 0
        super().on_message_begin()  # type: ignore[misc]

    def on_headers_complete(self) -> None:
        """The head is complete: the body is not counted."""
        self._in_head = False
        super().on_headers_complete()  # type: ignore[misc]


class H11ProblemProtocol(_ProblemOnUnreadable, H11Protocol):
    """The pure-Python h11 protocol with contract error bodies."""


def http_protocol() -> type[asyncio.Protocol]:
    """httptools' protocol when it imports (as uvicorn's `auto` picks), else h11's."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return H11ProblemProtocol

    base: Any = HttpToolsProtocol
    return type("HttpToolsProblemProtocol", (_HeadLimit, _ProblemOnUnreadable, base), {})
