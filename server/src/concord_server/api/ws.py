"""WebSocket transport at /v1/ws: authenticated subscriptions to the contract's server streams.

Client messages: `{"type":"auth","authorization":"Bearer …"}` or `{"type":"auth","api_key":"…"}`
(when the upgrade request carried no credential), `{"type":"subscribe","id":"s1","rpc":
"SubscribeToStream","request":{…}}`, `{"type":"unsubscribe","id":"s1"}`, `{"type":"ping"}`.
Server messages: `authenticated` (with `subject`, once the credential of an `auth` message is
verified), `subscribed`, `message` (with `message`), `error` (with the contract's error body, and
the `id` of the client message or subscription it is about), `complete`, `pong`, and a `ping`
heartbeat. A client that falls `ws_max_queue` messages behind is closed with code 4008 and reason
"slow consumer": its subscriptions stop and nothing more is queued for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from concord_server.api import codec
from concord_server.api.dispatch import Dispatcher
from concord_server.api.headers import client_address, merge_headers
from concord_server.api.rpcs import Rpc
from concord_server.config import Settings
from concord_server.context import CallContext
from concord_server.errors import ConcordError, ErrorCode, invalid_argument
from concord_server.telemetry.metrics import STREAM_CONNECTIONS

HEARTBEAT_SECONDS = 20.0
CLOSE_TIMEOUT_SECONDS = 5.0
SLOW_CONSUMER_CLOSE = 4008
MAX_SUBSCRIPTIONS = 100
_CREDENTIAL_HEADERS = ("authorization", "x-api-key")

log = logging.getLogger("concord.ws")


def _error(err: ConcordError, request_id: str, sub_id: str | None) -> dict[str, Any]:
    body = {
        "code": err.code.value,
        "message": err.message,
        "details": err.details,
        "request_id": request_id,
    }
    return {"type": "error", "id": sub_id, "error": body}


class WsConnection:
    """One client connection: a reader loop, a bounded writer, heartbeats, subscriptions."""

    def __init__(self, ws: WebSocket, dispatcher: Dispatcher, settings: Settings) -> None:
        self.ws = ws
        self.dispatcher = dispatcher
        self.streams = {r.name: r for r in dispatcher.rpcs if r.server_streaming}
        self.limit = max(1, settings.ws_max_queue)
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()  # bounded by `send`
        self.subs: dict[str, asyncio.Task[None]] = {}
        self.headers = merge_headers(ws.headers.items())
        self.address = client_address(ws.client.host if ws.client else None)
        self.request_id = str(ws.scope.get("state", {}).get("request_id", ""))
        self.slow = asyncio.Event()

    def send(self, message: dict[str, Any]) -> None:
        """Queues a message; past `limit` queued messages the client is slow and gets no more."""
        if self.slow.is_set():
            return
        if self.outbox.qsize() >= self.limit:
            self.slow.set()
            return
        self.outbox.put_nowait(message)

    async def writer(self) -> None:
        """Sends queued messages in order."""
        while True:
            message = await self.outbox.get()
            await self.ws.send_text(json.dumps(message, separators=(",", ":"), default=str))

    async def heartbeat(self) -> None:
        """Pings the client at a fixed interval."""
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            self.send({"type": "ping"})

    async def run(self) -> None:
        """Serves the connection until the client leaves, the socket fails, or the client is slow.

        A slow client is closed at once, without waiting for the writer to flush its backlog: a
        client that does not read would otherwise keep the writer (and the close) waiting forever.
        """
        reader = asyncio.create_task(self.reader())
        writer = asyncio.create_task(self.writer())
        heartbeat = asyncio.create_task(self.heartbeat())
        slow = asyncio.create_task(self.slow.wait())
        try:
            await asyncio.wait([reader, writer, slow], return_when=asyncio.FIRST_COMPLETED)
            if self.slow.is_set():
                await self._stop([writer, *self.subs.values()])
                self.outbox = asyncio.Queue()  # drop the backlog now, not at disconnect
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(
                        self.ws.close(SLOW_CONSUMER_CLOSE, "slow consumer"), CLOSE_TIMEOUT_SECONDS
                    )
        finally:
            await self._stop([reader, writer, heartbeat, slow, *self.subs.values()])

    @staticmethod
    async def _stop(tasks: list[asyncio.Task[Any]]) -> None:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def reader(self) -> None:
        """Reads client messages (text or UTF-8 binary frames) and acts on them."""
        while True:
            frame = await self.ws.receive()
            if frame["type"] == "websocket.disconnect":
                return
            raw = frame.get("text")
            if raw is None:
                raw = frame.get("bytes") or b""
            message: dict[str, Any] = {}
            try:
                message = _parse(raw)
                await self.handle(message)
            except ConcordError as err:
                about = message.get("id")
                self.send(_error(err, self.request_id, about if isinstance(about, str) else None))

    async def handle(self, message: dict[str, Any]) -> None:
        """Dispatches one client message by its type."""
        kind = message.get("type")
        if kind == "ping":
            self.send({"type": "pong"})
        elif kind == "pong":
            return
        elif kind == "auth":
            await self._auth(message)
        elif kind == "subscribe":
            self._subscribe(message)
        elif kind == "unsubscribe":
            task = self.subs.pop(str(message.get("id", "")), None)
            if task is not None:
                task.cancel()
        else:
            raise invalid_argument(f"unknown message type {kind!r}", "type")

    async def _auth(self, message: dict[str, Any]) -> None:
        """Verifies the credential now; on success it replaces the upgrade request's one."""
        headers = {k: v for k, v in self.headers.items() if k not in _CREDENTIAL_HEADERS}
        if isinstance(message.get("authorization"), str):
            headers["authorization"] = message["authorization"]
        elif isinstance(message.get("api_key"), str):
            headers["x-api-key"] = message["api_key"]
        else:
            raise invalid_argument("auth needs `authorization` or `api_key`", "auth")
        principal = await self.dispatcher.authenticate(headers, self.address)
        self.headers = headers
        self.send({"type": "authenticated", "subject": principal.subject})

    def _subscribe(self, message: dict[str, Any]) -> None:
        sub_id = message.get("id")
        if not isinstance(sub_id, str) or not sub_id or len(sub_id) > 100:
            raise invalid_argument("subscribe needs a string `id` (1-100 chars)", "id")
        if sub_id in self.subs:
            raise invalid_argument(f"subscription id {sub_id!r} is in use", "id")
        if len(self.subs) >= MAX_SUBSCRIPTIONS:
            raise ConcordError(ErrorCode.INVALID_ARGUMENT, "too many subscriptions")
        rpc = self.streams.get(str(message.get("rpc", "")))
        if rpc is None:
            raise invalid_argument(f"rpc must be one of {sorted(self.streams)}", "rpc")
        raw_request = message.get("request")
        if raw_request is None:
            raw_request = {}
        if not isinstance(raw_request, dict):
            raise invalid_argument("request must be a JSON object", "request")
        request = codec.from_json(raw_request, rpc.request_cls())
        self.subs[sub_id] = asyncio.create_task(self._pump(sub_id, rpc, request))

    async def _pump(self, sub_id: str, rpc: Rpc, request: Any) -> None:
        ctx = CallContext(
            request_id=self.request_id,
            transport="ws",
            headers=dict(self.headers),
            client_address=self.address,
        )
        stream: Any = None
        try:
            stream = await self.dispatcher.stream(rpc, request, ctx)
            self.send({"type": "subscribed", "id": sub_id})
            async for item in stream:
                if self.slow.is_set():
                    return
                self.send({"type": "message", "id": sub_id, "message": codec.to_json(item)})
            self.send({"type": "complete", "id": sub_id})
        except ConcordError as err:
            self.send(_error(err, self.request_id, sub_id))
        except Exception:
            log.exception("subscription %s to %s failed", sub_id, rpc.name)
            internal = ConcordError(ErrorCode.INTERNAL, "internal error")
            self.send(_error(internal, self.request_id, sub_id))
        finally:
            if stream is not None:
                with contextlib.suppress(Exception):
                    await stream.aclose()
            if self.subs.get(sub_id) is asyncio.current_task():
                del self.subs[sub_id]


def _parse(raw: str | bytes) -> dict[str, Any]:
    data = codec.parse_json(raw, "message")
    if not isinstance(data, dict):
        raise invalid_argument("message must be a JSON object", "message")
    return data


def websocket_route(dispatcher: Dispatcher, settings: Settings) -> WebSocketRoute:
    """The /v1/ws route."""

    async def endpoint(ws: WebSocket) -> None:
        await ws.accept()
        with STREAM_CONNECTIONS.labels("ws").track_inprogress():
            await WsConnection(ws, dispatcher, settings).run()

    return WebSocketRoute("/v1/ws", endpoint)
