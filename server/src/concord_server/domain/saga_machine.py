"""The saga state machine: pure transitions from one saga record to the next (no I/O)."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.sagas import (
    TERMINAL_STATES,
    Attempt,
    HttpTarget,
    RetryPolicy,
    SagaDefinition,
    SagaRecord,
    SagaState,
    StepEvent,
    StepEventType,
    StepPhase,
    StepRun,
    StepState,
    StepTarget,
)

IDEMPOTENCY_KEY_MAX = 200  # docs/contract.md: keys are 1 to 200 visible ASCII characters
TASK_ID_SEPARATOR = "~"  # never part of a saga id (pattern ^[A-Za-z0-9][A-Za-z0-9._:-]*$)
_PHASE_TAG = {StepPhase.ACTION: "a", StepPhase.COMPENSATION: "c"}


@dataclass(frozen=True)
class Success:
    """An attempt succeeded with this output."""

    output: Any


@dataclass(frozen=True)
class Failure:
    """An attempt failed; `retryable` lets the retry policy try again."""

    message: str
    retryable: bool
    timed_out: bool = False


Outcome = Success | Failure


@dataclass(frozen=True)
class Advance:
    """An instant transition: persist this record."""

    saga: SagaRecord


@dataclass(frozen=True)
class CallHttp:
    """Persist this record (its attempt STARTED), then call the target and finish the attempt."""

    saga: SagaRecord
    target: HttpTarget
    body: dict[str, Any]
    timeout: float


Move = Advance | CallHttp


@dataclass(frozen=True)
class TaskLease:
    """A worker task as handed to a worker."""

    task_id: str
    saga_id: str
    step_name: str
    phase: StepPhase
    task_type: str
    attempt: int
    input: Any
    outputs: dict[str, Any]
    worker_id: str
    lease_expires_at: datetime | None


def new_saga(
    saga_id: str, definition: SagaDefinition, input: Any, now: datetime, trace_parent: str = ""
) -> SagaRecord:
    """A saga about to run its first step (`trace_parent`: the call that started it)."""
    return SagaRecord(
        saga_id=saga_id,
        definition=definition,
        input=input,
        state=SagaState.RUNNING,
        steps=tuple(StepRun(name=s.name) for s in definition.steps),
        created_at=now,
        updated_at=now,
        next_run_at=now,
        trace_parent=trace_parent,
    )


def task_id_of(saga_id: str, step_index: int, phase: StepPhase, number: int) -> str:
    """The id of one task attempt; it names its saga so a task can be found without an index."""
    return TASK_ID_SEPARATOR.join((saga_id, str(step_index), _PHASE_TAG[phase], str(number)))


def saga_id_of_task(task_id: str) -> str:
    """The saga id a task id belongs to."""
    return task_id.split(TASK_ID_SEPARATOR, 1)[0]


def backoff_delay(policy: RetryPolicy, failed_attempt: int, rng: random.Random) -> float:
    """Exponential backoff after attempt n, capped, with jitter in [delay/2, delay]."""
    raw = policy.initial_backoff * policy.backoff_multiplier ** (failed_attempt - 1)
    capped = min(policy.max_backoff, raw)
    return capped / 2 + rng.random() * capped / 2


def step_idempotency_key(saga_id: str, step_index: int, phase: StepPhase) -> str:
    """The `Idempotency-Key` of every attempt of one step phase: the same across retries and
    crashes, different for the action and the compensation (at most 200 visible characters)."""
    key = f"concord-saga:{saga_id}:{step_index}:{phase.value}"
    if len(key) <= IDEMPOTENCY_KEY_MAX:
        return key
    digest = hashlib.sha256(saga_id.encode()).hexdigest()
    return f"concord-saga-sha256:{digest}:{step_index}:{phase.value}"


def with_idempotency_key(target: HttpTarget, key: str) -> HttpTarget:
    """The target with our `Idempotency-Key`, unless the definition set that header itself."""
    if any(name.lower() == "idempotency-key" for name, _ in target.headers):
        return target
    return replace(target, headers=tuple(sorted((*target.headers, ("Idempotency-Key", key)))))


def call_body(saga: SagaRecord, attempt: Attempt) -> dict[str, Any]:
    """The JSON body an HTTP step receives."""
    return {
        "saga_id": saga.saga_id,
        "step": saga.steps[attempt.step_index].name,
        "phase": attempt.phase.value,
        "attempt": attempt.number,
        "input": saga.input,
        "outputs": saga.outputs(),
    }


def task_view(saga: SagaRecord) -> TaskLease:
    """The saga's outstanding worker task."""
    a = saga.attempt
    assert a is not None and a.kind == "task"
    return TaskLease(
        task_id=a.task_id,
        saga_id=saga.saga_id,
        step_name=saga.steps[a.step_index].name,
        phase=a.phase,
        task_type=a.task_type,
        attempt=a.number,
        input=saga.input,
        outputs=saga.outputs(),
        worker_id=a.worker_id,
        lease_expires_at=a.lease_expires_at,
    )


