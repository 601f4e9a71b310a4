"""WebSocket subscriptions: server streams over the server's `/v1/ws` endpoint.

One socket per subscription. The upgrade request carries the credentials, `User-Agent`,
`X-Request-ID` and the extra headers; the client sends one `subscribe` message and waits for
`subscribed` (or the refusal's `error`) before the stream is handed out, then reads `message` /
`error` / `complete`, answering the server's `ping` with `pong`. A redirect of the upgrade is
followed only within the base URL's origin. `wss://` uses the TLS context httpx builds by
default (`SSL_CERT_FILE` / `SSL_CERT_DIR`, else certifi), and the proxy comes from the
environment (`HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`), as for the SDK's own httpx client;
settings of an `http_client` passed to the client do not reach the socket. Everything that is
not I/O (URLs, messages, error mapping, retry decisions) lives here as plain functions.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias, TypeVar

import httpx
from websockets.asyncio.client import ClientConnection as AsyncConnection
from websockets.asyncio.client import connect as AsyncConnector
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException
from websockets.sync.client import ClientConnection as SyncConnection
from websockets.sync.client import reconnect as SyncConnector

from concord._core import retries
from concord._core.errors_base import (
    APIConnectionError,
    APITimeoutError,
    ConcordError,
    CrossOriginRedirectError,
    ErrorRegistry,
    SlowConsumerError,
)
from concord._core.logging import logger, redact_headers
from concord._core.redirects import origin
from concord._core.sse import AsyncStream, Stream

T = TypeVar("T")
StreamTransport: TypeAlias = Literal["websocket", "sse"]
STREAM_TRANSPORTS: Final = ("websocket", "sse")
WS_PATH: Final = "/v1/ws"
SUBSCRIPTION_ID: Final = "s1"
SLOW_CONSUMER_CLOSE: Final = 4008
MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024
CLOSE_TIMEOUT: Final = 5.0
_PONG: Final = json.dumps({"type": "pong"})


@dataclass(frozen=True)
class WsTarget:
    """Where and how to open one subscription's socket, and what to subscribe to."""

    url: str
    headers: Mapping[str, str]
    user_agent: str
    open_timeout: float | None
    rpc: str
    request: Mapping[str, Any]
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False)

    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments of websockets' connectors for this target."""
        options: dict[str, Any] = {
            "additional_headers": dict(self.headers),
            "user_agent_header": self.user_agent,
            "open_timeout": self.open_timeout,
            "close_timeout": CLOSE_TIMEOUT,
            "max_size": MAX_MESSAGE_BYTES,
        }
        if self.url.startswith("wss://") and self.ssl_context is not None:
            options["ssl"] = self.ssl_context
        return options

    def subscribe_message(self) -> str:
        """The `subscribe` message of this subscription."""
        message = {"type": "subscribe", "id": SUBSCRIPTION_ID, "rpc": self.rpc}
        return json.dumps({**message, "request": dict(self.request)}, separators=(",", ":"))


def ws_url(base_url: str) -> str:
    """`ws(s)://host[/prefix]/v1/ws` of an `http(s)://` base URL."""
    scheme, sep, rest = base_url.partition("://")
    if not sep or scheme.lower() not in ("http", "https", "ws", "wss"):
        raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
    secure = scheme.lower() in ("https", "wss")
    return ("wss://" if secure else "ws://") + rest.rstrip("/") + WS_PATH


def check_transport(value: str) -> StreamTransport:
    """`value` when it names a stream transport, else ValueError."""
    if value == "websocket":
        return "websocket"
    if value == "sse":
        return "sse"
    raise ValueError(f"stream_transport must be one of {STREAM_TRANSPORTS}, not {value!r}")


@dataclass(frozen=True)
class Step:
    """What one server message asks of the reader: yield `value`, answer a ping, stop, or skip."""

    kind: Literal["message", "ping", "complete", "subscribed", "skip"]
    value: Any = None


