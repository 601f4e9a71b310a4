"""HTTP steps: the httpx caller against a tiny local HTTP server, and the circuit breakers."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from concord_server.clock import ManualClock, SystemClock
from concord_server.domain.circuit_breaker import (
    BreakerState,
    CircuitBreaker,
    CircuitBreakers,
    origin_of,
)
from concord_server.outbound.http_steps import HttpStepCaller
from concord_server.ports.sagas import HttpTarget


@dataclass(frozen=True)
class Reply:
    """A scripted answer: status, body, and a delay before answering (hang = never answer)."""

    status: int = 200
    body: Any = None
    raw: bytes | None = None
    delay: float = 0.0
    hang: bool = False

    def payload(self) -> bytes:
        """The body bytes."""
        if self.raw is not None:
            return self.raw
        return b"" if self.body is None else json.dumps(self.body).encode()


@dataclass
class Received:
    """A request the server got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The JSON body."""
        return json.loads(self.body)


@dataclass
class StepServer:
    """A tiny HTTP/1.1 server on 127.0.0.1 whose answers are scripted per path."""

    routes: dict[str, list[Reply]] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    hanging: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0

    def __post_init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[Any]] = set()

    def route(self, path: str, *replies: Reply) -> str:
        """Scripts a path (the last reply repeats; none means 200 with `{"path": path}`)."""
        self.routes[path] = list(replies)
        return self.url(path)

    def url(self, path: str) -> str:
        """The absolute URL of a path."""
        return f"http://127.0.0.1:{self.port}{path}"

    def paths(self) -> list[str]:
        """Requested paths, in order."""
        return [r.path for r in self.requests]

    async def __aenter__(self) -> StepServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            request = await self._read(reader)
            self.requests.append(request)
            self.arrived.set()
            await self._answer(writer, self._reply_for(request.path))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> Received:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        request_line, *lines = head.strip().split("\r\n")
        method, path, _ = request_line.split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return Received(method, path, headers, body)

    def _reply_for(self, path: str) -> Reply:
        script = self.routes.get(path)
        if not script:
            return Reply(200, {"path": path})
        return script.pop(0) if len(script) > 1 else script[0]

    async def _answer(self, writer: asyncio.StreamWriter, reply: Reply) -> None:
        if reply.hang:
            self.hanging.set()
            await asyncio.Event().wait()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        payload = reply.payload()
        head = f"HTTP/1.1 {reply.status} X\r\nContent-Length: {len(payload)}\r\n"
        head += "Content-Type: application/json\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + payload)
        await writer.drain()


BODY = {"saga_id": "s1", "step": "a", "phase": "ACTION", "attempt": 1, "input": None}


@pytest.fixture
async def server() -> Any:
    async with StepServer() as srv:
        yield srv


@pytest.fixture
async def caller() -> Any:
    c = HttpStepCaller(CircuitBreakers(SystemClock(), failure_threshold=3, cooldown=60))
    yield c
    await c.close()


async def test_a_2xx_succeeds_with_the_json_body(
    server: StepServer, caller: HttpStepCaller
) -> None:
    url = server.route("/a", Reply(201, {"id": 7}))
    target = HttpTarget(url, "PUT", (("authorization", "Bearer t"),))
    outcome = await caller.call(target, BODY, 5)
    assert outcome.ok and outcome.output == {"id": 7}
    [request] = server.requests
    assert request.method == "PUT" and request.json() == BODY
    assert request.headers["authorization"] == "Bearer t"
    assert request.headers["content-type"] == "application/json"


@pytest.mark.parametrize("raw", [b"", b"not json"])
async def test_a_2xx_without_json_succeeds_with_null(
    server: StepServer, caller: HttpStepCaller, raw: bytes
) -> None:
    outcome = await caller.call(
        HttpTarget(server.route("/a", Reply(204 if not raw else 200, raw=raw))), BODY, 5
    )
    assert outcome.ok and outcome.output is None


async def test_a_4xx_is_a_permanent_failure(server: StepServer, caller: HttpStepCaller) -> None:
    outcome = await caller.call(HttpTarget(server.route("/a", Reply(409, {"e": "dup"}))), BODY, 5)
    assert not outcome.ok and not outcome.retryable
    assert outcome.message.startswith("HTTP 409") and "dup" in outcome.message
    assert server.requests[0].method == "POST"


async def test_a_5xx_is_retryable(server: StepServer, caller: HttpStepCaller) -> None:
    outcome = await caller.call(HttpTarget(server.route("/a", Reply(503))), BODY, 5)
    assert not outcome.ok and outcome.retryable and outcome.message == "HTTP 503"


async def test_an_overrun_is_a_retryable_timeout(
    server: StepServer, caller: HttpStepCaller
) -> None:
    outcome = await caller.call(HttpTarget(server.route("/a", Reply(hang=True))), BODY, 0.2)
    assert not outcome.ok and outcome.retryable and outcome.timed_out


async def test_a_refused_connection_is_retryable(caller: HttpStepCaller) -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    outcome = await caller.call(HttpTarget(f"http://127.0.0.1:{port}/a"), BODY, 2)
    assert not outcome.ok and outcome.retryable and not outcome.timed_out


async def test_an_oversized_answer_fails_for_good(server: StepServer) -> None:
    small = HttpStepCaller(CircuitBreakers(SystemClock()), max_response_bytes=10)
    try:
        outcome = await small.call(HttpTarget(server.route("/a", Reply(200, "x" * 100))), BODY, 5)
    finally:
        await small.close()
    assert not outcome.ok and not outcome.retryable and "larger than 10 bytes" in outcome.message


async def test_an_open_breaker_fails_fast_without_calling(
    server: StepServer, caller: HttpStepCaller
) -> None:
    url = server.route("/a", Reply(500))
    for _ in range(3):
        assert (await caller.call(HttpTarget(url), BODY, 5)).retryable
    outcome = await caller.call(HttpTarget(server.url("/other-path")), BODY, 5)
    assert not outcome.ok and outcome.retryable and "circuit open" in outcome.message
    assert len(server.requests) == 3  # same origin: the fourth call never left


async def test_4xx_answers_do_not_open_the_breaker(
    server: StepServer, caller: HttpStepCaller
) -> None:
    url = server.route("/a", Reply(404))
    for _ in range(5):
        await caller.call(HttpTarget(url), BODY, 5)
    assert len(server.requests) == 5


def state(breaker: CircuitBreaker) -> BreakerState:
    """The breaker's state now."""
    return breaker.state


