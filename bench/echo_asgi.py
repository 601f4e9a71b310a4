"""The REST baseline: a bare ASGI app that parses a JSON body and answers it back as JSON, served
by uvicorn with the server's own settings (HTTP protocol, event loop, no access log).

    .venv/bin/python bench/echo_asgi.py PORT
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn
from concord_server.api.rest.http_protocol import http_protocol

try:
    import orjson

    def dumps(value: Any) -> bytes:
        """orjson, as the server uses when installed."""
        return orjson.dumps(value)

    loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # the server's pure-Python fallback

    def dumps(value: Any) -> bytes:
        """The stdlib encoder."""
        return json.dumps(value, separators=(",", ":")).encode()

    loads = json.loads

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Echoes the JSON request body (GET: an empty object)."""
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    answer = dumps(loads(body) if body else {})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(answer)),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_config=None,
        access_log=False,
        http=http_protocol(),
    )
