"""The drain: streams end with UNAVAILABLE once shutdown begins; readiness fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import anyio
import pytest

from concord_server._gen.concord.v1 import health_pb2
from concord_server.api.handlers.health import HealthHandlers
from concord_server.context import CallContext
from concord_server.drain import Drain
from concord_server.errors import ConcordError, ErrorCode


async def _numbers(closed: list[bool], forever: asyncio.Event) -> AsyncGenerator[int, None]:
    try:
        yield 1
        yield 2
        await forever.wait()  # a quiet stream: nothing more until the drain
        yield 3
    finally:
        closed.append(True)


async def test_items_pass_until_the_source_ends() -> None:
    async def two() -> AsyncGenerator[int, None]:
        yield 1
        yield 2

    assert [i async for i in Drain().until_drained(two())] == [1, 2]


async def test_a_quiet_stream_ends_with_unavailable_when_draining_starts() -> None:
    drain, never = Drain(), asyncio.Event()
    closed: list[bool] = []
    source = _numbers(closed, never)
    items = drain.until_drained(source)
    assert [await anext(items), await anext(items)] == [1, 2]
    waiting = asyncio.ensure_future(anext(items))
    await asyncio.sleep(0)  # the read is now waiting on the quiet source
    drain.start()
    with pytest.raises(ConcordError) as ended:
        await asyncio.wait_for(waiting, 10)
    assert ended.value.code is ErrorCode.UNAVAILABLE
    assert ended.value.details == {"reason": "shutting_down"}
    await items.aclose()
    await source.aclose()  # the pending read was settled: the source closes cleanly
    assert closed == [True]


async def test_a_stream_opened_while_draining_ends_at_once() -> None:
    drain = Drain()
    drain.start()
    with pytest.raises(ConcordError) as ended:
        await anext(drain.until_drained(_numbers([], asyncio.Event())))
    assert ended.value.code is ErrorCode.UNAVAILABLE


async def test_readiness_fails_while_draining() -> None:
    drain = Drain()
    health = HealthHandlers([], drain)
    request, ctx = health_pb2.GetReadinessRequest(), CallContext(request_id="r")
    assert (await health.GetReadiness(request, ctx)).status == health_pb2.SERVING_STATUS_SERVING
    drain.start()
    answer = await health.GetReadiness(request, ctx)
    assert answer.status == health_pb2.SERVING_STATUS_NOT_SERVING
    assert [(c.name, c.message) for c in answer.components] == [("server", "shutting down")]


async def test_a_stream_cancelled_by_an_anyio_scope_is_no_longer_open() -> None:
    # Starlette ends a streaming response whose client left by cancelling an anyio scope, which
    # cancels every await again, those in `finally` blocks too: the count must drop anyway.
    drain, never = Drain(), asyncio.Event()
    closed: list[bool] = []
    items = drain.until_drained(_numbers(closed, never))

    async def consume() -> None:
        async for _ in items:
            pass

    with anyio.move_on_after(0.2):
        await consume()
    assert await drain.streams_ended(1.0)
