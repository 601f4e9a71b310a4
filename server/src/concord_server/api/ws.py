"""WebSocket transport at /v1/ws: authenticated subscriptions to the contract's server streams.

Client messages: `{"type":"auth","authorization":"Bearer …"}` or `{"type":"auth","api_key":"…"}`
(when the upgrade request carried no credential), `{"type":"subscribe","id":"s1","rpc":
"SubscribeToStream","request":{…}}`, `{"type":"unsubscribe","id":"s1"}`, `{"type":"ping"}`.
Server messages: `subscribed`, `message` (with `message`), `error` (with the contract's error
body), `complete`, `pong`, and a `ping` heartbeat. A client that falls `ws_max_queue` messages
behind is closed with code 4008 and reason "slow consumer".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from concord_server.api import codec
from concord_server.api.dispatch import Dispatcher
from concord_server.api.rpcs import Rpc
from concord_server.config import Settings
from concord_server.context import CallContext
from concord_server.errors import ConcordError, ErrorCode, invalid_argument

HEARTBEAT_SECONDS = 20.0
SLOW_CONSUMER_CLOSE = 4008
MAX_SUBSCRIPTIONS = 100


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
        self.limit = settings.ws_max_queue
        self.outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.subs: dict[str, asyncio.Task[None]] = {}
        self.headers = {k.lower(): v for k, v in ws.headers.items()}
        self.request_id = str(ws.scope.get("state", {}).get("request_id", ""))
        self.slow = False

    def send(self, message: dict[str, Any]) -> None:
        """Queues a message; marks the client slow (and stops the writer) past the limit."""
        if self.slow:
            return
        if self.outbox.qsize() >= self.limit:
            self.slow = True
            self.outbox.put_nowait(None)
            return
        self.outbox.put_nowait(message)

    async def writer(self) -> None:
        """Sends queued messages; closes the socket for a slow consumer."""
        while True:
            message = await self.outbox.get()
            if message is None:
                await self.ws.close(SLOW_CONSUMER_CLOSE, "slow consumer")
                return
            await self.ws.send_text(json.dumps(message, separators=(",", ":"), default=str))

    async def heartbeat(self) -> None:
        """Pings the client at a fixed interval."""
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            self.send({"type": "ping"})

    async def run(self) -> None:
        """Serves the connection until the client leaves or is closed."""
        tasks = [asyncio.create_task(self.writer()), asyncio.create_task(self.heartbeat())]
        reader = asyncio.create_task(self.reader())
        try:
            await asyncio.wait([reader, tasks[0]], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in [reader, *tasks, *self.subs.values()]:
                task.cancel()
            for task in [reader, *tasks, *self.subs.values()]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def reader(self) -> None:
        """Reads client messages and acts on them."""
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                raw = await self.ws.receive_text()
                try:
                    self.handle(_parse(raw))
                except ConcordError as err:
                    self.send(_error(err, self.request_id, None))

    def handle(self, message: dict[str, Any]) -> None:
        """Dispatches one client message by its type."""
        kind = message.get("type")
        if kind == "ping":
            self.send({"type": "pong"})
        elif kind == "pong":
            return
        elif kind == "auth":
            self._auth(message)
        elif kind == "subscribe":
            self._subscribe(message)
        elif kind == "unsubscribe":
            task = self.subs.pop(str(message.get("id", "")), None)
            if task is not None:
                task.cancel()
        else:
            raise invalid_argument(f"unknown message type {kind!r}", "type")

    def _auth(self, message: dict[str, Any]) -> None:
        if isinstance(message.get("authorization"), str):
            self.headers["authorization"] = message["authorization"]
        elif isinstance(message.get("api_key"), str):
            self.headers["x-api-key"] = message["api_key"]
        else:
            raise invalid_argument("auth needs `authorization` or `api_key`", "auth")
        self.send({"type": "authenticated"})

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
        request = codec.from_json(message.get("request") or {}, rpc.request_cls())
        self.subs[sub_id] = asyncio.create_task(self._pump(sub_id, rpc, request))

    async def _pump(self, sub_id: str, rpc: Rpc, request: Any) -> None:
        ctx = CallContext(request_id=self.request_id, transport="ws", headers=dict(self.headers))
        try:
            stream = await self.dispatcher.stream(rpc, request, ctx)
            self.send({"type": "subscribed", "id": sub_id})
            async for item in stream:
                self.send({"type": "message", "id": sub_id, "message": codec.to_json(item)})
            self.send({"type": "complete", "id": sub_id})
        except ConcordError as err:
            self.send(_error(err, self.request_id, sub_id))
        finally:
            self.subs.pop(sub_id, None)


def _parse(raw: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise invalid_argument(f"message is not valid JSON: {exc}", "message") from exc
    if not isinstance(data, dict):
        raise invalid_argument("message must be a JSON object", "message")
    return data


def websocket_route(dispatcher: Dispatcher, settings: Settings) -> WebSocketRoute:
    """The /v1/ws route."""

    async def endpoint(ws: WebSocket) -> None:
        await ws.accept()
        await WsConnection(ws, dispatcher, settings).run()

    return WebSocketRoute("/v1/ws", endpoint)
