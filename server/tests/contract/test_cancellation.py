"""Calls cancelled at random points leave every store serving (issue 7: a cancelled call once
wedged the SQLite lock store with "cannot start a transaction within a transaction").

Each test cancels hundreds of concurrent calls after a random delay, so cancellation lands
before, inside and after the engine's transaction, then checks that the store still answers
and that its invariants held (fencing order, gap-free positions, compare-and-set).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from concord_server.backends.connections import Connections
from concord_server.backends.registry import open_backend
from concord_server.config import Settings
from concord_server.ports.events import Direction, Expectation, NewEvent
from concord_server.ports.locks import LockRecord
from concord_server.ports.rbac import RoleRecord
from tests.conftest import backend_url

ROUNDS = 6
CALLS = 80
MAX_DELAY = 0.02  # seconds: long enough to reach the engine, short enough to cut it off
TTL = timedelta(seconds=30)

Call = Callable[[int], Awaitable[Any]]


async def storm(call: Call) -> int:
    """Runs CALLS concurrent calls per round, each cancelled after a random delay."""
    finished = 0
    for round_number in range(ROUNDS):

        async def one(i: int, base: int = round_number * CALLS) -> bool:
            try:
                await asyncio.wait_for(call(base + i), random.uniform(0, MAX_DELAY))
            except TimeoutError:
                return False
            return True

        finished += sum(await asyncio.gather(*(one(i) for i in range(CALLS))))
    return finished


@pytest.fixture
async def opener(tmp_path: Path, settings: Settings) -> AsyncIterator[Callable[..., Any]]:
    """Opens a capability's store on a backend kind; closed after the test."""
    connections = Connections()

    async def open_store(capability: str, kind: str) -> Any:
        return await open_backend(capability, backend_url(kind, tmp_path), settings, connections)

    yield open_store
    await connections.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis", "postgres"])
async def test_lock_store_serves_after_cancelled_calls(kind: str, opener: Any) -> None:
    store = await opener("locks", kind)
    names = [f"c{i}" for i in range(5)]

    async def cycle(i: int) -> None:
        outcome = await store.try_acquire(names[i % 5], f"o{i}", TTL)
        if isinstance(outcome, LockRecord):
            await store.release(outcome.name, outcome.owner, outcome.fencing_token)

    await storm(cycle)
    await store.check()
    await store.sweep_expired()
    first = await store.try_acquire("after", "alice", TTL)
    assert isinstance(first, LockRecord)
    assert isinstance(await store.release("after", "alice", first.fencing_token), LockRecord)
    second = await store.try_acquire("after", "bob", TTL)
    assert isinstance(second, LockRecord) and second.fencing_token > first.fencing_token
    for name in names:  # every contended name is still grantable once its holder is gone
        held = await store.get(name)
        if held is not None:
            await store.release(name, held.owner, held.fencing_token)
        assert isinstance(await store.try_acquire(name, "carol", TTL), LockRecord)


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
async def test_event_log_serves_after_cancelled_appends(kind: str, opener: Any) -> None:
    log = await opener("events", kind)
    now = datetime.now(UTC)

    async def append(i: int) -> None:
        event = NewEvent(str(uuid.uuid4()), "Cancelled", {"i": i}, {})
        await log.append(f"s{i % 4}", [event], Expectation(), now)

    await storm(append)
    await log.check()
    last = NewEvent(str(uuid.uuid4()), "After", None, {})
    result = await log.append("after", [last], Expectation(), now)
    events = await log.read_all(Direction.FORWARD, 1, 10_000)
    positions = [e.position for e in events]
    assert positions == list(range(1, result.position + 1)), "positions must stay gap-free"


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
async def test_policy_store_serves_after_cancelled_writes(kind: str, opener: Any) -> None:
    store = await opener("rbac", kind)
    now = datetime.now(UTC)

    async def create(i: int) -> None:
        await store.create_role(RoleRecord(f"r{i}", "cancelled", (), now, now))

    await storm(create)
    await store.ping()
    assert await store.create_role(RoleRecord("after", "", (), now, now))
    role = await store.get_role("after")
    assert role is not None and role.name == "after"
