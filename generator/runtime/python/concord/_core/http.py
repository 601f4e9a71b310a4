"""The sync and async HTTP cores every generated client builds on: requests, retries, errors.

Everything that is not I/O (building requests, retry decisions, error mapping) lives in
`BaseCore`; `SyncCore` and `AsyncCore` only differ in how they send and sleep.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar, cast

import httpx

from concord._core import retries
from concord._core.auth import Credentials, resolve_base_url, resolve_credentials
from concord._core.endpoint import Endpoint
from concord._core.errors_base import (
    APIConnectionError,
    APITimeoutError,
    ConcordAPIError,
    ErrorRegistry,
)
from concord._core.logging import logger, redact_headers, setup_logging
from concord._core.options import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    NOT_GIVEN,
    NotGiven,
    RequestOptions,
    Timeout,
    to_httpx_timeout,
)
from concord._core.raw import RAW_MODE, RawResponse
from concord._core.redirects import MAX_REDIRECTS, next_hop
from concord._core.resume import LAST_EVENT_ID, AsyncReopener, Reopener
from concord._core.sse import AsyncStream, Stream
from concord._core.tls import ClientCert, FilePath, resolve_tls
from concord._core.tracecontext import trace_headers
from concord._core.ws import (
    AsyncWebSocketStream,
    StreamTransport,
    WebSocketStream,
    WsTarget,
    check_transport,
    open_async,
    open_sync,
    ws_url,
)

T = TypeVar("T")
Parse = Callable[[Mapping[str, Any]], T]
SelfT = TypeVar("SelfT", bound="SyncCore")
AsyncSelfT = TypeVar("AsyncSelfT", bound="AsyncCore")


class BaseCore:
    """Configuration and the I/O-free half of a call."""

    def __init__(
        self,
        *,
        version: str,
        errors: ErrorRegistry,
        base_url: str | None = None,
        api_key: str | None = None,
        bearer_token: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        extra_headers: Mapping[str, str] | None = None,
        log_level: str | None = None,
        stream_transport: StreamTransport | None = None,
        ca_bundle: FilePath | None = None,
        client_cert: ClientCert | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        setup_logging(log_level)
        self.version = version
        self.base_url = resolve_base_url(base_url)
        self.credentials = resolve_credentials(api_key, bearer_token)
        self.timeout = to_httpx_timeout(timeout)
        self.max_retries = max_retries
        self.user_agent = f"concord-python/{version}"
        self.extra_headers = dict(extra_headers or {})
        self.errors = errors
        # Streams go over SSE through the HTTP client (its transport, proxies and TLS settings
        # apply, and a broken subscription resumes) unless WebSocket is asked for.
        self.stream_transport = check_transport(stream_transport or "sse")
        self._log_level = log_level
        # HTTPS and WSS trust `ca_bundle` and present `client_cert` (the SDK's own httpx
        # client and every WebSocket); without them, httpx's defaults (made when first needed).
        self.tls = resolve_tls(ca_bundle, client_cert)
        self._ssl_context: ssl.SSLContext | None = self.tls.ssl_context() if self.tls else None
        self._sleep_hook: Callable[[float], None] | None = None

    def _settings(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        bearer_token: str | None,
        timeout: Timeout | NotGiven,
        max_retries: int | None,
        extra_headers: Mapping[str, str] | None,
        stream_transport: StreamTransport | None,
    ) -> dict[str, Any]:
        """The constructor arguments of a copy of this client with some settings changed."""
        credentials = self.credentials
        if api_key or bearer_token:
            credentials = Credentials(api_key or None, bearer_token or None)
        return {
            "base_url": base_url or self.base_url,
            "api_key": credentials.api_key,
            "bearer_token": credentials.bearer_token,
            "timeout": self.timeout if isinstance(timeout, NotGiven) else timeout,
            "max_retries": self.max_retries if max_retries is None else max_retries,
            "extra_headers": {**self.extra_headers, **(extra_headers or {})},
            "log_level": self._log_level,
            "stream_transport": stream_transport or self.stream_transport,
            "ca_bundle": self.tls.ca_bundle if self.tls else None,
            "client_cert": self.tls.client_cert() if self.tls else None,
        }

    def _headers(
        self, endpoint: Endpoint, options: RequestOptions, key: str | None
    ) -> dict[str, str]:
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        headers.update(self.credentials.headers())
        if endpoint.body is not None:
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        headers.update(trace_headers())
        headers.update(self.extra_headers)
        headers.update(options.extra_headers or {})
        return headers

    def _retries(self, options: RequestOptions) -> int:
        """The call's retry budget: its own `max_retries`, else the client's."""
        return self.max_retries if options.max_retries is None else max(options.max_retries, 0)

    def _resumed(self, endpoint: Endpoint, options: RequestOptions, last_id: str) -> RequestOptions:
        """The options of a stream's reopening: its own, plus the header `Last-Event-ID`."""
        logger.info("%s: reopening the stream after event id %s", endpoint.rpc, last_id)
        headers = {**(options.extra_headers or {}), LAST_EVENT_ID: last_id}
        return dataclasses.replace(options, extra_headers=headers)

    def _use_websocket(self, options: RequestOptions) -> bool:
        """Whether a server stream goes over WebSocket (the call's choice, else the client's)."""
        return check_transport(options.transport or self.stream_transport) == "websocket"

    def _ws_target(
        self, endpoint: Endpoint, data: Mapping[str, Any], options: RequestOptions
    ) -> WsTarget:
        """The socket of a subscription: URL, upgrade headers, connect timeout, subscribe body."""
        headers = {"X-Request-ID": str(uuid.uuid4())}
        headers.update(self.credentials.headers())
        headers.update(trace_headers())
        headers.update(self.extra_headers)
        headers.update(options.extra_headers or {})
        agent = next((v for k, v in headers.items() if k.lower() == "user-agent"), None)
        headers = {k: v for k, v in headers.items() if k.lower() != "user-agent"}
        url = ws_url(self.base_url)
        if url.startswith("wss://") and self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()  # what the SDK's own httpx client uses
        return WsTarget(
            url=url,
            headers=headers,
            user_agent=agent or self.user_agent,
            open_timeout=self._timeout(options).connect,
            rpc=endpoint.rpc,
            request=data,
            ssl_context=self._ssl_context,
        )

    def _timeout(self, options: RequestOptions) -> httpx.Timeout:
        if not isinstance(options.timeout, NotGiven):
            return to_httpx_timeout(options.timeout)
        return self.timeout

    def _idempotency_key(self, endpoint: Endpoint, options: RequestOptions) -> str | None:
        """A key for calls that are not idempotent by themselves; reused across retries."""
        if options.idempotency_key:
            return options.idempotency_key
        return None if endpoint.retry_safe else str(uuid.uuid4())

    def _build(
        self,
        http: httpx.Client | httpx.AsyncClient,
        endpoint: Endpoint,
        data: Mapping[str, Any],
        options: RequestOptions,
        key: str | None,
    ) -> httpx.Request:
        body = endpoint.body_json(data)
        content = None if body is None else json.dumps(body, separators=(",", ":"))
        return http.build_request(
            endpoint.verb,
            self.base_url + endpoint.url_path(data),
            params=tuple(endpoint.query_params(data)),
            content=content,
            headers=self._headers(endpoint, options, key),
            timeout=self._timeout(options),
        )

    def _retry_after_error(
        self,
        request: httpx.Request,
        error: httpx.TransportError,
        retryable: bool,
        attempt: int,
        limit: int,
    ) -> float:
        """Delay before retrying a transport error, or raise the SDK's connection error."""
        logger.info("%s %s failed: %r", request.method, request.url, error)
        if retryable and attempt < limit:
            return retries.backoff(attempt)
        if isinstance(error, httpx.TimeoutException):
            raise APITimeoutError(request=request) from error
        raise APIConnectionError(f"connection error: {error}", request=request) from error

    def _retry_after_status(
        self, response: httpx.Response, retryable: bool, attempt: int, limit: int
    ) -> float | None:
        """Delay before retrying an error status, or None when the answer is final."""
        logger.debug(
            "%s %s -> %s %s",
            response.request.method,
            response.request.url,
            response.status_code,
            redact_headers(response.headers.multi_items()),
        )
        if response.is_success:
            return None
        if retryable and attempt < limit and retries.is_retryable_status(response.status_code):
            return retries.retry_delay(attempt, response.headers)
        return None

    def _log_request(self, request: httpx.Request, attempt: int) -> None:
        logger.debug(
            "%s %s attempt=%d headers=%s",
            request.method,
            request.url,
            attempt + 1,
            redact_headers(request.headers.multi_items()),
        )

    def _result(self, response: httpx.Response, parse: Parse[T]) -> T:
        """The parsed answer, or a RawResponse of it inside `with_raw_response`."""
        parsed = parse(response.json() if response.content else {})
        if RAW_MODE.get():
            return cast(T, RawResponse(response.status_code, response.headers, parsed, response))
        return parsed

    def _error(self, response: httpx.Response) -> ConcordAPIError:
        error = self.errors.from_response(response)
        logger.info("%s %s -> %s", response.request.method, response.request.url, error)
        return error


