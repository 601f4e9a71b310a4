"""Saga rules: validation, idempotent start, cancel, listing, and the worker task protocol."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from concord_server import page_tokens
from concord_server.clock import Clock, monotonic
from concord_server.domain import saga_machine as machine
from concord_server.domain.circuit_breaker import origin_of
from concord_server.domain.patterns import matches_any
from concord_server.domain.saga_machine import TaskLease
from concord_server.errors import ConcordError, ErrorCode, invalid_argument, not_found
from concord_server.ports.sagas import SagaDefinition, SagaRecord, SagaState, SagaStore
from concord_server.telemetry.metrics import count_saga_change

DEFAULT_PAGE_SIZE = 50
DEFAULT_VISIBILITY_SECONDS = 30.0
MAX_VISIBILITY_SECONDS = 3600.0
MIN_VISIBILITY_SECONDS = 1.0
_CAS_ROUNDS = 50


class Signal:
    """An in-process wake-up: `notify` wakes everyone waiting on the current generation."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wakes the current waiters; later waiters wait for the next notify."""
        self._event.set()
        self._event = asyncio.Event()

    def waiter(self) -> asyncio.Event:
        """The event the next `notify` sets; take it before checking, then wait on it."""
        return self._event


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Waits until the event is set or the time is up; True when it was set.

    `asyncio.timeout` rather than `asyncio.wait_for`: before Python 3.12 the latter can swallow
    a cancellation that arrives as the event is set, and a loop using it could never stop."""
    try:
        async with asyncio.timeout(max(0.0, seconds)):
            await event.wait()
    except TimeoutError:
        return False
    return True


@dataclass
class SagaSignals:
    """Wake-ups between the service and the runner of one server instance."""

    runner: Signal = field(default_factory=Signal)
    tasks: Signal = field(default_factory=Signal)


def ensure_json(value: Any, field_name: str) -> None:
    """INVALID_ARGUMENT unless the value is plain JSON (NaN and Infinity are not)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise invalid_argument(f"{field_name} is not plain JSON: {exc}", field_name) from exc


def validate_definition(definition: SagaDefinition) -> None:
    """Semantic rules the field rules cannot express: unique names, one target, multiplier."""
    seen: set[str] = set()
    for index, step in enumerate(definition.steps):
        where = f"definition.steps[{index}]"
        if step.name in seen:
            raise invalid_argument(f"step name {step.name!r} is used twice", f"{where}.name")
        seen.add(step.name)
        if step.action.http is None and not step.action.task_type:
            raise invalid_argument("a step action needs `http` or `task`", f"{where}.action")
        comp = step.compensation
        if comp is not None and comp.http is None and not comp.task_type:
            raise invalid_argument("a compensation needs `http` or `task`", f"{where}.compensation")
        multiplier = step.retry.backoff_multiplier
        if multiplier != 0 and not 1.0 <= multiplier <= 10.0:
            raise invalid_argument(
                "backoff_multiplier must be 0 (default 2) or between 1 and 10",
                f"{where}.retry.backoff_multiplier",
            )


def origin_allowed(url: str, allowed: Sequence[str]) -> bool:
    """Whether a step URL's origin matches one of the allowed origin patterns."""
    try:
        return matches_any(allowed, origin_of(url))
    except ValueError:
        return False


def check_targets(definition: SagaDefinition, allowed: Sequence[str]) -> None:
    """INVALID_ARGUMENT for an HTTP step whose origin the server may not call."""
    for index, step in enumerate(definition.steps):
        for kind, action in (("action", step.action), ("compensation", step.compensation)):
            if action is None or action.http is None:
                continue
            if not origin_allowed(action.http.url, allowed):
                where = f"definition.steps[{index}].{kind}.http.url"
                raise invalid_argument(
                    f"{where}: this server may not call {action.http.url!r} "
                    "(see saga_http_allowed_origins)",
                    where,
                    reason="target_not_allowed",
                )