def read_step(raw: str | bytes, errors: ErrorRegistry, request_id: str) -> Step:
    """The step of one server message; an `error` message raises its typed exception."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise APIConnectionError(f"malformed WebSocket message: {raw[:200]!r}") from exc
    if not isinstance(data, dict):
        raise APIConnectionError(f"malformed WebSocket message: {raw[:200]!r}")
    kind = data.get("type")
    if kind == "message":
        message = data.get("message")
        return Step("message", message if isinstance(message, Mapping) else {})
    if kind == "error":
        raise errors.from_message(data.get("error"), request_id)
    if kind == "ping":
        return Step("ping")
    if kind == "complete":
        return Step("complete")
    if kind == "subscribed":
        return Step("subscribed")
    return Step("skip")  # pong, authenticated, and types of newer servers


def closed_error(exc: ConnectionClosed) -> ConcordError:
    """The SDK error of a socket the server closed before the stream completed."""
    frame = exc.rcvd
    code = frame.code if frame is not None else 1006
    reason = frame.reason if frame is not None else ""
    if code == SLOW_CONSUMER_CLOSE:
        return SlowConsumerError(close_code=code, reason=reason)
    detail = f"code {code}" + (f": {reason}" if reason else "")
    return APIConnectionError(f"WebSocket closed before the stream completed ({detail})")


def connect_delay(
    exc: Exception, target: WsTarget, errors: ErrorRegistry, attempt: int, max_retries: int
) -> float:
    """Delay before retrying a failed upgrade, or raise the SDK error of the failure."""
    logger.info("WebSocket %s failed: %r", target.url, exc)
    if isinstance(exc, CrossOriginRedirectError):
        raise exc
    retry = attempt < max_retries and not isinstance(exc, InvalidURI)
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        headers = httpx.Headers(list(exc.response.headers.raw_items()))
        if retry and retries.is_retryable_status(status):
            return retries.retry_delay(attempt, headers)
        raise _status_error(exc, errors, target) from exc
    if retry and not isinstance(exc, WebSocketException):
        return retries.backoff(attempt)
    if isinstance(exc, TimeoutError):
        raise APITimeoutError("WebSocket connect timed out") from exc
    raise APIConnectionError(f"WebSocket connection error: {exc}") from exc


def _status_error(exc: InvalidStatus, errors: ErrorRegistry, target: WsTarget) -> ConcordError:
    response = exc.response
    try:
        body: Any = json.loads(response.body or b"")
    except ValueError:
        body = None
    request_id = response.headers.get("x-request-id", "") or _request_id(target)
    return errors.build(response.status_code, body, request_id=request_id)


def _request_id(target: WsTarget) -> str:
    return next((v for k, v in target.headers.items() if k.lower() == "x-request-id"), "")


_REDIRECTS: Final = frozenset({300, 301, 302, 303, 307, 308})


def _cross_origin(exc: Exception, current: str) -> CrossOriginRedirectError | None:
    """The refusal of an upgrade answered with a redirect to another origin (whatever scheme
    its Location uses), before websockets would follow it."""
    if not isinstance(exc, InvalidStatus) or exc.response.status_code not in _REDIRECTS:
        return None
    location = exc.response.headers.get("Location")
    if location is None:
        return None
    target = urllib.parse.urljoin(current, location)
    return None if origin(target) == origin(current) else CrossOriginRedirectError(target)


class _SyncConnector(SyncConnector):
    """websockets' sync connector, following redirects only within the origin."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        return _cross_origin(exc, self.uri) or super().process_redirect(exc)


