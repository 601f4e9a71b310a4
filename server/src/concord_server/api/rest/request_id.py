"""ASGI middleware: echo a sane `X-Request-ID` or create one; expose it to handlers."""

from __future__ import annotations

import os
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
HEADER = b"x-request-id"


def new_request_id() -> str:
    """A fresh request id: 128 random bits in hex (uuid4's cost without its formatting)."""
    return "req_" + os.urandom(16).hex()


def request_id_from(given: str | None) -> str:
    """The caller's request id when it is sane (1-128 of `A-Za-z0-9._:-`), else a fresh one."""
    return given if given and _VALID.fullmatch(given) else new_request_id()


class RequestIdMiddleware:
    """Puts the request id in `scope["state"]["request_id"]` and in the response headers
    (of HTTP responses and of the WebSocket handshake)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(HEADER, b"").decode("latin-1")
        request_id = request_id_from(given)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                headers.append((HEADER, request_id.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)
