"""uvicorn's HTTP protocol, answering requests it cannot parse with the contract's error body.

uvicorn answers a request line or headers it cannot read (too long, bad framing) itself, before
the application sees anything, with a plain-text 400. These subclasses send the same 400 as an
`application/problem+json` document like every other error.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol

from concord_server.api.rest.coalesced_writes import CoalescedWrites
from concord_server.api.rest.problem import MEDIA_TYPE, error_body
from concord_server.api.rest.request_id import new_request_id
from concord_server.errors import ErrorCode
from concord_server.tracing import start_span

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
        f"traceparent: {start_span(None).traceparent()}\r\n"  # a trace of its own, as any answer
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class ProblemOnUnreadable:
    """Replaces uvicorn's plain-text 400 with the problem document, then closes."""

    transport: asyncio.Transport

    def send_400_response(self, msg: str) -> None:
        """Writes the problem answer and closes the connection (uvicorn's text is dropped)."""
        self.transport.write(unreadable_request_response())
        self.transport.close()


class JoinedWrites:
    """Serves the connection with its writes joined per loop turn (CoalescedWrites)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Wraps the transport before the protocol keeps it."""
        super().connection_made(CoalescedWrites(transport))  # type: ignore[misc, arg-type]


class H11ProblemProtocol(ProblemOnUnreadable, JoinedWrites, H11Protocol):
    """The pure-Python h11 protocol with contract error bodies and joined writes."""


def http_protocol() -> type[asyncio.Protocol]:
    """httptools' protocol (httptools_protocol.py) where httptools imports, else h11's."""
    try:
        from concord_server.api.rest.httptools_protocol import HttpToolsProblemProtocol
    except ImportError:  # httptools does not install on this platform
        return H11ProblemProtocol
    return HttpToolsProblemProtocol
