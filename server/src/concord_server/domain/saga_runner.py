"""The saga runner: claims due sagas from the store and drives them, one saved transition at a
time, so that any server instance can resume what another one left unfinished."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from concord_server.clock import Clock
from concord_server.domain import saga_machine as machine
from concord_server.domain.sagas import SagaSignals, wait_event
from concord_server.errors import ConcordError
from concord_server.ports.sagas import TERMINAL_STATES, SagaRecord, SagaStore, StepCaller
from concord_server.telemetry.metrics import count_saga_change
from concord_server.telemetry.saga_trace import step_span

log = logging.getLogger(__name__)
_OUTCOME_ROUNDS = 50


class SagaRunner:
    """A background loop: claim due sagas (`next_run_at <= now`, claim free or expired), drive
    each through its instant transitions and HTTP calls, release the claim when it must wait."""

    name = "sagas"

    def __init__(
        self,
        store: SagaStore,
        clock: Clock,
        caller: StepCaller,
        signals: SagaSignals,
        *,
        instance_id: str = "",
        poll_interval: float = 0.5,
        claim_ttl: float = 30.0,
        claim_margin: float = 5.0,
        concurrency: int = 32,
        stop_grace: float = 2.0,
        rng: random.Random | None = None,
    ) -> None:
        self.backend = store.backend
        self.instance_id = instance_id or f"runner-{uuid.uuid4().hex[:12]}"
        self._store = store
        self._clock = clock
        self._caller = caller
        self._signals = signals
        self._poll_interval = poll_interval
        self._claim_ttl = timedelta(seconds=claim_ttl)
        self._claim_margin = claim_margin
        self._concurrency = concurrency
        self._stop_grace = stop_grace
        self._rng = rng or random.Random()
        self._loop_task: asyncio.Task[None] | None = None
        self._drives: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Starts the background loop."""
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._loop(), name="saga-runner")

    async def stop(self) -> None:
        """Stops claiming, lets running transitions finish briefly, then cancels the rest;
        unfinished claims simply expire and another instance resumes the sagas."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        if self._drives:
            await asyncio.wait(set(self._drives), timeout=self._stop_grace)
        for task in list(self._drives):
            task.cancel()
        await asyncio.gather(*self._drives, return_exceptions=True)
        await self._caller.close()

    async def check(self) -> None:
        """Raises when the saga store does not answer."""
        await self._store.check()

    async def run_once(self, limit: int | None = None) -> int:
        """Claims due sagas and drives each until it waits; returns how many were claimed."""
        claimed = await self._claim(limit or self._concurrency)
        await asyncio.gather(*(self._drive(saga) for saga in claimed))
        return len(claimed)

    async def run_until_idle(self, max_rounds: int = 10_000) -> None:
        """Runs rounds until nothing is due (for tests and tools)."""
        for _round in range(max_rounds):
            if await self.run_once() == 0:
                return

    async def _loop(self) -> None:
        while True:
            waiter = self._signals.runner.waiter()
            claimed: list[SagaRecord] = []
            try:
                claimed = await self._claim(self._concurrency - len(self._drives))
            except ConcordError as exc:
                log.warning("saga runner cannot claim work: %s", exc.message)
            except Exception:
                log.exception("saga runner: unexpected error while claiming work")
            for saga in claimed:
                task = asyncio.create_task(self._guarded_drive(saga))
                self._drives.add(task)
                task.add_done_callback(self._drive_done)
            if not claimed:
                await wait_event(waiter, self._poll_interval)

    def _drive_done(self, task: asyncio.Task[None]) -> None:
        self._drives.discard(task)
        self._signals.runner.notify()

    async def _guarded_drive(self, saga: SagaRecord) -> None:
        try:
            await self._drive(saga)
        except ConcordError as exc:
            log.warning("saga %s paused (claim expires): %s", saga.saga_id, exc.message)
        except Exception:
            log.exception("saga %s: unexpected error; its claim will expire", saga.saga_id)

    async def _claim(self, limit: int) -> list[SagaRecord]:
        """Claims up to `limit` due sagas by compare-and-set; sagas another instance won are
        skipped."""
        if limit <= 0:
            return []
        now = self._clock.now()
        claimed: list[SagaRecord] = []
        for saga in await self._store.due(now, limit):
            mine = replace(saga, locked_by=self.instance_id, locked_until=now + self._claim_ttl)
            try:
                saved = await self._store.save(mine)
            except ConcordError as exc:  # keep what is claimed already: it must be driven
                log.warning("saga runner stopped claiming: %s", exc.message)
                break
            if saved is not None:
                claimed.append(saved)
        return claimed

    async def _drive(self, saga: SagaRecord | None) -> None:
        """Runs the claimed saga's transitions until it waits, ends, or the claim is lost."""
        while saga is not None and saga.locked_by == self.instance_id:
            now = self._clock.now()
            move = machine.plan_next(saga, now, self._rng)
            if isinstance(move, machine.CallHttp):
                hold = now + timedelta(seconds=move.timeout + self._claim_margin)
                with step_span(move.saga):
                    started = await self._persist(saga, move.saga, hold_until=hold)
                    if started is not None:
                        saga = await self._call(started, move)
                        continue
                saga = await self._reload_if_mine(saga.saga_id)
            else:
                saved = await self._persist(saga, move.saga)
                saga = saved if saved is not None else await self._reload_if_mine(saga.saga_id)

    def _lock_for(
        self, saga: SagaRecord, now: datetime, hold_until: datetime | None
    ) -> tuple[str, datetime | None]:
        """Keep the claim while the saga has more to do right now; release it otherwise."""
        if hold_until is not None:
            return self.instance_id, hold_until
        due = saga.next_run_at is not None and saga.next_run_at <= now
        if due and saga.state not in TERMINAL_STATES:
            return self.instance_id, now + self._claim_ttl
        return "", None

    async def _persist(
        self, before: SagaRecord, saga: SagaRecord, hold_until: datetime | None = None
    ) -> SagaRecord | None:
        """Saves a transition (`before` to `saga`) of a claimed saga with the claim kept or
        released."""
        owner, until = self._lock_for(saga, self._clock.now(), hold_until)
        saved = await self._store.save(replace(saga, locked_by=owner, locked_until=until))
        if saved is not None:
            count_saga_change(before, saved)
            if saved.ready_task_type is not None:
                self._signals.tasks.notify()
        return saved

    async def _reload_if_mine(self, saga_id: str) -> SagaRecord | None:
        """The saga after another writer changed it, if this runner still holds the claim."""
        fresh = await self._store.get(saga_id)
        if fresh is None or fresh.locked_by != self.instance_id:
            return None
        if fresh.locked_until is None or fresh.locked_until <= self._clock.now():
            return None
        return fresh

    async def _call(self, started: SagaRecord, move: machine.CallHttp) -> SagaRecord | None:
        """Calls the step target and records the outcome on the saga as it is by then."""
        try:
            result = await self._caller.call(move.target, move.body, move.timeout)
        except Exception as exc:  # an adapter bug must not lose the attempt
            log.exception("HTTP step call of saga %s raised", started.saga_id)
            outcome: machine.Outcome = machine.Failure(f"call failed: {exc}", True)
        else:
            outcome = (
                machine.Success(result.output)
                if result.ok
                else machine.Failure(result.message, result.retryable, result.timed_out)
            )
        return await self._record_outcome(started, outcome)

    async def _record_outcome(
        self, saga: SagaRecord, outcome: machine.Outcome
    ) -> SagaRecord | None:
        """Applies the outcome while the same attempt is still outstanding (a cancel may have
        changed the saga meanwhile); drops it when another instance has taken the attempt over."""
        attempt = saga.attempt
        current: SagaRecord | None = saga
        for _round in range(_OUTCOME_ROUNDS):
            if current is None or current.attempt != attempt:
                return None
            finished = machine.finish_attempt(current, outcome, self._clock.now(), self._rng)
            if current.locked_by == self.instance_id:
                saved = await self._persist(current, finished)
            else:
                saved = await self._store.save(finished)
                if saved is not None:
                    count_saga_change(current, saved)
            if saved is not None:
                return saved
            current = await self._store.get(saga.saga_id)
        return None