def _with_step(saga: SagaRecord, index: int, step: StepRun) -> tuple[StepRun, ...]:
    return (*saga.steps[:index], step, *saga.steps[index + 1 :])


def _logged(
    step: StepRun, at: datetime, a: Attempt, kind: StepEventType, message: str = ""
) -> StepRun:
    event = StepEvent(at, a.phase, kind, a.number, message)
    return replace(step, history=(*step.history, event))


def plan_next(saga: SagaRecord, now: datetime, rng: random.Random) -> Move:
    """The runner's next transition of a due saga."""
    if saga.state in TERMINAL_STATES:
        return Advance(replace(saga, next_run_at=None))
    if saga.attempt is not None:
        return Advance(_settle_outstanding(saga, saga.attempt, now, rng))
    if saga.state is SagaState.RUNNING:
        return _plan_action(saga, now)
    return _plan_compensation(saga, now)


def _settle_outstanding(
    saga: SagaRecord, a: Attempt, now: datetime, rng: random.Random
) -> SagaRecord:
    """Times out an abandoned HTTP call or an expired lease; otherwise waits for the task."""
    if a.kind == "http":
        failure = Failure("no answer before the runner's claim expired", True, timed_out=True)
        return finish_attempt(saga, failure, now, rng)
    if a.worker_id and a.lease_expires_at is not None and a.lease_expires_at <= now:
        failure = Failure(f"task lease of worker {a.worker_id!r} expired", True, timed_out=True)
        return finish_attempt(saga, failure, now, rng)
    return replace(saga, next_run_at=a.lease_expires_at if a.worker_id else None)


def _plan_action(saga: SagaRecord, now: datetime) -> Move:
    for index, step in enumerate(saga.steps):
        if step.state is not StepState.SUCCEEDED:
            return _begin(saga, index, StepPhase.ACTION, now)
    return Advance(replace(saga, state=SagaState.COMPLETED, next_run_at=None, updated_at=now))


def _plan_compensation(saga: SagaRecord, now: datetime) -> Move:
    """Compensates the last step whose action succeeded; steps without one count as done."""
    for index in reversed(range(len(saga.steps))):
        step = saga.steps[index]
        if step.state is StepState.RUNNING:
            return Advance(replace(saga, steps=_with_step(saga, index, _abandoned(step))))
        if step.state in (StepState.SUCCEEDED, StepState.COMPENSATING):
            if saga.definition.steps[index].compensation is None:
                done = replace(step, state=StepState.COMPENSATED)
                return Advance(replace(saga, steps=_with_step(saga, index, done), updated_at=now))
            return _begin(saga, index, StepPhase.COMPENSATION, now)
    return Advance(replace(saga, state=SagaState.COMPENSATED, next_run_at=None, updated_at=now))


def _abandoned(step: StepRun) -> StepRun:
    """A step whose action will not run again because the saga was cancelled."""
    if step.attempts == 0:
        return replace(step, state=StepState.PENDING)
    return replace(step, state=StepState.FAILED, error=step.error or "saga cancelled")


