"""A stream is subscribed when it is opened, before anything is read from it (issue 7: a
watch opened by a client could miss the change made right after its open was acknowledged)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from concord_server.backends.memory.discovery import MemoryRegistry
from concord_server.backends.memory.events import MemoryEventLog
from concord_server.backends.memory.locks import MemoryLockStore
from concord_server.clock import ManualClock, SystemClock
from concord_server.domain.discovery import DiscoveryService, Registration
from concord_server.domain.events import CAUGHT_UP, EventService
from concord_server.domain.locks import LockService
from concord_server.ports.events import Expectation, NewEvent
from concord_server.ports.locks import LockEventType
from concord_server.pubsub import Broadcaster
from concord_server.streams import OpenStream

TTL = timedelta(seconds=30)


async def test_a_lock_watch_sees_a_change_made_before_its_first_read() -> None:
    service = LockService(MemoryLockStore(), SystemClock())
    stream = await service.watch("job")
    await service.acquire("job-1", "alice", TTL)
    event = await asyncio.wait_for(anext(stream), 5)
    assert event.type is LockEventType.ACQUIRED
    await stream.aclose()


async def test_an_event_subscription_from_now_sees_the_next_append() -> None:
    service = EventService(MemoryEventLog(), ManualClock())
    stream = await service.subscribe_all(None)
    await service.append("s", [NewEvent(str(uuid.uuid4()), "T")], Expectation())
    assert await asyncio.wait_for(anext(stream), 5) is CAUGHT_UP
    item = await asyncio.wait_for(anext(stream), 5)
    assert getattr(item, "stream", None) == "s"
    await stream.aclose()
    await service.stop()


async def test_a_service_watch_sees_a_registration_made_before_its_first_read() -> None:
    discovery = DiscoveryService(MemoryRegistry(), ManualClock())
    stream = await discovery.watch("api")
    await discovery.register(Registration("api", "a", "h", 1))
    event = await asyncio.wait_for(anext(stream), 5)
    assert event.instance.instance_id == "a"
    await stream.aclose()


async def test_closing_an_unread_stream_releases_its_subscription() -> None:
    hub: Broadcaster[int] = Broadcaster()
    subscription = hub.subscribe(lambda _: True)

    async def items() -> object:
        async for item in subscription:
            yield item

    stream: OpenStream[Any] = OpenStream(items(), subscription.close)  # type: ignore[arg-type]
    assert hub.subscriber_count == 1
    await stream.aclose()
    assert hub.subscriber_count == 0
