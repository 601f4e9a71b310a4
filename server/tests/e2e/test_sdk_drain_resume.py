"""A restart under an SDK subscription (docs/sdk-helpers.md §3): the draining server ends the
stream with UNAVAILABLE (`shutting_down`), and the Python SDK reopens it from its last id on the
server that took over, so the caller's loop sees every event once and no error."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from concord import Concord, UnavailableError
from concord.models import EventData, SubscribeToStreamResponse

from tests.e2e.live import ADMIN_KEY, LiveServer

pytestmark = pytest.mark.slow


def _events(*kinds: str) -> list[EventData]:
    """New events of the given types."""
    return [EventData(event_id=str(uuid.uuid4()), type=kind) for kind in kinds]


def _label(message: SubscribeToStreamResponse) -> str:
    """An event as its revision and type, or "caught_up"."""
    if message.event is None:
        return "caught_up"
    return f"{message.event.revision}:{message.event.type}"


def _take(messages: Iterator[SubscribeToStreamResponse], count: int) -> list[str]:
    """The next `count` messages of a subscription."""
    return [_label(next(messages)) for _ in range(count)]


def _successor(first: LiveServer) -> LiveServer:
    """A server on the same ports and data as `first` (which has stopped)."""
    return LiveServer(first.data_dir, http_port=first.http_port, grpc_port=first.grpc_port)


def test_a_subscription_resumes_on_the_server_that_replaced_a_drained_one(
    tmp_path: Path,
) -> None:
    first = LiveServer(tmp_path / "data").start()
    second: LiveServer | None = None
    try:
        with Concord(base_url=first.base_url, api_key=ADMIN_KEY, max_retries=5) as client:
            client.events.append("orders", _events("Placed", "Paid"))
            with client.events.subscribe("orders", from_revision=0) as stream:
                messages = iter(stream)
                assert _take(messages, 3) == ["0:Placed", "1:Paid", "caught_up"]
                first.stop()  # SIGTERM: the drain ends the stream with its UNAVAILABLE
                second = _successor(first).start()
                client.events.append("orders", _events("Shipped"))
                assert _take(messages, 2) == ["2:Shipped", "caught_up"]
    finally:
        for server in (first, second):
            if server is not None:
                server.stop()


def test_without_reopening_the_drain_raises_its_unavailable(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "data").start()
    try:
        with Concord(base_url=server.base_url, api_key=ADMIN_KEY) as client:
            client.events.append("orders", _events("Placed"))
            with client.events.subscribe("orders", from_revision=0, max_retries=0) as stream:
                messages = iter(stream)
                assert _take(messages, 2) == ["0:Placed", "caught_up"]
                server.stop()
                with pytest.raises(UnavailableError) as raised:
                    next(messages)
        assert raised.value.details.get("reason") == "shutting_down"
    finally:
        server.stop()
