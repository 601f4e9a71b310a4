"""One suite for every event log backend: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from concord_server.backends import registry
from concord_server.backends.connections import Connections, url_option
from concord_server.clock import ManualClock
from concord_server.config import Settings
from concord_server.domain.events import CAUGHT_UP, EventService, SubscriptionItem
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.events import (
    NO_DATA,
    Direction,
    EventLog,
    Expectation,
    ExpectedState,
    LogChange,
    NewEvent,
    RecordedEvent,
)
from tests.conftest import backend_url

T0 = datetime(2030, 1, 1, tzinfo=UTC)
ANY = Expectation()
NO_STREAM = Expectation(ExpectedState.NO_STREAM)
EXISTS = Expectation(ExpectedState.STREAM_EXISTS)
FWD, BWD = Direction.FORWARD, Direction.BACKWARD


def at(revision: int) -> Expectation:
    return Expectation(revision=revision)


def ev(kind: str = "Happened", data: object = NO_DATA, **metadata: str) -> NewEvent:
    return NewEvent(str(uuid.uuid4()), kind, data, metadata)


@dataclass
class Backend:
    """A backend under test: its URL and a way to open more stores (as more processes would)."""

    kind: str
    url: str
    settings: Settings
    extra: list[Connections] = field(default_factory=list)
    others: list[EventLog] = field(default_factory=list)

    async def open(self, connections: Connections) -> EventLog:
        store: EventLog = await registry.open_backend(
            "events", self.url, self.settings, connections
        )
        return store

    async def open_other_process(self) -> EventLog:
        if self.kind == "memory":
            pytest.skip("memory:// stores never share data")
        conns = Connections()
        self.extra.append(conns)
        store = await self.open(conns)
        self.others.append(store)
        return store


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path, settings: Settings
) -> AsyncIterator[Backend]:
    url = backend_url(request.param, tmp_path)
    if request.param != "memory":
        url += ("&" if "?" in url else "?") + "poll_ms=50"
    item = Backend(request.param, url, settings)
    yield item
    for other in item.others:
        await other.close()  # a pool closes only once its listening connection is back
    for conns in item.extra:
        await conns.close()
    if request.param == "postgres":
        conns = Connections()
        pool = await conns.postgres(url)
        await pool.execute(f'DROP SCHEMA IF EXISTS "{url_option(url, "schema")}" CASCADE')
        await conns.close()


@pytest.fixture
async def store(backend: Backend, connections: Connections) -> AsyncIterator[EventLog]:
    opened = await backend.open(connections)
    yield opened
    await opened.close()


async def test_null_data_is_kept_apart_from_no_data(store: EventLog) -> None:
    events = [ev(data=None), ev(), ev(data={"n": 0}), ev(data=0), ev(data="")]
    await store.append("presence", events, NO_STREAM, T0)
    stored = await store.read_stream("presence", FWD, None, 10)
    assert stored is not None
    assert [e.data for e in stored] == [None, NO_DATA, {"n": 0}, 0, ""]


async def fails(code: ErrorCode, call: object) -> ConcordError:
    with pytest.raises(ConcordError) as info:
        await call  # type: ignore[misc]
    assert info.value.code is code, info.value
    return info.value


async def collect(source: AsyncIterator[SubscriptionItem], count: int) -> list[SubscriptionItem]:
    out: list[SubscriptionItem] = []
    async with asyncio.timeout(10):
        async for item in source:
            out.append(item)
            if len(out) == count:
                break
    return out


class TestEventLogContract:
    async def test_append_numbers_revisions_and_positions(self, store: EventLog) -> None:
        first = await store.append("orders-1", [ev(), ev()], NO_STREAM, T0)
        second = await store.append("orders-2", [ev()], ANY, T0)
        third = await store.append("orders-1", [ev()], at(1), T0)
        assert (first.revisions, first.next_expected_revision, first.position) == ((0, 1), 1, 2)
        assert (second.revisions, second.position) == ((0,), 3)
        assert (third.revisions, third.position) == ((2,), 4)
        assert await store.head_position() == 4

    async def test_expected_state_failures_report_actual_revision(self, store: EventLog) -> None:
        error = await fails(
            ErrorCode.WRONG_EXPECTED_REVISION, store.append("s", [ev()], EXISTS, T0)
        )
        assert error.details == {"actual_revision": -1, "expected": "STREAM_EXISTS"}
        error = await fails(ErrorCode.WRONG_EXPECTED_REVISION, store.append("s", [ev()], at(0), T0))
        assert error.details == {"actual_revision": -1, "expected": 0}
        await store.append("s", [ev(), ev()], NO_STREAM, T0)
        error = await fails(
            ErrorCode.WRONG_EXPECTED_REVISION, store.append("s", [ev()], NO_STREAM, T0)
        )
        assert error.details == {"actual_revision": 1, "expected": "NO_STREAM"}
        error = await fails(ErrorCode.WRONG_EXPECTED_REVISION, store.append("s", [ev()], at(0), T0))
        assert error.details == {"actual_revision": 1, "expected": 0}
        assert (await store.append("s", [ev()], EXISTS, T0)).revisions == (2,)
        assert await store.head_position() == 3

    async def test_retry_answers_the_original_result_and_stores_nothing(
        self, store: EventLog
    ) -> None:
        batch = [ev(), ev()]
        original = await store.append("s", batch, NO_STREAM, T0)
        await store.append("s", [ev()], ANY, T0)
        assert await store.append("s", batch, NO_STREAM, T0) == original
        assert await store.append("s", batch, ANY, T0) == original
        assert await store.head_position() == 3
        events = await store.read_stream("s", FWD, None, 10)
        assert events is not None and [e.revision for e in events] == [0, 1, 2]

    async def test_retry_with_exact_revision_must_match_the_original_check(
        self, store: EventLog
    ) -> None:
        await store.append("s", [ev()], ANY, T0)
        batch = [ev()]
        original = await store.append("s", batch, at(0), T0)
        assert await store.append("s", batch, at(0), T0) == original
        error = await fails(ErrorCode.WRONG_EXPECTED_REVISION, store.append("s", batch, at(1), T0))
        assert error.details == {"actual_revision": 1, "expected": 1}

    async def test_partial_or_foreign_reuse_of_ids_is_rejected(self, store: EventLog) -> None:
        a, b = ev(), ev()
        await store.append("s", [a, b], ANY, T0)
        for batch, stream in (([a, ev()], "s"), ([b, a], "s"), ([a, b], "other")):
            error = await fails(ErrorCode.INVALID_ARGUMENT, store.append(stream, batch, ANY, T0))
            assert error.details["reason"] == "event_id_reused"
        assert await store.head_position() == 2
        assert await store.stream_state("other") is None

    async def test_read_stream_pages_both_ways(self, store: EventLog) -> None:
        await store.append("s", [ev(data={"n": n}) for n in range(5)], ANY, T0)
        await store.append("t", [ev()], ANY, T0)
        forward = await store.read_stream("s", FWD, 1, 3)
        assert forward is not None and [e.revision for e in forward] == [1, 2, 3]
        assert [e.data for e in forward] == [{"n": 1}, {"n": 2}, {"n": 3}]
        backward = await store.read_stream("s", BWD, None, 2)
        assert backward is not None and [e.revision for e in backward] == [4, 3]
        backward = await store.read_stream("s", BWD, 1, 10)
        assert backward is not None and [e.revision for e in backward] == [1, 0]
        assert await store.read_stream("s", FWD, 9, 10) == []
        assert await store.read_stream("s", BWD, 99, 1) == (
            await store.read_stream("s", BWD, None, 1)
        )

    async def test_recorded_events_keep_payload_metadata_and_time(self, store: EventLog) -> None:
        data = {"name": "Zoë ✓", "items": [1, 2.5, None, True], "nested": {"a": {"b": []}}}
        await store.append("s", [ev("Typed.v1", data, trace="t-1"), ev("Empty")], ANY, T0)
        events = await store.read_all(FWD, None, 10)
        assert [e.type for e in events] == ["Typed.v1", "Empty"]
        assert events[0].data == data and events[1].data is NO_DATA
        assert dict(events[0].metadata) == {"trace": "t-1"} and dict(events[1].metadata) == {}
        assert events[0].recorded_at == T0 and events[0].stream == "s"

    async def test_missing_streams_read_as_none(self, store: EventLog) -> None:
        assert await store.read_stream("never", FWD, None, 10) is None
        await store.set_custom("meta-only", {"k": 1}, T0)
        assert await store.read_stream("meta-only", FWD, None, 10) is None

    async def test_read_all_directions_bounds_and_prefix(self, store: EventLog) -> None:
        for stream in ("orders-1", "users-1", "orders-2", "orders_3"):
            await store.append(stream, [ev()], ANY, T0)
        assert [e.position for e in await store.read_all(FWD, None, 10)] == [1, 2, 3, 4]
        assert [e.position for e in await store.read_all(FWD, 2, 2)] == [2, 3]
        assert [e.position for e in await store.read_all(FWD, 0, 10, "", 3)] == [1, 2, 3]
        assert [e.position for e in await store.read_all(BWD, None, 3)] == [4, 3, 2]
        assert [e.position for e in await store.read_all(BWD, 2, 10)] == [2, 1]
        assert [e.position for e in await store.read_all(BWD, 0, 10)] == []
        orders = await store.read_all(FWD, None, 10, "orders-")
        assert [e.stream for e in orders] == ["orders-1", "orders-2"]
        assert [e.stream for e in await store.read_all(BWD, None, 1, "orders")] == ["orders_3"]

    async def test_soft_delete_hides_stream_but_keeps_global_log(self, store: EventLog) -> None:
        await store.append("s", [ev(), ev(), ev()], ANY, T0)
        await store.set_custom("s", {"owner": "ann"}, T0)
        await fails(ErrorCode.WRONG_EXPECTED_REVISION, store.delete("s", 1))
        state = await store.delete("s", 2)
        assert (state.deleted, state.current_revision, dict(state.custom)) == (
            True,
            2,
            {"owner": "ann"},
        )
        assert await store.delete("s", None) == state  # idempotent
        assert await store.read_stream("s", FWD, None, 10) is None
        assert len(await store.read_all(FWD, None, 10)) == 3
        await fails(ErrorCode.WRONG_EXPECTED_REVISION, store.append("s", [ev()], EXISTS, T0))
        await fails(ErrorCode.WRONG_EXPECTED_REVISION, store.append("s", [ev()], at(2), T0))
        await fails(ErrorCode.NOT_FOUND, store.delete("never", None))

    async def test_append_after_delete_recreates_and_continues_revisions(
        self, store: EventLog
    ) -> None:
        await store.append("s", [ev(), ev()], ANY, T0)
        await store.delete("s", None)
        later = T0 + timedelta(hours=1)
        result = await store.append("s", [ev()], NO_STREAM, later)
        assert result.revisions == (2,)
        events = await store.read_stream("s", FWD, 0, 10)
        assert events is not None and [e.revision for e in events] == [2]
        backward = await store.read_stream("s", BWD, None, 10)
        assert backward is not None and [e.revision for e in backward] == [2]
        state = await store.stream_state("s")
        assert state is not None and not state.deleted and state.created_at == later
        assert (await store.append("s", [ev()], at(2), T0)).revisions == (3,)

    async def test_stream_metadata(self, store: EventLog) -> None:
        assert await store.stream_state("s") is None
        state = await store.set_custom("s", {"a": {"b": [1, "x"]}}, T0)
        assert (state.current_revision, state.deleted, state.created_at) == (-1, False, None)
        assert dict(state.custom) == {"a": {"b": [1, "x"]}}
        await store.append("s", [ev()], NO_STREAM, T0)
        state = await store.set_custom("s", {"c": True}, T0)
        assert dict(state.custom) == {"c": True} and state.current_revision == 0
        assert state.created_at == T0
        assert await store.stream_state("s") == state

    async def test_competing_exact_appends_let_exactly_one_win(self, store: EventLog) -> None:
        await store.append("s", [ev()], ANY, T0)
        outcomes = await asyncio.gather(
            *(store.append("s", [ev()], at(0), T0) for _ in range(10)), return_exceptions=True
        )
        winners = [o for o in outcomes if not isinstance(o, BaseException)]
        losers = [o for o in outcomes if isinstance(o, ConcordError)]
        assert len(winners) == 1 and len(losers) == 9
        assert all(e.code is ErrorCode.WRONG_EXPECTED_REVISION for e in losers)

    async def test_concurrent_any_appends_get_contiguous_revisions(self, store: EventLog) -> None:
        results = await asyncio.gather(
            *(store.append("s", [ev(), ev()], ANY, T0) for _ in range(20))
        )
        revisions = sorted(r for result in results for r in result.revisions)
        assert revisions == list(range(40))
        assert sorted(r.position for r in results) == list(range(2, 41, 2))

    async def test_two_instances_keep_one_gap_free_global_order(
        self, backend: Backend, store: EventLog
    ) -> None:
        other = await backend.open_other_process()
        service = EventService(other, ManualClock())
        watcher = service.subscribe_all(from_position=1)
        seen = asyncio.ensure_future(collect(watcher, 101))
        try:
            appends = [
                instance.append(f"{name}-{n}", [ev()], NO_STREAM, T0)
                for n in range(50)
                for instance, name in ((store, "a"), (other, "b"))
            ]
            results = await asyncio.gather(*appends)
            assert sorted(r.position for r in results) == list(range(1, 101))
            events = await store.read_all(FWD, None, 1000)
            assert [e.position for e in events] == list(range(1, 101))
            assert len({e.event_id for e in events}) == 100
            delivered = [i for i in await seen if isinstance(i, RecordedEvent)]
            assert [e.position for e in delivered] == list(range(1, 101))
        finally:
            seen.cancel()
            await watcher.aclose()
            await service.stop()

    async def test_concurrent_retries_from_two_instances_store_once(
        self, backend: Backend, store: EventLog
    ) -> None:
        other = await backend.open_other_process()
        batch = [ev(), ev(), ev()]
        first, second = await asyncio.gather(
            store.append("s", batch, NO_STREAM, T0), other.append("s", batch, NO_STREAM, T0)
        )
        assert first == second and first.revisions == (0, 1, 2)
        assert await other.head_position() == 3

    async def test_live_subscription_sees_other_instance_appends(
        self, backend: Backend, store: EventLog
    ) -> None:
        other = await backend.open_other_process()
        service = EventService(store, ManualClock())
        await other.append("s", [ev()], ANY, T0)
        live = service.subscribe_stream("s", None)
        try:
            assert await collect(live, 1) == [CAUGHT_UP]
            await other.append("s", [ev("Second")], ANY, T0)
            await other.append("unrelated", [ev()], ANY, T0)
            await other.append("s", [ev("Third")], ANY, T0)
            items = await collect(live, 2)
            assert [(e.type, e.revision) for e in items if isinstance(e, RecordedEvent)] == [
                ("Second", 1),
                ("Third", 2),
            ]
        finally:
            await live.aclose()
            await service.stop()

    async def test_changes_announce_commits(self, store: EventLog) -> None:
        await store.listen()
        async with store.changes.subscribe() as hints:
            await store.append("s", [ev(), ev()], ANY, T0)
            async with asyncio.timeout(5):
                change = await hints.get()
            assert (change.position, change.stream) == (2, "s")

    async def test_engine_notifications_reach_other_instances(
        self, backend: Backend, store: EventLog
    ) -> None:
        if backend.kind != "postgres":
            pytest.skip("only PostgreSQL announces other processes' commits (LISTEN/NOTIFY)")
        other = await backend.open_other_process()
        await other.listen()
        async with other.changes.subscribe() as hints:
            await store.append("s", [ev()], ANY, T0)
            async with asyncio.timeout(5):
                assert await hints.get() == LogChange(1, "s")
            pool = await backend.extra[0].postgres(backend.url)
            killed = await pool.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()"
                " AND query LIKE $1",
                f"%{url_option(backend.url, 'schema')}%",
            )
            assert killed == 1
            await asyncio.sleep(0.1)
            await other.listen()  # the poller calls this every interval
            await store.append("s", [ev()], ANY, T0)
            async with asyncio.timeout(5):
                assert await hints.get() == LogChange(2, "s")