class _AsyncConnector(AsyncConnector):
    """websockets' asyncio connector, following redirects only within the origin."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        return _cross_origin(exc, self.uri) or super().process_redirect(exc)


def _subscribed(step: Step, early: list[Step]) -> bool:
    """Whether the handshake is over; a message that came first is kept for the reader."""
    if step.kind in ("message", "complete"):
        early.append(step)
    return step.kind in ("subscribed", "message", "complete")


def open_sync(
    target: WsTarget, errors: ErrorRegistry, max_retries: int, sleep: Callable[[float], None]
) -> tuple[SyncConnection, list[Step]]:
    """A socket whose subscription the server accepted (the upgrade retried like a call), and
    any message that came with the acceptance; or the SDK error of the failure/refusal."""
    attempt = 0
    while True:
        _log_open(target, attempt)
        try:
            socket = _SyncConnector(target.url, **target.connect_options()).connect()
            socket.pending_legacy_warning = False  # this SDK closes the socket itself
            break
        except (OSError, WebSocketException, CrossOriginRedirectError) as exc:
            sleep(connect_delay(exc, target, errors, attempt, max_retries))
            attempt += 1
    early: list[Step] = []
    try:
        socket.send(target.subscribe_message())
        while True:
            step = read_step(socket.recv(timeout=target.open_timeout), errors, _request_id(target))
            if step.kind == "ping":
                socket.send(_PONG)
            elif _subscribed(step, early):
                return socket, early
    except ConnectionClosed as exc:
        socket.close()
        raise closed_error(exc) from exc
    except TimeoutError as exc:
        socket.close()
        raise APITimeoutError("no answer to the WebSocket subscription") from exc
    except BaseException:
        socket.close()
        raise


async def open_async(
    target: WsTarget,
    errors: ErrorRegistry,
    max_retries: int,
    sleep: Callable[[float], Awaitable[None]],
) -> tuple[AsyncConnection, list[Step]]:
    """The asyncio `open_sync`: an accepted subscription's socket, or the SDK error."""
    attempt = 0
    while True:
        _log_open(target, attempt)
        try:
            socket = await _AsyncConnector(target.url, **target.connect_options())
            break
        except (OSError, WebSocketException, CrossOriginRedirectError) as exc:
            await sleep(connect_delay(exc, target, errors, attempt, max_retries))
            attempt += 1
    early: list[Step] = []
    try:
        await socket.send(target.subscribe_message())
        while True:
            raw = await asyncio.wait_for(socket.recv(), target.open_timeout)
            step = read_step(raw, errors, _request_id(target))
            if step.kind == "ping":
                await socket.send(_PONG)
            elif _subscribed(step, early):
                return socket, early
    except ConnectionClosed as exc:
        await socket.close()
        raise closed_error(exc) from exc
    except asyncio.TimeoutError as exc:
        await socket.close()
        raise APITimeoutError("no answer to the WebSocket subscription") from exc
    except BaseException:
        await socket.close()
        raise


def _log_open(target: WsTarget, attempt: int) -> None:
    logger.debug(
        "WebSocket %s %s attempt=%d headers=%s",
        target.url,
        target.rpc,
        attempt + 1,
        redact_headers(list(target.headers.items())),
    )


class WebSocketStream(Stream[T]):
    """Messages of an accepted subscription over WebSocket; leaving the loop or `close()`
    (from any thread) closes it, and a stream closed by the caller simply ends."""

    def __init__(
        self,
        target: WsTarget,
        opened: tuple[SyncConnection, list[Step]],
        parse: Callable[[Mapping[str, Any]], T],
        errors: ErrorRegistry,
    ) -> None:
        self._target = target
        self._socket, self._early = opened
        self._parse = parse
        self._errors = errors
        self._closing = False

    def __iter__(self) -> Iterator[T]:
        socket = self._socket
        try:
            for step in self._steps():
                if step.kind == "message":
                    yield self._parse(step.value)
                elif step.kind == "ping":
                    socket.send(_PONG)
                elif step.kind == "complete":
                    return
        except ConnectionClosed as exc:
            if not self._closing:
                raise closed_error(exc) from exc
        finally:
            self.close()

    def _steps(self) -> Iterator[Step]:
        yield from self._early
        while True:
            yield read_step(self._socket.recv(), self._errors, _request_id(self._target))

    def close(self) -> None:
        """Close the socket (idempotent; safe from another thread)."""
        self._closing = True
        self._socket.close()


class AsyncWebSocketStream(AsyncStream[T]):
    """Messages of an accepted subscription over WebSocket for `async for`; `aclose()` closes
    it, and a stream closed by the caller simply ends."""

    def __init__(
        self,
        target: WsTarget,
        opened: tuple[AsyncConnection, list[Step]],
        parse: Callable[[Mapping[str, Any]], T],
        errors: ErrorRegistry,
    ) -> None:
        self._target = target
        self._socket, self._early = opened
        self._parse = parse
        self._errors = errors
        self._closing = False

    async def __aiter__(self) -> AsyncIterator[T]:
        socket = self._socket
        try:
            while True:
                if self._early:
                    step = self._early.pop(0)
                else:
                    step = read_step(await socket.recv(), self._errors, _request_id(self._target))
                if step.kind == "message":
                    yield self._parse(step.value)
                elif step.kind == "ping":
                    await socket.send(_PONG)
                elif step.kind == "complete":
                    return
        except ConnectionClosed as exc:
            if not self._closing:
                raise closed_error(exc) from exc
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the socket (idempotent)."""
        self._closing = True
        await self._socket.close()
