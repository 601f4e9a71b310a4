"""Live WebSocket subscriptions (skipped unless CONCORD_TEST_BASE_URL is set)."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest

from concord import (
    AsyncConcord,
    Concord,
    EventData,
    InstanceEventType,
    SubscribeToStreamResponse,
    UnauthenticatedError,
)


def event(kind: str, n: int) -> EventData:
    """A new event of type `kind`."""
    return EventData(event_id=str(uuid.uuid4()), type=kind, data={"n": n})


def test_subscribe_over_websocket_catch_up_then_live(live: Concord, unique: str) -> None:
    stream = f"{unique}-ws"
    live.events.append(stream, [event("created", 0), event("paid", 1)])
    seen: list[SubscribeToStreamResponse] = []
    with live.events.subscribe(stream, from_revision=0, transport="websocket") as subscription:
        for message in subscription:
            seen.append(message)
            if message.caught_up:  # stored events delivered: append a live one
                threading.Thread(
                    target=live.events.append, args=(stream, [event("shipped", 2)])
                ).start()
            if message.event is not None and message.event.type == "shipped":
                break
    kinds = ["caught_up" if m.caught_up else m.event.type if m.event else "?" for m in seen]
    assert kinds == ["created", "paid", "caught_up", "shipped"]
    assert [m.event.revision for m in seen if m.event] == [0, 1, 2]


def test_async_discovery_watch_over_websocket(live_url: str, live_key: str, unique: str) -> None:
    service = f"{unique}-svc"

    async def run() -> list[tuple[str, str]]:
        async with AsyncConcord(
            stream_transport="websocket", base_url=live_url, api_key=live_key
        ) as client:
            await client.discovery.register(service, "i1", "10.0.0.1", 8080)
            seen: list[tuple[str, str]] = []
            async with await client.discovery.watch(service) as changes:
                async for change in changes:
                    assert change.instance is not None
                    seen.append((str(change.type), change.instance.instance_id))
                    if len(seen) == 1:  # the current instance; now a live change
                        await client.discovery.register(service, "i2", "10.0.0.2", 8080)
                    else:
                        break
            return seen

    seen = asyncio.run(asyncio.wait_for(run(), 15))
    registered = str(InstanceEventType.REGISTERED)
    assert seen == [(registered, "i1"), (registered, "i2")]


def test_websocket_errors_are_typed(live_url: str) -> None:
    client = Concord(stream_transport="websocket", base_url=live_url, api_key="not-a-key")
    with client, pytest.raises(UnauthenticatedError) as caught:
        list(client.locks.watch())
    assert caught.value.status == 401
    assert caught.value.request_id