def _begin(saga: SagaRecord, index: int, phase: StepPhase, now: datetime) -> Move:
    """Starts an HTTP attempt, or offers a worker task (which starts when leased)."""
    spec = saga.definition.steps[index]
    target: StepTarget | None = spec.action if phase is StepPhase.ACTION else spec.compensation
    assert target is not None
    step = saga.steps[index]
    is_action = phase is StepPhase.ACTION
    number = (step.attempts if is_action else step.compensation_attempts) + 1
    state = StepState.RUNNING if is_action else StepState.COMPENSATING
    if target.http is None:
        task_id = task_id_of(saga.saga_id, index, phase, number)
        attempt = Attempt(index, phase, number, "task", task_id, target.task_type)
        offered = replace(step, state=state)
        return Advance(
            replace(
                saga,
                steps=_with_step(saga, index, offered),
                attempt=attempt,
                next_run_at=None,
                updated_at=now,
            )
        )
    attempt = Attempt(index, phase, number, "http")
    started = _counted(replace(step, state=state), attempt)
    started = _logged(started, now, attempt, StepEventType.STARTED)
    record = replace(saga, steps=_with_step(saga, index, started), attempt=attempt, updated_at=now)
    timeout = spec.retry.resolved().timeout
    key = step_idempotency_key(record.saga_id, index, attempt.phase)
    return CallHttp(
        record, with_idempotency_key(target.http, key), call_body(record, attempt), timeout
    )


def _counted(step: StepRun, a: Attempt) -> StepRun:
    if a.phase is StepPhase.ACTION:
        return replace(step, attempts=a.number)
    return replace(step, compensation_attempts=a.number)


def finish_attempt(
    saga: SagaRecord, outcome: Outcome, now: datetime, rng: random.Random
) -> SagaRecord:
    """Records the outcome of the outstanding attempt and decides what comes next."""
    a = saga.attempt
    assert a is not None
    step = saga.steps[a.step_index]
    base = replace(saga, attempt=None, updated_at=now, next_run_at=now)
    if isinstance(outcome, Success):
        done = _logged(step, now, a, StepEventType.SUCCEEDED)
        if a.phase is StepPhase.ACTION:
            done = replace(done, state=StepState.SUCCEEDED, output=outcome.output)
        else:
            done = replace(done, state=StepState.COMPENSATED)
        return replace(base, steps=_with_step(saga, a.step_index, done))
    kind = StepEventType.TIMED_OUT if outcome.timed_out else StepEventType.FAILED
    failed = replace(_logged(step, now, a, kind, outcome.message), error=outcome.message)
    policy = saga.definition.steps[a.step_index].retry.resolved()
    abandoning = a.phase is StepPhase.ACTION and saga.state is not SagaState.RUNNING
    if outcome.retryable and a.number < policy.max_attempts and not abandoning:
        delay = backoff_delay(policy, a.number, rng)
        retry = StepEventType.RETRY_SCHEDULED
        event = StepEvent(now, a.phase, retry, a.number + 1, f"in {delay:.3f}s")
        failed = replace(failed, history=(*failed.history, event))
        steps = _with_step(saga, a.step_index, failed)
        return replace(base, steps=steps, next_run_at=now + timedelta(seconds=delay))
    reason = outcome.message
    if outcome.retryable and not abandoning:
        reason = f"{reason} (gave up after {a.number} attempts)"
    return _failed_for_good(base, a, failed, reason)


def _failed_for_good(saga: SagaRecord, a: Attempt, step: StepRun, reason: str) -> SagaRecord:
    """An action failure starts compensating; a compensation failure fails the saga."""
    name = step.name
    if a.phase is StepPhase.ACTION:
        steps = _with_step(saga, a.step_index, replace(step, state=StepState.FAILED))
        if saga.state is SagaState.RUNNING:
            error = f"step {name!r} failed: {reason}"
            return replace(saga, steps=steps, state=SagaState.COMPENSATING, error=error)
        return replace(saga, steps=steps)
    steps = _with_step(saga, a.step_index, replace(step, state=StepState.COMPENSATION_FAILED))
    error = f"compensation of step {name!r} failed: {reason}"
    return replace(saga, steps=steps, state=SagaState.FAILED, error=error, next_run_at=None)