def same_json(a: Any, b: Any) -> bool:
    """Equality of JSON values that tells booleans from numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) and (a is None) == (b is None)


def encode_page_token(state: SagaState | None, seq: int) -> str:
    """An opaque token for 'sagas older than this one' in the listing of `state`."""
    return page_tokens.seal(f"sagas|{state.value if state else ''}", {"s": seq})


def decode_page_token(state: SagaState | None, token: str) -> int | None:
    """The sequence bound of a page token; INVALID_ARGUMENT when it is not ours."""
    if not token:
        return None
    position = page_tokens.unseal(f"sagas|{state.value if state else ''}", token)
    return int(page_tokens.member(position, "s", int))


def visibility_seconds(
    seconds: float, field_name: str, minimum: float = MIN_VISIBILITY_SECONDS
) -> float:
    """A lease length: 0 means 30s; otherwise `minimum` (1s for polls) to 1h."""
    if seconds == 0:
        return DEFAULT_VISIBILITY_SECONDS
    if not minimum <= seconds <= MAX_VISIBILITY_SECONDS:
        raise invalid_argument(
            f"{field_name} must be 0 (default 30s) or {minimum:g}s to 1h", field_name
        )
    return seconds


class SagaService:
    """The saga operations of the contract; the runner drives the sagas in the background."""

    def __init__(
        self,
        store: SagaStore,
        clock: Clock,
        *,
        signals: SagaSignals | None = None,
        rng: random.Random | None = None,
        task_poll_interval: float = 0.5,
        allowed_origins: Sequence[str] = ("*",),
    ) -> None:
        self.allowed_origins = tuple(allowed_origins)
        self.store = store
        self.clock = clock
        self.signals = signals or SagaSignals()
        self._rng = rng or random.Random()
        self._task_poll_interval = task_poll_interval

    async def start(
        self, saga_id: str, definition: SagaDefinition, input: Any, trace_parent: str = ""
    ) -> tuple[SagaRecord, bool]:
        """Starts a saga, or returns the same one again when definition and input are equal;
        `trace_parent` (W3C) is the call whose trace its steps continue."""
        if machine.TASK_ID_SEPARATOR in saga_id:
            raise invalid_argument(
                f"saga_id must not contain {machine.TASK_ID_SEPARATOR!r}", "saga_id"
            )
        validate_definition(definition)
        check_targets(definition, self.allowed_origins)
        ensure_json(input, "input")
        stored = await self.store.insert(
            machine.new_saga(saga_id, definition, input, self.clock.now(), trace_parent)
        )
        if stored is not None:
            count_saga_change(None, stored)
            self.signals.runner.notify()
            return stored, True
        existing = await self.get(saga_id)
        if existing.definition == definition and same_json(existing.input, input):
            return existing, False
        raise ConcordError(
            ErrorCode.ALREADY_EXISTS,
            f"saga {saga_id!r} exists with another definition or input",
            {"saga_id": saga_id},
        )

    async def get(self, saga_id: str) -> SagaRecord:
        """The saga, or NOT_FOUND."""
        saga = await self.store.get(saga_id)
        if saga is None:
            raise not_found("saga", saga_id)
        return saga

    async def list_sagas(
        self, state: SagaState | None, page_size: int, page_token: str
    ) -> tuple[list[SagaRecord], str]:
        """A page of sagas, newest first, and the token of the next page ("" at the end)."""
        before = decode_page_token(state, page_token)
        limit = page_size or DEFAULT_PAGE_SIZE
        rows = await self.store.list_sagas(state=state, limit=limit + 1, before_seq=before)
        page = rows[:limit]
        token = encode_page_token(state, page[-1].seq) if len(rows) > limit else ""
        return page, token

    async def cancel(self, saga_id: str, reason: str) -> SagaRecord:
        """Stops a running saga's actions and compensates it."""
        return await self._update(
            saga_id, lambda s: machine.request_cancel(s, reason, self.clock.now())
        )

    async def poll_tasks(
        self,
        worker_id: str,
        task_types: Sequence[str],
        max_tasks: int,
        visibility: float,
        wait: float,
    ) -> list[TaskLease]:
        """Leases up to `max_tasks` ready tasks, waiting up to `wait` seconds for one."""
        visibility = visibility_seconds(visibility, "visibility_timeout")
        limit = max_tasks or 1
        types = sorted(set(task_types))
        deadline = monotonic() + wait
        while True:
            waiter = self.signals.tasks.waiter()
            leased = await self._lease_ready(worker_id, types, limit, visibility)
            remaining = deadline - monotonic()
            if leased or remaining <= 0:
                return leased
            await wait_event(waiter, min(remaining, self._task_poll_interval))

    async def _lease_ready(
        self, worker_id: str, types: list[str], limit: int, visibility: float
    ) -> list[TaskLease]:
        """Leases ready tasks; a candidate another worker won is skipped, then the store re-read."""
        leased: list[TaskLease] = []
        for _round in range(_CAS_ROUNDS):
            candidates = await self.store.ready_tasks(types, limit - len(leased))
            for candidate in candidates:
                if candidate.ready_task_type is None:
                    continue
                lease = machine.lease_task(candidate, worker_id, visibility, self.clock.now())
                saved = await self.store.save(lease)
                if saved is not None:
                    leased.append(machine.task_view(saved))
            if not candidates or len(leased) >= limit:
                break
        return leased

    async def heartbeat(self, task_id: str, worker_id: str, visibility: float) -> TaskLease:
        """Extends the lease of a task this worker holds."""
        seconds = visibility_seconds(visibility, "visibility_timeout", minimum=0.0)
        saga = await self._update(
            self._saga_of(task_id),
            lambda s: machine.extend_lease(s, task_id, worker_id, seconds, self.clock.now()),
            missing=lambda: not_found("task", task_id),
        )
        return machine.task_view(saga)

    async def complete(self, task_id: str, worker_id: str, output: Any) -> SagaRecord:
        """Records a held task's success; the runner moves the saga on."""
        ensure_json(output, "output")
        return await self._finish_task(task_id, worker_id, machine.Success(output))

    async def fail(
        self, task_id: str, worker_id: str, message: str, non_retryable: bool
    ) -> SagaRecord:
        """Records a held task's failure; retried per the step's policy unless non-retryable."""
        failure = machine.Failure(message or "task failed", retryable=not non_retryable)
        return await self._finish_task(task_id, worker_id, failure)

    async def _finish_task(
        self, task_id: str, worker_id: str, outcome: machine.Outcome
    ) -> SagaRecord:
        def finish(saga: SagaRecord) -> SagaRecord:
            now = self.clock.now()
            try:
                machine.held_lease(saga, task_id, worker_id, now)
            except ConcordError:
                succeeded = isinstance(outcome, machine.Success)
                if machine.finished_by(saga, task_id, worker_id, succeeded):
                    return saga  # a retried call (the RPCs are idempotent): answer the same
                raise
            return machine.finish_attempt(saga, outcome, now, self._rng)

        saga = await self._update(
            self._saga_of(task_id), finish, missing=lambda: not_found("task", task_id)
        )
        self.signals.runner.notify()
        return saga

    @staticmethod
    def _saga_of(task_id: str) -> str:
        return machine.saga_id_of_task(task_id)

    async def _update(
        self,
        saga_id: str,
        change: Callable[[SagaRecord], SagaRecord],
        missing: Callable[[], ConcordError] | None = None,
    ) -> SagaRecord:
        """Read, change, compare-and-set; re-read and re-apply when another writer won."""
        for _round in range(_CAS_ROUNDS):
            current = await self.store.get(saga_id)
            if current is None:
                raise missing() if missing else not_found("saga", saga_id)
            changed = change(current)
            if changed is current:
                return current
            saved = await self.store.save(changed)
            if saved is not None:
                count_saga_change(current, saved)
                if saved.next_run_at is not None and saved.next_run_at <= self.clock.now():
                    self.signals.runner.notify()
                return saved
        raise ConcordError(
            ErrorCode.UNAVAILABLE, f"saga {saga_id!r} changed too often to update", {}
        )
