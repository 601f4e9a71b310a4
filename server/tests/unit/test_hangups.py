"""A unary HTTP call is cancelled when its client hangs up; quick calls are never watched."""

from __future__ import annotations

import asyncio
from typing import Any

from concord_server.api.rest import hangups
from concord_server.api.rest.hangups import WATCH_AFTER_SECONDS, unless_disconnected


class Client:
    """An ASGI `receive` that reports the hang-up once told, and counts its readers."""

    def __init__(self) -> None:
        self.gone = asyncio.Event()
        self.reads = 0

    async def receive(self) -> dict[str, Any]:
        self.reads += 1
        await self.gone.wait()
        return {"type": "http.disconnect"}


async def _answer(value: str, seconds: float = 0.0) -> str:
    await asyncio.sleep(seconds)
    return value


async def test_a_quick_call_answers_and_is_never_watched() -> None:
    client = Client()
    assert await unless_disconnected(client.receive, _answer("ok")) == "ok"
    await asyncio.sleep(WATCH_AFTER_SECONDS * 2)
    assert client.reads == 0


async def test_a_long_call_is_watched_and_answers_when_the_client_stays() -> None:
    client = Client()
    answer = await unless_disconnected(client.receive, _answer("late", WATCH_AFTER_SECONDS * 3))
    assert answer == "late"
    assert client.reads == 1


async def test_a_hang_up_cancels_the_call_and_runs_its_clean_up() -> None:
    client, cleaned = Client(), asyncio.Event()

    async def waits_forever() -> str:
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.set()
        return "never"

    call = asyncio.ensure_future(unless_disconnected(client.receive, waits_forever()))
    await asyncio.sleep(WATCH_AFTER_SECONDS * 2)
    client.gone.set()
    assert await asyncio.wait_for(call, 5) is None
    assert cleaned.is_set()


async def test_a_cancelled_call_stays_cancelled_when_the_client_is_still_there() -> None:
    client = Client()
    call = asyncio.ensure_future(unless_disconnected(client.receive, _answer("x", 10)))
    await asyncio.sleep(WATCH_AFTER_SECONDS * 2)
    call.cancel()
    try:
        await call
    except asyncio.CancelledError:
        pass
    else:
        raise AssertionError("the caller's own cancellation must propagate")


async def test_calls_of_different_ages_are_each_watched_once_due() -> None:
    clients = [Client() for _ in range(3)]
    durations = [0.0, WATCH_AFTER_SECONDS * 3, WATCH_AFTER_SECONDS * 5]
    calls = []
    for client, seconds in zip(clients, durations, strict=True):
        calls.append(
            asyncio.ensure_future(unless_disconnected(client.receive, _answer("a", seconds)))
        )
        await asyncio.sleep(WATCH_AFTER_SECONDS / 2)
    assert await asyncio.gather(*calls) == ["a", "a", "a"]
    assert [c.reads for c in clients] == [0, 1, 1]


def test_each_event_loop_has_a_watchdog_of_its_own() -> None:
    async def calls() -> object:
        assert await unless_disconnected(Client().receive, _answer("ok")) == "ok"
        return hangups._watchdog

    first, second = asyncio.run(calls()), asyncio.run(calls())
    assert first is not None and second is not None and first is not second