def request_cancel(saga: SagaRecord, reason: str, now: datetime) -> SagaRecord:
    """Stops further actions and starts compensating; a task nobody leased yet is withdrawn."""
    if saga.state in (SagaState.COMPLETED, SagaState.FAILED):
        raise ConcordError(
            ErrorCode.INVALID_STATE,
            f"saga {saga.saga_id!r} is {saga.state.value} and cannot be cancelled",
            {"saga_id": saga.saga_id, "state": saga.state.value},
        )
    if saga.state is not SagaState.RUNNING:
        return saga
    cancelled = replace(
        saga,
        state=SagaState.COMPENSATING,
        cancel_requested=True,
        error=reason or "cancelled",
        updated_at=now,
    )
    a = saga.attempt
    if a is not None and (a.kind == "http" or a.worker_id):
        return cancelled  # the attempt in flight finishes; its outcome is recorded
    steps = tuple(_abandoned(s) if s.state is StepState.RUNNING else s for s in saga.steps)
    return replace(cancelled, steps=steps, attempt=None, next_run_at=now)


def lease_task(saga: SagaRecord, worker_id: str, visibility: float, now: datetime) -> SagaRecord:
    """Leases the saga's ready task to a worker: the attempt starts now."""
    a = saga.attempt
    assert a is not None and a.kind == "task" and not a.worker_id
    expires = now + timedelta(seconds=visibility)
    leased = replace(a, worker_id=worker_id, lease_expires_at=expires)
    counted = _counted(saga.steps[a.step_index], a)
    step = _logged(counted, now, a, StepEventType.STARTED, _leased_by(worker_id))
    return replace(
        saga,
        steps=_with_step(saga, a.step_index, step),
        attempt=leased,
        next_run_at=expires,
        updated_at=now,
    )


def _leased_by(worker_id: str) -> str:
    return f"leased by worker {worker_id!r}"


def finished_by(saga: SagaRecord, task_id: str, worker_id: str, succeeded: bool) -> bool:
    """Whether this worker already completed (or failed) this task attempt: a retried call."""
    parts = task_id.split(TASK_ID_SEPARATOR)
    phases = {tag: phase for phase, tag in _PHASE_TAG.items()}
    if len(parts) != 4 or parts[2] not in phases or not (parts[1] + parts[3]).isdigit():
        return False
    index, phase, number = int(parts[1]), phases[parts[2]], int(parts[3])
    if index >= len(saga.steps):
        return False
    events = [e for e in saga.steps[index].history if e.phase is phase and e.attempt == number]
    wanted = StepEventType.SUCCEEDED if succeeded else StepEventType.FAILED
    leased = any(
        e.type is StepEventType.STARTED and e.message == _leased_by(worker_id) for e in events
    )
    return leased and any(e.type is wanted for e in events)


def held_lease(saga: SagaRecord, task_id: str, worker_id: str, now: datetime) -> Attempt:
    """The task attempt this worker holds, or TASK_LEASE_LOST."""
    a = saga.attempt
    holds = (
        a is not None
        and a.kind == "task"
        and a.task_id == task_id
        and a.worker_id == worker_id
        and a.lease_expires_at is not None
        and a.lease_expires_at > now
    )
    if not holds or a is None:
        raise ConcordError(
            ErrorCode.TASK_LEASE_LOST,
            f"worker {worker_id!r} does not hold task {task_id!r}",
            {"task_id": task_id, "worker_id": worker_id},
        )
    return a


def extend_lease(
    saga: SagaRecord, task_id: str, worker_id: str, visibility: float, now: datetime
) -> SagaRecord:
    """Moves the lease end of a held task to `now + visibility`."""
    a = held_lease(saga, task_id, worker_id, now)
    expires = now + timedelta(seconds=visibility)
    extended = replace(a, lease_expires_at=expires)
    return replace(saga, attempt=extended, next_run_at=expires)
