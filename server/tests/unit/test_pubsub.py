"""In-process fan-out: every subscriber gets what matches; slow ones are cut off, not waited for."""

from __future__ import annotations

import asyncio

import pytest

from concord_server.errors import ConcordError, ErrorCode
from concord_server.pubsub import Broadcaster, SlowConsumerError, Subscription


async def drain(sub: Subscription[int]) -> list[int]:
    return [item async for item in sub]


async def test_fan_out_to_every_subscriber_in_order() -> None:
    hub: Broadcaster[int] = Broadcaster()
    first, second = hub.subscribe(), hub.subscribe()
    assert hub.subscriber_count == 2
    for i in range(5):
        hub.publish(i)
    first.close()
    second.close()
    assert await drain(first) == [0, 1, 2, 3, 4]
    assert await drain(second) == [0, 1, 2, 3, 4]
    assert hub.subscriber_count == 0


async def test_match_filters_per_subscriber() -> None:
    hub: Broadcaster[int] = Broadcaster()
    evens = hub.subscribe(lambda n: n % 2 == 0)
    everything = hub.subscribe()
    for i in range(6):
        hub.publish(i)
    evens.close()
    everything.close()
    assert await drain(evens) == [0, 2, 4]
    assert await drain(everything) == list(range(6))


async def test_a_waiting_reader_wakes_on_publish() -> None:
    hub: Broadcaster[str] = Broadcaster()
    sub = hub.subscribe()
    reader = asyncio.create_task(sub.get())
    await asyncio.sleep(0.01)
    assert not reader.done()
    hub.publish("hello")
    assert await asyncio.wait_for(reader, 1) == "hello"


async def test_publish_never_blocks_and_a_slow_consumer_is_disconnected() -> None:
    hub: Broadcaster[int] = Broadcaster(default_limit=3)
    slow = hub.subscribe()
    fast = hub.subscribe(limit=100)
    for i in range(10):
        hub.publish(i)  # synchronous: it cannot wait for anyone
    assert hub.subscriber_count == 1  # the slow one was dropped at the 4th item
    fast.close()
    assert await drain(fast) == list(range(10))
    received = [await slow.get() for _ in range(3)]
    assert received == [0, 1, 2]
    with pytest.raises(SlowConsumerError) as info:
        await slow.get()
    err = info.value
    assert isinstance(err, ConcordError)
    assert err.code is ErrorCode.UNAVAILABLE
    assert err.details == {"reason": "slow_consumer", "queue_limit": 3}


async def test_slow_consumer_error_ends_async_iteration() -> None:
    hub: Broadcaster[int] = Broadcaster()
    sub = hub.subscribe(limit=1)
    hub.publish(1)
    hub.publish(2)
    got: list[int] = []
    with pytest.raises(SlowConsumerError):
        async for item in sub:
            got.append(item)
    assert got == [1]


async def test_the_queue_never_holds_more_than_the_limit() -> None:
    hub: Broadcaster[int] = Broadcaster()
    sub = hub.subscribe(limit=5)
    for i in range(1000):
        hub.publish(i)
        assert sub._queue.qsize() <= 5 + 1  # items plus the end marker
    assert hub.subscriber_count == 0


async def test_close_ends_iteration_and_wakes_a_waiting_reader() -> None:
    hub: Broadcaster[int] = Broadcaster()
    sub = hub.subscribe()
    consumer = asyncio.create_task(drain(sub))
    await asyncio.sleep(0.01)
    hub.publish(7)
    await asyncio.sleep(0.01)
    sub.close()
    assert await asyncio.wait_for(consumer, 1) == [7]
    hub.publish(8)  # after close: not delivered, no error
    assert hub.subscriber_count == 0


async def test_reading_a_closed_subscription_again_does_not_hang() -> None:
    hub: Broadcaster[int] = Broadcaster()
    sub = hub.subscribe()
    sub.close()
    assert await drain(sub) == []
    assert await asyncio.wait_for(drain(sub), 1) == []
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(sub.get(), 1)


async def test_context_manager_closes() -> None:
    hub: Broadcaster[int] = Broadcaster()
    async with hub.subscribe() as sub:
        assert hub.subscriber_count == 1
        hub.publish(1)
        assert await sub.get() == 1
    assert hub.subscriber_count == 0
    sub.close()  # closing twice is harmless


async def test_close_after_overflow_keeps_the_slow_consumer_error() -> None:
    hub: Broadcaster[int] = Broadcaster()
    sub = hub.subscribe(limit=1)
    hub.publish(1)
    hub.publish(2)
    sub.close()
    assert await sub.get() == 1
    with pytest.raises(SlowConsumerError):
        await sub.get()