class SyncCore(BaseCore):
    """Blocking calls over an `httpx.Client`."""

    def __init__(self, *, http_client: httpx.Client | None = None, **config: Any) -> None:
        super().__init__(**config)
        self._owns_http = http_client is None
        self._http_client = http_client
        self._http_opening = threading.Lock()

    @property
    def _http(self) -> httpx.Client:
        """The connection pool, opened at the first HTTP call (a gRPC client never opens one)."""
        client = self._http_client
        if client is None:
            with self._http_opening:
                if self._http_client is None:
                    self._http_client = httpx.Client(verify=self._ssl_context or True)
                client = self._http_client
        return client

    def with_options(
        self: SelfT,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        bearer_token: str | None = None,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        stream_transport: StreamTransport | None = None,
    ) -> SelfT:
        """A copy of this client with the given settings changed (extra headers are merged; a
        credential replaces both). It shares this client's connection pool: close the original."""
        settings = self._settings(
            base_url=base_url,
            api_key=api_key,
            bearer_token=bearer_token,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
            stream_transport=stream_transport,
        )
        return type(self)(http_client=self._http, **settings)

    def request(
        self, endpoint: Endpoint, data: Mapping[str, Any], parse: Parse[T], options: RequestOptions
    ) -> T:
        """One unary call with retries; the parsed answer or a typed error."""
        response = self._send(endpoint, data, options, stream=False)
        return self._result(response, parse)

    def stream(
        self, endpoint: Endpoint, data: Mapping[str, Any], parse: Parse[T], options: RequestOptions
    ) -> Stream[T]:
        """A server stream over WebSocket or SSE, open once the server accepted it (a refusal
        raises here); opening is retried like a call."""
        if self._use_websocket(options):
            target = self._ws_target(endpoint, data, options)
            opened = open_sync(target, self.errors, self._retries(options), self._sleep)
            return WebSocketStream(target, opened, parse, self.errors)
        response = unbounded_reads(self._send(endpoint, data, options, stream=True))
        attempt = functools.partial(self._reopen, endpoint, data, options)
        reopener = Reopener(attempt, self._retries(options), self._sleep_hook)
        return Stream(response, parse, self.errors, reopener)

    def _reopen(
        self, endpoint: Endpoint, data: Mapping[str, Any], options: RequestOptions, last_id: str
    ) -> httpx.Response:
        """One attempt to reopen a stream after its last event id: the open answer, else the
        typed error of an error answer (a transport error raises as it is)."""
        resumed = self._resumed(endpoint, options, last_id)
        key = self._idempotency_key(endpoint, options)
        request = self._build(self._http, endpoint, data, resumed, key)
        self._log_request(request, 0)
        first = self._http.send(request, stream=True, follow_redirects=False)
        response = self._follow(first, stream=True)
        if response.is_success:
            return unbounded_reads(response)
        response.read()
        response.close()
        raise self._error(response)

    def _send(
        self, endpoint: Endpoint, data: Mapping[str, Any], options: RequestOptions, *, stream: bool
    ) -> httpx.Response:
        key = self._idempotency_key(endpoint, options)
        retryable = endpoint.retry_safe or key is not None
        limit = self._retries(options)
        attempt = 0
        while True:
            request = self._build(self._http, endpoint, data, options, key)
            self._log_request(request, attempt)
            try:
                first = self._http.send(request, stream=stream, follow_redirects=False)
                response = self._follow(first, stream)
            except httpx.TransportError as error:
                self._sleep(self._retry_after_error(request, error, retryable, attempt, limit))
                attempt += 1
                continue
            delay = self._retry_after_status(response, retryable, attempt, limit)
            if delay is None:
                break
            response.close()
            self._sleep(delay)
            attempt += 1
        if not response.is_success:
            response.read()
            response.close()
            raise self._error(response)
        return response

    def _follow(self, response: httpx.Response, stream: bool) -> httpx.Response:
        """The answer after same-origin redirects (another origin raises)."""
        for _ in range(MAX_REDIRECTS):
            try:
                target = next_hop(response, self.base_url)
            finally:
                if response.is_redirect:
                    response.close()
            if target is None:
                return response
            response = self._http.send(target, stream=stream, follow_redirects=False)
        response.close()
        raise APIConnectionError(f"more than {MAX_REDIRECTS} redirects", request=response.request)

    def _sleep(self, seconds: float) -> None:
        if self._sleep_hook is not None:
            self._sleep_hook(seconds)
        else:
            time.sleep(seconds)

    def close(self) -> None:
        """Close the connection pool (unless an `http_client` was passed in)."""
        if self._owns_http and self._http_client is not None:
            self._http_client.close()

    def __enter__(self: SelfT) -> SelfT:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncCore(BaseCore):
    """Asyncio calls over an `httpx.AsyncClient`."""

    def __init__(self, *, http_client: httpx.AsyncClient | None = None, **config: Any) -> None:
        super().__init__(**config)
        self._owns_http = http_client is None
        self._http_client = http_client

    @property
    def _http(self) -> httpx.AsyncClient:
        """The connection pool, opened at the first HTTP call (a gRPC client never opens one)."""
        if self._http_client is None:
            self._http_client = httpx.AsyncClient(verify=self._ssl_context or True)
        return self._http_client

    def with_options(
        self: AsyncSelfT,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        bearer_token: str | None = None,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        stream_transport: StreamTransport | None = None,
    ) -> AsyncSelfT:
        """A copy of this client with the given settings changed (extra headers are merged; a
        credential replaces both). It shares this client's connection pool: close the original."""
        settings = self._settings(
            base_url=base_url,
            api_key=api_key,
            bearer_token=bearer_token,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
            stream_transport=stream_transport,
        )
        return type(self)(http_client=self._http, **settings)

    async def request(
        self, endpoint: Endpoint, data: Mapping[str, Any], parse: Parse[T], options: RequestOptions
    ) -> T:
        """One unary call with retries; the parsed answer or a typed error."""
        response = await self._send(endpoint, data, options, stream=False)
        return self._result(response, parse)

    async def stream(
        self, endpoint: Endpoint, data: Mapping[str, Any], parse: Parse[T], options: RequestOptions
    ) -> AsyncStream[T]:
        """A server stream over WebSocket or SSE, open once the server accepted it (a refusal
        raises here); opening is retried like a call."""
        if self._use_websocket(options):
            target = self._ws_target(endpoint, data, options)
            opened = await open_async(target, self.errors, self._retries(options), self._sleep)
            return AsyncWebSocketStream(target, opened, parse, self.errors)
        response = unbounded_reads(await self._send(endpoint, data, options, stream=True))
        attempt = functools.partial(self._reopen, endpoint, data, options)
        reopener = AsyncReopener(attempt, self._retries(options), self._sleep_hook)
        return AsyncStream(response, parse, self.errors, reopener)

    async def _reopen(
        self, endpoint: Endpoint, data: Mapping[str, Any], options: RequestOptions, last_id: str
    ) -> httpx.Response:
        """One attempt to reopen a stream after its last event id: the open answer, else the
        typed error of an error answer (a transport error raises as it is)."""
        resumed = self._resumed(endpoint, options, last_id)
        key = self._idempotency_key(endpoint, options)
        request = self._build(self._http, endpoint, data, resumed, key)
        self._log_request(request, 0)
        first = await self._http.send(request, stream=True, follow_redirects=False)
        response = await self._follow(first, stream=True)
        if response.is_success:
            return unbounded_reads(response)
        await response.aread()
        await response.aclose()
        raise self._error(response)

    async def _send(
        self, endpoint: Endpoint, data: Mapping[str, Any], options: RequestOptions, *, stream: bool
    ) -> httpx.Response:
        key = self._idempotency_key(endpoint, options)
        retryable = endpoint.retry_safe or key is not None
        limit = self._retries(options)
        attempt = 0
        while True:
            request = self._build(self._http, endpoint, data, options, key)
            self._log_request(request, attempt)
            try:
                first = await self._http.send(request, stream=stream, follow_redirects=False)
                response = await self._follow(first, stream)
            except httpx.TransportError as error:
                pause = self._retry_after_error(request, error, retryable, attempt, limit)
                await self._sleep(pause)
                attempt += 1
                continue
            delay = self._retry_after_status(response, retryable, attempt, limit)
            if delay is None:
                break
            await response.aclose()
            await self._sleep(delay)
            attempt += 1
        if not response.is_success:
            await response.aread()
            await response.aclose()
            raise self._error(response)
        return response

    async def _follow(self, response: httpx.Response, stream: bool) -> httpx.Response:
        """The answer after same-origin redirects (another origin raises)."""
        for _ in range(MAX_REDIRECTS):
            try:
                target = next_hop(response, self.base_url)
            finally:
                if response.is_redirect:
                    await response.aclose()
            if target is None:
                return response
            response = await self._http.send(target, stream=stream, follow_redirects=False)
        await response.aclose()
        raise APIConnectionError(f"more than {MAX_REDIRECTS} redirects", request=response.request)

    async def _sleep(self, seconds: float) -> None:
        if self._sleep_hook is not None:
            self._sleep_hook(seconds)
        else:
            await asyncio.sleep(seconds)

    async def close(self) -> None:
        """Close the connection pool (unless an `http_client` was passed in)."""
        if self._owns_http and self._http_client is not None:
            await self._http_client.aclose()

    async def __aenter__(self: AsyncSelfT) -> AsyncSelfT:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


def unbounded_reads(response: httpx.Response) -> httpx.Response:
    """An open stream's response whose further reads wait as long as it takes: the client's
    timeout bounded the opening (up to the headers), and a subscription may stay quiet for long.
    httpx reads the request's timeout extension at every read of the body."""
    timeout = response.request.extensions.get("timeout")
    if isinstance(timeout, dict):
        response.request.extensions["timeout"] = {**timeout, "read": None}
    return response
