"""The outbound adapter that runs HTTP steps with httpx, behind per-origin circuit breakers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

import httpx

from concord_server.domain.circuit_breaker import CircuitBreakers, origin_of
from concord_server.domain.sagas import origin_allowed
from concord_server.ports.sagas import CallOutcome, HttpTarget
from concord_server.telemetry.metrics import SAGA_HTTP_STEP_SECONDS
from concord_server.telemetry.saga_trace import end_call_span, http_call_span

MAX_RESPONSE_BYTES = 1_048_576
_DETAIL_CHARS = 300


def _detail(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_CHARS else text[:_DETAIL_CHARS] + "…"


class HttpStepCaller:
    """Calls step URLs: 2xx succeeds with the JSON body, 4xx fails for good, the rest retries."""

    def __init__(
        self,
        breakers: CircuitBreakers,
        client: httpx.AsyncClient | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        allowed_origins: Sequence[str] = ("*",),
    ) -> None:
        self._allowed = tuple(allowed_origins)
        self._breakers = breakers
        self._client = client or httpx.AsyncClient(follow_redirects=False)
        self._max_bytes = max_response_bytes

    async def call(
        self, target: HttpTarget, body: dict[str, Any], time_limit: float
    ) -> CallOutcome:
        """One attempt; open breakers fail fast as retryable failures."""
        if not origin_allowed(target.url, self._allowed):
            message = f"{target.url!r} is not an allowed target (saga_http_allowed_origins)"
            return CallOutcome(ok=False, message=message, retryable=False)
        breaker = self._breakers.for_url(target.url)
        if not breaker.allow():
            message = f"circuit open for {origin_of(target.url)}; call not attempted"
            return CallOutcome(ok=False, message=message, retryable=True)
        outcome = await self._attempt(target, body, time_limit)
        if outcome.ok or not outcome.retryable:
            breaker.record_success()  # the target answered: it is up
        else:
            breaker.record_failure()
        return outcome

    async def _attempt(
        self, target: HttpTarget, body: dict[str, Any], time_limit: float
    ) -> CallOutcome:
        """One request in its client span, timed into the step-call histogram."""
        headers = {"content-type": "application/json"}
        headers.update((k.lower(), v) for k, v in target.headers)
        span = http_call_span(target.effective_method, target.url, headers)
        started = time.perf_counter()
        outcome, status = CallOutcome(ok=False, message="call interrupted", retryable=True), 0
        try:
            outcome, status = await self._send(target, body, time_limit, headers)
        finally:
            kind = "ok" if outcome.ok else "timeout" if outcome.timed_out else "failed"
            SAGA_HTTP_STEP_SECONDS.labels(kind).observe(time.perf_counter() - started)
            if span is not None:
                end_call_span(span, status, outcome.ok, outcome.message)
        return outcome

    async def _send(
        self, target: HttpTarget, body: dict[str, Any], time_limit: float, headers: dict[str, str]
    ) -> tuple[CallOutcome, int]:
        """One request: the outcome and the HTTP status (0 when there was no answer)."""
        request = self._client.build_request(
            target.effective_method,
            target.url,
            content=json.dumps(body).encode(),
            headers=headers,
            timeout=httpx.Timeout(time_limit),
        )
        try:
            async with asyncio.timeout(time_limit):
                response = await self._client.send(request, stream=True)
                try:
                    content = await self._read_capped(response)
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            message = f"no answer within {time_limit:g}s"
            return CallOutcome(ok=False, message=message, retryable=True, timed_out=True), 0
        except httpx.HTTPError as exc:
            message = f"{type(exc).__name__}: {exc}"
            return CallOutcome(ok=False, message=message, retryable=True), 0
        status = response.status_code
        if content is None:
            message = f"HTTP {status} answer is larger than {self._max_bytes} bytes"
            return CallOutcome(ok=False, message=message, retryable=False), status
        return self._classify(status, content), status

    async def _read_capped(self, response: httpx.Response) -> bytes | None:
        """The body, or None when it is larger than the cap."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _classify(status: int, content: bytes) -> CallOutcome:
        text = content.decode("utf-8", errors="replace")
        if 200 <= status < 300:
            return CallOutcome(ok=True, output=_json_or_null(content))
        message = f"HTTP {status}: {_detail(text)}" if text.strip() else f"HTTP {status}"
        return CallOutcome(ok=False, message=message, retryable=not 400 <= status < 500)

    async def close(self) -> None:
        """Closes the connection pool."""
        await self._client.aclose()


def _json_or_null(content: bytes) -> Any:
    """The JSON body of a success, or None for an empty or non-JSON body."""
    if not content.strip():
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None
