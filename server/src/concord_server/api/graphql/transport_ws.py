"""GraphQL over WebSocket at /graphql: the `graphql-transport-ws` protocol (graphql-ws library).

Client -> server: `connection_init` (its payload may carry `Authorization` / `X-API-Key`, names
case-insensitive, over the upgrade request's headers), `subscribe` (`id`, `payload` with
`query`, `operationName`, `variables`), `complete`, `ping`, `pong`. Server -> client:
`connection_ack`, `next`, `error`, `complete`, `pong`. Close codes: 4400 bad message, 4401
subscribe before ack, 4406 subprotocol not offered, 4408 no `connection_init` in time, 4409
duplicate id, 4429 second `connection_init`, 4500 server failure; 4008 for a client that falls
`ws_max_queue` messages behind (as on /v1/ws).

Every operation runs through the same engine as HTTP (limits, introspection switch) and every
root field through the dispatcher; a subscription is the contract's server stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from graphql import ExecutionResult, OperationType
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from concord_server.api import codec
from concord_server.api.dispatch import Dispatcher
from concord_server.api.graphql.engine import (
    DocumentError,
    Engine,
    request_of,
    response_body,
    without_variables,
)
from concord_server.api.graphql.errors import plain_error
from concord_server.api.graphql.resolvers import GraphQLContext
from concord_server.api.headers import client_address, merge_headers
from concord_server.api.text_rules import check_document
from concord_server.config import Settings
from concord_server.errors import ConcordError, ErrorCode
from concord_server.telemetry.metrics import STREAM_CONNECTIONS

SUBPROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT_SECONDS = 10.0
CLOSE_TIMEOUT_SECONDS = 5.0
MAX_OPERATIONS = 100
SLOW_CONSUMER_CLOSE = 4008
_CREDENTIALS = ("authorization", "x-api-key")

log = logging.getLogger("concord.graphql.ws")


class ProtocolClose(Exception):
    """The protocol demands closing the socket with this code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason[:120]  # a close reason fits in 123 bytes