def test_breaker_opens_after_n_consecutive_failures_only() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(clock, failure_threshold=3, cooldown=10)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # resets the count
    breaker.record_failure()
    breaker.record_failure()
    assert state(breaker) is BreakerState.CLOSED and breaker.allow()
    breaker.record_failure()
    assert state(breaker) is BreakerState.OPEN and not breaker.allow()


def test_breaker_half_opens_after_the_cooldown_and_one_trial_decides() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(clock, failure_threshold=1, cooldown=10)
    breaker.record_failure()
    clock.advance(9.9)
    assert not breaker.allow()
    clock.advance(0.1)
    assert state(breaker) is BreakerState.HALF_OPEN
    assert breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.record_failure()
    assert state(breaker) is BreakerState.OPEN and not breaker.allow()
    clock.advance(10)
    assert breaker.allow()
    breaker.record_success()
    assert state(breaker) is BreakerState.CLOSED and breaker.allow() and breaker.allow()


def test_a_trial_that_never_reports_is_replaced_after_another_cooldown() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(clock, failure_threshold=1, cooldown=10)
    breaker.record_failure()
    clock.advance(10)
    assert breaker.allow()
    clock.advance(5)
    assert not breaker.allow()
    clock.advance(5)
    assert breaker.allow()


def test_breakers_are_per_origin() -> None:
    breakers = CircuitBreakers(ManualClock(), failure_threshold=1)
    breakers.for_url("http://a.example/x").record_failure()
    assert not breakers.for_url("http://A.example:80/y").allow()
    assert breakers.for_url("https://a.example/x").allow()
    assert breakers.for_url("http://a.example:8080/x").allow()
    assert origin_of("https://h/p?q") == "https://h:443"


async def test_server_helper_closes_hanging_requests() -> None:
    async with StepServer() as srv:
        url = srv.route("/h", Reply(hang=True))
        caller = HttpStepCaller(CircuitBreakers(SystemClock()))
        call = asyncio.create_task(caller.call(HttpTarget(url), BODY, 30))
        await asyncio.wait_for(srv.arrived.wait(), 5)
    outcome = await asyncio.wait_for(call, 5)
    await caller.close()
    assert not outcome.ok and outcome.retryable


async def test_a_target_outside_the_allowed_origins_fails_for_good_without_a_call(
    server: StepServer,
) -> None:
    caller = HttpStepCaller(CircuitBreakers(SystemClock()), allowed_origins=("https://ok:443",))
    try:
        outcome = await caller.call(HttpTarget(server.route("/a", Reply(200, {}))), BODY, 5)
    finally:
        await caller.close()
    assert not outcome.ok and not outcome.retryable
    assert "not an allowed target" in outcome.message
    assert server.requests == []
