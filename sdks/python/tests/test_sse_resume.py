"""SSE streams resume over a broken connection with Last-Event-ID (docs/sdk-helpers.md §3),
against a local server that cuts the chunked body mid-stream (sync and async)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterable, Iterable

import pytest

from concord import APIConnectionError, PermissionDeniedError, UnavailableError
from concord._core.sse import SSEDecoder
from concord.models import SubscribeToAllResponse, SubscribeToStreamResponse
from tests.sse_server import CAUGHT_UP, Answer, error_frame, event, serve

Message = SubscribeToStreamResponse | SubscribeToAllResponse


def label(message: Message) -> str:
    """A message as the revision of its event, or "caught_up"."""
    return "caught_up" if message.event is None else str(message.event.revision)


def read(stream: Iterable[Message], seen: list[str]) -> None:
    """Reads a stream to its end into `seen` (so messages before an error are kept)."""
    for message in stream:
        seen.append(label(message))


async def aread(stream: AsyncIterable[Message], seen: list[str]) -> None:
    """`read` for an async stream."""
    async for message in stream:
        seen.append(label(message))


def cut(*frames: str) -> Answer:
    """An answer that sends `frames` and then drops the connection."""
    return Answer(frames, cut=True)


UNAVAILABLE = Answer(status=503, code="UNAVAILABLE")


def test_subscribe_resumes_after_a_cut_with_last_event_id() -> None:
    sleeps: list[float] = []
    with serve(cut(event(0), event(1)), Answer((event(2), event(3), CAUGHT_UP))) as server:
        seen: list[str] = []
        read(server.client(sleeps).events.subscribe("orders", from_revision=0), seen)
    assert seen == ["0", "1", "2", "3", "caught_up"]
    assert server.last_ids() == [None, "1"]
    first, second = server.requests
    assert second["path"] == first["path"] and second["x-api-key"] == "test-key"
    assert len(sleeps) == 1 and 0.375 <= sleeps[0] <= 0.5  # the backoff of a first retry


def test_async_subscribe_resumes_after_a_cut() -> None:
    async def run() -> list[str]:
        seen: list[str] = []
        async with server.async_client(sleeps) as client:
            await aread(await client.events.subscribe_all(from_position=0), seen)
        return seen

    sleeps: list[float] = []
    with serve(cut(event(0)), Answer((event(1), CAUGHT_UP))) as server:
        assert asyncio.run(run()) == ["0", "1", "caught_up"]
    assert server.last_ids() == [None, "0"] and len(sleeps) == 1


DRAINED = error_frame("UNAVAILABLE", "shutting_down")


def test_a_draining_servers_unavailable_resumes_like_a_break() -> None:
    sleeps: list[float] = []
    answers = (Answer((event(0), event(1), DRAINED)), Answer((event(2), CAUGHT_UP)))
    with serve(*answers) as server:
        seen: list[str] = []
        read(server.client(sleeps).events.subscribe("orders", from_revision=0), seen)
    assert seen == ["0", "1", "2", "caught_up"]
    assert server.last_ids() == [None, "1"] and len(sleeps) == 1


def test_async_a_draining_servers_unavailable_resumes_like_a_break() -> None:
    async def run() -> list[str]:
        seen: list[str] = []
        async with server.async_client([]) as client:
            await aread(await client.events.subscribe_all(from_position=0), seen)
        return seen

    with serve(Answer((event(0), DRAINED)), Answer((event(1), CAUGHT_UP))) as server:
        assert asyncio.run(run()) == ["0", "1", "caught_up"]
    assert server.last_ids() == [None, "0"]


@pytest.mark.parametrize(
    ("frames", "max_retries"),
    [
        ((DRAINED,), 3),  # no id seen yet: nothing to resume from
        ((event(0), DRAINED), 0),  # reopening is off
    ],
)
def test_an_unavailable_that_cannot_resume_raises_it(
    frames: tuple[str, ...], max_retries: int
) -> None:
    with serve(Answer(frames), Answer((event(1),))) as server:
        seen: list[str] = []
        with pytest.raises(UnavailableError) as raised:
            read(server.client([]).events.subscribe("orders", max_retries=max_retries), seen)
    assert raised.value.details == {"reason": "shutting_down"}
    assert len(server.requests) == 1


def test_an_in_band_error_other_than_unavailable_is_raised() -> None:
    denied = error_frame("PERMISSION_DENIED")
    with serve(Answer((event(0), denied)), Answer((event(1),))) as server:
        seen: list[str] = []
        with pytest.raises(PermissionDeniedError):
            read(server.client([]).events.subscribe("orders"), seen)
    assert seen == ["0"] and len(server.requests) == 1


def test_an_id_only_frame_is_no_message_but_its_id_resumes() -> None:
    with serve(cut("id: 5\n\n"), Answer((event(6),))) as server:
        seen: list[str] = []
        read(server.client([]).events.subscribe("orders"), seen)
    assert seen == ["6"]
    assert server.last_ids() == [None, "5"]


def test_failed_reopens_are_retried_with_backoff_and_retry_after() -> None:
    slow = Answer(status=503, code="UNAVAILABLE", headers={"Retry-After": "0.3"})
    answers = (cut(event(0)), slow, UNAVAILABLE, Answer((event(1),)))
    sleeps: list[float] = []
    with serve(*answers) as server:
        seen: list[str] = []
        read(server.client(sleeps).events.subscribe("orders", max_retries=3), seen)
    assert seen == ["0", "1"]
    assert server.last_ids() == [None, "0", "0", "0"]
    assert len(sleeps) == 3 and sleeps[1] == 0.3 and 1.5 <= sleeps[2] <= 2.0


def test_retries_exhausted_raise_the_connection_error() -> None:
    sleeps: list[float] = []
    with serve(cut(event(0)), UNAVAILABLE) as server:
        seen: list[str] = []
        with pytest.raises(APIConnectionError):
            read(server.client(sleeps, max_retries=2).events.subscribe("orders"), seen)
    assert seen == ["0"] and len(server.requests) == 3 and len(sleeps) == 2


def test_a_message_starts_the_count_of_failures_again() -> None:
    answers = (cut(event(0)), cut(event(1)), cut(event(2)), Answer((event(3),)))
    with serve(*answers) as server:
        seen: list[str] = []
        read(server.client([], max_retries=1).events.subscribe("orders"), seen)
    assert seen == ["0", "1", "2", "3"] and len(server.requests) == 4


def test_max_retries_zero_does_not_reconnect() -> None:
    sleeps: list[float] = []
    with serve(cut(event(0)), Answer((event(1),))) as server:
        seen: list[str] = []
        with pytest.raises(APIConnectionError, match="stream broken"):
            read(
                server.client(sleeps, max_retries=3).events.subscribe("orders", max_retries=0), seen
            )
    assert seen == ["0"] and len(server.requests) == 1 and sleeps == []


def test_the_calls_max_retries_wins_over_the_clients() -> None:
    with serve(cut(event(0)), Answer((event(1),))) as server:
        seen: list[str] = []
        read(server.client([], max_retries=0).events.subscribe("orders", max_retries=1), seen)
    assert seen == ["0", "1"] and len(server.requests) == 2


def test_a_refused_reopen_raises_its_typed_error() -> None:
    denied = Answer(status=403, code="PERMISSION_DENIED")
    with serve(cut(event(0)), denied) as server:
        seen: list[str] = []
        with pytest.raises(PermissionDeniedError):
            read(server.client([], max_retries=3).events.subscribe("orders"), seen)
    assert seen == ["0"] and len(server.requests) == 2


def test_a_watch_without_ids_does_not_reconnect() -> None:
    sleeps: list[float] = []
    with serve(cut('data: {"type":"ACQUIRED"}\n\n')) as server:
        seen = []
        with pytest.raises(APIConnectionError):
            for message in server.client(sleeps).locks.watch():
                seen.append(message)
    assert len(seen) == 1 and len(server.requests) == 1 and sleeps == []


def test_close_during_the_backoff_ends_the_stream_cleanly() -> None:
    with serve(cut(event(0)), Answer((event(1),))) as server:
        stream = server.client().events.subscribe("orders")
        iterator = iter(stream)
        assert label(next(iterator)) == "0"
        threading.Timer(0.1, stream.close).start()
        start = time.monotonic()
        assert list(iterator) == []  # the first backoff is at least 0.375 s
        assert time.monotonic() - start < 0.35
    assert len(server.requests) == 1


def test_close_from_another_thread_wakes_a_reader_blocked_on_a_quiet_stream() -> None:
    # The server sends nothing more, not even a keep-alive: only close() can end the read.
    with serve(Answer((event(0),), quiet=True)) as server:
        stream = server.client().events.subscribe("orders")
        seen: list[str] = []
        reader = threading.Thread(target=lambda: seen.extend(label(m) for m in stream))
        reader.start()
        while not seen:
            time.sleep(0.01)
        stream.close()
        reader.join(timeout=60)  # a hang guard, far above any real close
        assert not reader.is_alive()
    assert seen == ["0"] and len(server.requests) == 1


def test_async_close_during_the_backoff_ends_the_stream_cleanly() -> None:
    async def run() -> list[str]:
        seen: list[str] = []
        async with server.async_client() as client:
            stream = await client.events.subscribe("orders")
            asyncio.get_running_loop().call_later(
                0.1, lambda: asyncio.ensure_future(stream.aclose())
            )
            start = time.monotonic()
            await aread(stream, seen)
            assert time.monotonic() - start < 0.35
        return seen

    with serve(cut(event(0)), Answer((event(1),))) as server:
        assert asyncio.run(run()) == ["0"]
    assert len(server.requests) == 1


def test_cancelling_the_task_during_the_backoff_sends_nothing_more() -> None:
    async def run() -> list[str]:
        seen: list[str] = []
        async with server.async_client() as client:
            stream = await client.events.subscribe("orders")
            task = asyncio.ensure_future(aread(stream, seen))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.6)  # past the backoff: no reopening follows
        return seen

    with serve(cut(event(0)), Answer((event(1),))) as server:
        assert asyncio.run(run()) == ["0"]
    assert len(server.requests) == 1


def test_decoder_keeps_the_id_of_the_last_finished_frame() -> None:
    decoder = SSEDecoder()
    lines = ["id: 3", "", 'data: {"caught_up":true}', "", "id: 9", "data: {}"]
    events = [decoder.feed(line) for line in lines]
    assert [e is not None for e in events] == [False, False, False, True, False, False]
    assert decoder.last_id == "3"  # the id-only frame set it; the unfinished frame does not
    decoder.restart()
    assert decoder.feed("data: {}") is None and decoder.feed("") is not None
    assert decoder.last_id == "3"
