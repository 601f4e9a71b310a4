"""In-memory saga store: one process, lost at exit; every operation is atomic (no awaits)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from concord_server.backends.connections import Connections
from concord_server.config import Settings
from concord_server.ports.sagas import SagaRecord, SagaState, SagaStore


class MemorySagaStore:
    """Saga records in a dict, with a counter for `seq` and compare-and-set on `version`."""

    backend = "memory"

    def __init__(self) -> None:
        self._sagas: dict[str, SagaRecord] = {}  # insertion order is `seq` order
        self._scheduled: set[str] = set()  # ids with a next_run_at
        self._ready: set[str] = set()  # ids with a task waiting for a worker
        self._seq = 0

    def _put(self, saga: SagaRecord) -> None:
        self._sagas[saga.saga_id] = saga
        for index, member in (
            (self._scheduled, saga.next_run_at),
            (self._ready, saga.ready_task_type),
        ):
            if member is None:
                index.discard(saga.saga_id)
            else:
                index.add(saga.saga_id)

    async def insert(self, saga: SagaRecord) -> SagaRecord | None:
        """Stores a new saga unless the id exists."""
        if saga.saga_id in self._sagas:
            return None
        self._seq += 1
        stored = replace(saga, version=1, seq=self._seq)
        self._put(stored)
        return stored

    async def get(self, saga_id: str) -> SagaRecord | None:
        """The saga with this id."""
        return self._sagas.get(saga_id)

    async def save(self, saga: SagaRecord) -> SagaRecord | None:
        """Compare-and-set on version."""
        current = self._sagas.get(saga.saga_id)
        if current is None or current.version != saga.version:
            return None
        stored = replace(saga, version=saga.version + 1, seq=current.seq)
        self._put(stored)
        return stored

    async def list_sagas(
        self, *, state: SagaState | None, limit: int, before_seq: int | None
    ) -> list[SagaRecord]:
        """Newest first."""
        page: list[SagaRecord] = []
        for saga in reversed(self._sagas.values()):
            if len(page) >= limit:
                break
            if before_seq is not None and saga.seq >= before_seq:
                continue
            if state is None or saga.state is state:
                page.append(saga)
        return page

    async def due(self, now: datetime, limit: int) -> list[SagaRecord]:
        """Due sagas whose claim is free or expired, earliest first."""
        rows = [
            s
            for s in (self._sagas[i] for i in self._scheduled)
            if s.next_run_at is not None
            and s.next_run_at <= now
            and (s.locked_until is None or s.locked_until <= now)
        ]
        rows.sort(key=lambda s: (s.next_run_at or now, s.seq))
        return rows[:limit]

    async def ready_tasks(self, task_types: Sequence[str], limit: int) -> list[SagaRecord]:
        """Sagas with a ready task of these types, the longest waiting first."""
        wanted = set(task_types)
        rows = [s for s in (self._sagas[i] for i in self._ready) if s.ready_task_type in wanted]
        rows.sort(key=lambda s: (s.updated_at, s.seq))
        return rows[:limit]

    async def check(self) -> None:
        """Always answers."""


async def open_saga_store(url: str, settings: Settings, connections: Connections) -> SagaStore:
    """A fresh in-memory store (each call its own; nothing is shared between instances)."""
    return MemorySagaStore()