class GraphqlWsConnection:
    """One socket: a reader, a bounded writer, the init deadline and the running operations."""

    def __init__(
        self, ws: WebSocket, engine: Engine, dispatcher: Dispatcher, settings: Settings
    ) -> None:
        self.ws, self.engine, self.dispatcher = ws, engine, dispatcher
        self.limit = max(1, settings.ws_max_queue)
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()  # bounded by `send`
        self.operations: dict[str, asyncio.Task[None]] = {}
        self.headers = merge_headers(ws.headers.items())
        self.address = client_address(ws.client.host if ws.client else None)
        self.request_id = str(ws.scope.get("state", {}).get("request_id", ""))
        self.initialised = False
        self.acknowledged = asyncio.Event()
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

    async def run(self) -> None:
        """Serves the socket until the client leaves, the protocol closes it, or it is slow."""
        tasks = [
            asyncio.create_task(self.reader()),
            asyncio.create_task(self.writer()),
            asyncio.create_task(self.slow.wait()),
            asyncio.create_task(self.init_deadline()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            closing = next((t.exception() for t in done if not t.cancelled()), None)
            if isinstance(closing, ProtocolClose):
                await self._close(closing.code, closing.reason, flush=True)
            elif self.slow.is_set():
                await self._close(SLOW_CONSUMER_CLOSE, "slow consumer", flush=False)
            elif closing is not None and not isinstance(closing, WebSocketDisconnect | OSError):
                log.error("GraphQL WebSocket failed", exc_info=closing)
                await self._close(4500, "Internal server error", flush=False)
        finally:
            await _stop([*tasks, *self.operations.values()])

    async def _close(self, code: int, reason: str, *, flush: bool) -> None:
        """Stops the operations, sends what is queued (unless the client is slow), closes."""
        await _stop(list(self.operations.values()))
        with contextlib.suppress(Exception):
            while flush and not self.outbox.empty():
                message = self.outbox.get_nowait()
                await asyncio.wait_for(
                    self.ws.send_text(json.dumps(message)), CLOSE_TIMEOUT_SECONDS
                )
            await asyncio.wait_for(self.ws.close(code, reason), CLOSE_TIMEOUT_SECONDS)

    async def init_deadline(self) -> None:
        """Closes the socket (4408) when no `connection_init` came in time."""
        try:
            await asyncio.wait_for(self.acknowledged.wait(), INIT_TIMEOUT_SECONDS)
        except TimeoutError:
            if not self.initialised:
                raise ProtocolClose(4408, "Connection initialisation timeout") from None
        await asyncio.Event().wait()  # acknowledged: nothing more to watch

    async def reader(self) -> None:
        """Reads and handles client messages until the client disconnects."""
        while True:
            frame = await self.ws.receive()
            if frame["type"] == "websocket.disconnect":
                return
            raw = frame.get("text")
            if raw is None:
                raw = frame.get("bytes") or b""
            await self.handle(_message(raw))

    async def handle(self, message: dict[str, Any]) -> None:
        """Acts on one client message by its type."""
        kind = message["type"]
        if kind == "connection_init":
            await self._init(message.get("payload"))
        elif kind == "ping":
            self.send({"type": "pong"})
        elif kind == "pong":
            return
        elif kind == "subscribe":
            self._subscribe(message)
        elif kind == "complete":
            task = self.operations.pop(_operation_id(message), None)
            if task is not None:
                task.cancel()
        else:
            raise ProtocolClose(4400, f"Unknown message type {kind!r}")

    async def _init(self, payload: Any) -> None:
        """Takes the payload's credential (over the upgrade request's) and acknowledges.

        The credential is checked by every operation, as every call through the dispatcher is,
        so a refused one fails the operation with its catalogue error instead of closing.
        """
        if self.initialised:
            raise ProtocolClose(4429, "Too many initialisation requests")
        self.initialised = True
        if payload is not None and not isinstance(payload, dict):
            raise ProtocolClose(4400, "connection_init payload must be an object")
        given = {k.lower(): v for k, v in (payload or {}).items() if isinstance(v, str)}
        credentials = {k: given[k] for k in _CREDENTIALS if k in given}
        if credentials:
            kept = {k: v for k, v in self.headers.items() if k not in _CREDENTIALS}
            self.headers = {**kept, **credentials}
        self.send({"type": "connection_ack"})
        self.acknowledged.set()

    def _subscribe(self, message: dict[str, Any]) -> None:
        if not self.acknowledged.is_set():
            raise ProtocolClose(4401, "Unauthorized")
        op_id = _operation_id(message)
        if op_id in self.operations:
            raise ProtocolClose(4409, f"Subscriber for {op_id} already exists")
        if len(self.operations) >= MAX_OPERATIONS:
            err = ConcordError(ErrorCode.INVALID_ARGUMENT, "too many operations on one socket")
            self.send(_error(op_id, [plain_error(err, self.request_id)]))
            return
        task = asyncio.create_task(self._operation(op_id, message.get("payload")))
        self.operations[op_id] = task

    async def _operation(self, op_id: str, payload: Any) -> None:
        """Runs one operation to its end; its messages go out in order."""
        try:
            prepared = self.engine.prepare(request_of(payload), self.request_id)
            gctx = GraphQLContext(
                self.dispatcher,
                dict(self.headers),
                self.request_id,
                client_address=self.address,
            )
            if prepared.kind is OperationType.SUBSCRIPTION:
                await self._stream(op_id, await self.engine.subscribe(prepared, gctx))
            else:
                await self._single(op_id, await self.engine.execute(prepared, gctx))
        except DocumentError as failure:
            self.send(_error(op_id, failure.errors))
        except ConcordError as err:
            self.send(_error(op_id, [plain_error(err, self.request_id)]))
        except Exception:
            log.exception("GraphQL operation %s failed", op_id)
            internal = ConcordError(ErrorCode.INTERNAL, "internal error")
            self.send(_error(op_id, [plain_error(internal, self.request_id)]))
        finally:
            if self.operations.get(op_id) is asyncio.current_task():
                del self.operations[op_id]

    async def _single(self, op_id: str, result: ExecutionResult) -> None:
        body = response_body(result, self.request_id)
        if "data" not in body:  # the variables did not fit: nothing ran
            self.send(_error(op_id, body["errors"]))
            return
        self.send({"type": "next", "id": op_id, "payload": body})
        self.send({"type": "complete", "id": op_id})

    async def _stream(
        self, op_id: str, outcome: AsyncIterator[ExecutionResult] | ExecutionResult
    ) -> None:
        if isinstance(outcome, ExecutionResult):  # the stream did not open
            self.send(_error(op_id, response_body(outcome, self.request_id).get("errors", [])))
            return
        try:
            async for result in outcome:
                if self.slow.is_set():
                    return
                body = response_body(result, self.request_id)
                self.send({"type": "next", "id": op_id, "payload": body})
        except ConcordError as err:  # the stream failed after it started
            self.send(_error(op_id, [plain_error(err, self.request_id)]))
            return
        finally:
            aclose = getattr(outcome, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
        self.send({"type": "complete", "id": op_id})


def _message(raw: str | bytes) -> dict[str, Any]:
    try:
        message = codec.parse_json(raw, "message", text=False)
        if isinstance(message, dict):  # a bad variable fails its operation, not the socket
            outside = {**message, "payload": without_variables(message.get("payload"))}
            check_document(outside, raw, "message")
    except ConcordError as err:
        raise ProtocolClose(4400, "Invalid message received") from err
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolClose(4400, "Invalid message received")
    return message


def _operation_id(message: dict[str, Any]) -> str:
    op_id = message.get("id")
    if not isinstance(op_id, str) or not op_id or len(op_id) > 200:
        raise ProtocolClose(4400, "An operation needs a string `id` (1-200 characters)")
    return op_id


def _error(op_id: str, errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "error", "id": op_id, "payload": errors}


async def _stop(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def graphql_ws_route(engine: Engine, dispatcher: Dispatcher, settings: Settings) -> WebSocketRoute:
    """The WebSocket route at /graphql."""

    async def endpoint(ws: WebSocket) -> None:
        if SUBPROTOCOL not in ws.scope.get("subprotocols", []):
            await ws.accept()
            await ws.close(4406, "Subprotocol not acceptable: use graphql-transport-ws")
            return
        await ws.accept(subprotocol=SUBPROTOCOL)
        with STREAM_CONNECTIONS.labels("graphql-ws").track_inprogress():
            await GraphqlWsConnection(ws, engine, dispatcher, settings).run()

    return WebSocketRoute("/graphql", endpoint)
