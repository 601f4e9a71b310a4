"""The saga store port: saga records, their JSON document form, and the outbound step caller."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol


class SagaState(StrEnum):
    """Where a saga is."""

    RUNNING = "RUNNING"
    COMPENSATING = "COMPENSATING"
    COMPLETED = "COMPLETED"
    COMPENSATED = "COMPENSATED"
    FAILED = "FAILED"


TERMINAL_STATES = frozenset({SagaState.COMPLETED, SagaState.COMPENSATED, SagaState.FAILED})


class StepState(StrEnum):
    """Where one step is."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    COMPENSATING = "COMPENSATING"
    COMPENSATED = "COMPENSATED"
    COMPENSATION_FAILED = "COMPENSATION_FAILED"


# States of a step whose action succeeded (its output is meaningful).
ACTION_SUCCEEDED_STATES = frozenset(
    {
        StepState.SUCCEEDED,
        StepState.COMPENSATING,
        StepState.COMPENSATED,
        StepState.COMPENSATION_FAILED,
    }
)


class StepPhase(StrEnum):
    """Whether an attempt runs a step's action or its compensation."""

    ACTION = "ACTION"
    COMPENSATION = "COMPENSATION"


class StepEventType(StrEnum):
    """What happened in one attempt."""

    STARTED = "STARTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    RETRY_SCHEDULED = "RETRY_SCHEDULED"


@dataclass(frozen=True)
class RetryPolicy:
    """How an action or compensation is retried; zero fields mean the documented default."""

    max_attempts: int = 0
    initial_backoff: float = 0.0
    max_backoff: float = 0.0
    backoff_multiplier: float = 0.0
    timeout: float = 0.0

    def resolved(self) -> RetryPolicy:
        """The policy with every zero replaced by its default."""
        return RetryPolicy(
            max_attempts=self.max_attempts or 3,
            initial_backoff=self.initial_backoff or 1.0,
            max_backoff=self.max_backoff or 60.0,
            backoff_multiplier=self.backoff_multiplier or 2.0,
            timeout=self.timeout or 30.0,
        )


@dataclass(frozen=True)
class HttpTarget:
    """An HTTP callback: URL, method ("" means POST) and extra headers (sorted pairs)."""

    url: str
    method: str = ""
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def effective_method(self) -> str:
        """The method actually used."""
        return self.method or "POST"


@dataclass(frozen=True)
class StepTarget:
    """What runs for an action or compensation: an HTTP callback or a worker task type."""

    http: HttpTarget | None = None
    task_type: str = ""


@dataclass(frozen=True)
class StepDefinition:
    """One step: its action, optional compensation and retry policy."""

    name: str
    action: StepTarget
    compensation: StepTarget | None = None
    retry: RetryPolicy = RetryPolicy()


@dataclass(frozen=True)
class SagaDefinition:
    """A saga's name and ordered steps."""

    name: str
    steps: tuple[StepDefinition, ...]


@dataclass(frozen=True)
class StepEvent:
    """One entry of a step's history."""

    at: datetime
    phase: StepPhase
    type: StepEventType
    attempt: int
    message: str = ""


@dataclass(frozen=True)
class StepRun:
    """The run state of one step."""

    name: str
    state: StepState = StepState.PENDING
    attempts: int = 0
    compensation_attempts: int = 0
    output: Any = None
    error: str = ""
    history: tuple[StepEvent, ...] = ()


AttemptKind = Literal["http", "task"]


@dataclass(frozen=True)
class Attempt:
    """The saga's outstanding attempt: an HTTP call in flight, or a worker task (ready/leased)."""

    step_index: int
    phase: StepPhase
    number: int
    kind: AttemptKind
    task_id: str = ""
    task_type: str = ""
    worker_id: str = ""
    lease_expires_at: datetime | None = None


@dataclass(frozen=True)
class SagaRecord:
    """A saga as stored: definition, progress, and the runner's scheduling and claim fields."""

    saga_id: str
    definition: SagaDefinition
    input: Any
    state: SagaState
    steps: tuple[StepRun, ...]
    created_at: datetime
    updated_at: datetime
    error: str = ""
    cancel_requested: bool = False
    version: int = 0
    seq: int = 0
    next_run_at: datetime | None = None
    locked_by: str = ""
    locked_until: datetime | None = None
    attempt: Attempt | None = None
    trace_parent: str = ""  # the W3C `traceparent` of the call that started it (its steps' parent)

    @property
    def ready_task_type(self) -> str | None:
        """The task type of a worker task waiting for a worker, if any."""
        a = self.attempt
        if a is not None and a.kind == "task" and not a.worker_id:
            return a.task_type
        return None

    def outputs(self) -> dict[str, Any]:
        """Outputs of the steps whose action succeeded, by step name."""
        return {s.name: s.output for s in self.steps if s.state in ACTION_SUCCEEDED_STATES}


class SagaStore(Protocol):
    """Persistence of saga records with compare-and-set on `version`."""

    backend: str

    async def insert(self, saga: SagaRecord) -> SagaRecord | None:
        """Stores a new saga (version 1, a fresh `seq`); None when the id exists."""
        ...

    async def get(self, saga_id: str) -> SagaRecord | None:
        """The saga with this id, or None."""
        ...

    async def save(self, saga: SagaRecord) -> SagaRecord | None:
        """Writes the saga if the stored version equals `saga.version`; returns it with
        version + 1, or None when another writer got there first (or it is gone)."""
        ...

    async def list_sagas(
        self, *, state: SagaState | None, limit: int, before_seq: int | None
    ) -> list[SagaRecord]:
        """Sagas newest first (by `seq`), optionally in one state, below `before_seq`."""
        ...

    async def due(self, now: datetime, limit: int) -> list[SagaRecord]:
        """Sagas with `next_run_at <= now` whose runner claim is absent or expired."""
        ...

    async def ready_tasks(self, task_types: Sequence[str], limit: int) -> list[SagaRecord]:
        """Sagas holding a worker task of these types that waits for a worker, oldest first."""
        ...

    async def check(self) -> None:
        """Raises when the engine does not answer."""
        ...


@dataclass(frozen=True)
class CallOutcome:
    """The result of one HTTP step call."""

    ok: bool
    output: Any = None
    message: str = ""
    retryable: bool = False
    timed_out: bool = False


class StepCaller(Protocol):
    """Performs HTTP step callbacks (an outbound adapter)."""

    async def call(
        self, target: HttpTarget, body: dict[str, Any], time_limit: float
    ) -> CallOutcome:
        """Calls the target with the JSON body and classifies the answer."""
        ...

    async def close(self) -> None:
        """Releases connections."""
        ...


def _time(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _target_doc(t: StepTarget | None) -> dict[str, Any] | None:
    if t is None:
        return None
    if t.http is not None:
        h = t.http
        return {"http": {"url": h.url, "method": h.method, "headers": [list(p) for p in h.headers]}}
    return {"task_type": t.task_type}


def _target_from(doc: dict[str, Any] | None) -> StepTarget | None:
    if doc is None:
        return None
    if "http" in doc:
        h = doc["http"]
        headers = tuple((str(k), str(v)) for k, v in h["headers"])
        return StepTarget(http=HttpTarget(h["url"], h["method"], headers))
    return StepTarget(task_type=doc["task_type"])


def definition_to_document(d: SagaDefinition) -> dict[str, Any]:
    """A saga definition as plain JSON."""
    return {
        "name": d.name,
        "steps": [
            {
                "name": s.name,
                "action": _target_doc(s.action),
                "compensation": _target_doc(s.compensation),
                "retry": vars(s.retry).copy(),
            }
            for s in d.steps
        ],
    }


def definition_from_document(doc: dict[str, Any]) -> SagaDefinition:
    """A saga definition from its plain JSON form."""
    steps = []
    for s in doc["steps"]:
        action = _target_from(s["action"])
        assert action is not None
        compensation = _target_from(s["compensation"])
        steps.append(StepDefinition(s["name"], action, compensation, RetryPolicy(**s["retry"])))
    return SagaDefinition(doc["name"], tuple(steps))


def _step_doc(s: StepRun) -> dict[str, Any]:
    return {
        "name": s.name,
        "state": s.state.value,
        "attempts": s.attempts,
        "compensation_attempts": s.compensation_attempts,
        "output": s.output,
        "error": s.error,
        "history": [
            [_time(e.at), e.phase.value, e.type.value, e.attempt, e.message] for e in s.history
        ],
    }


def _step_from(doc: dict[str, Any]) -> StepRun:
    history = tuple(
        StepEvent(datetime.fromisoformat(at), StepPhase(ph), StepEventType(ty), n, msg)
        for at, ph, ty, n, msg in doc["history"]
    )
    return StepRun(
        name=doc["name"],
        state=StepState(doc["state"]),
        attempts=doc["attempts"],
        compensation_attempts=doc["compensation_attempts"],
        output=doc["output"],
        error=doc["error"],
        history=history,
    )


def _attempt_doc(a: Attempt | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {
        "step_index": a.step_index,
        "phase": a.phase.value,
        "number": a.number,
        "kind": a.kind,
        "task_id": a.task_id,
        "task_type": a.task_type,
        "worker_id": a.worker_id,
        "lease_expires_at": _time(a.lease_expires_at),
    }


def _attempt_from(doc: dict[str, Any] | None) -> Attempt | None:
    if doc is None:
        return None
    kind: AttemptKind = "http" if doc["kind"] == "http" else "task"
    return Attempt(
        step_index=doc["step_index"],
        phase=StepPhase(doc["phase"]),
        number=doc["number"],
        kind=kind,
        task_id=doc["task_id"],
        task_type=doc["task_type"],
        worker_id=doc["worker_id"],
        lease_expires_at=_parse_time(doc["lease_expires_at"]),
    )


def saga_to_document(s: SagaRecord) -> dict[str, Any]:
    """Everything of a saga record except `version` and `seq` (kept in columns), as JSON."""
    return {
        "saga_id": s.saga_id,
        "definition": definition_to_document(s.definition),
        "input": s.input,
        "state": s.state.value,
        "steps": [_step_doc(step) for step in s.steps],
        "created_at": _time(s.created_at),
        "updated_at": _time(s.updated_at),
        "error": s.error,
        "cancel_requested": s.cancel_requested,
        "next_run_at": _time(s.next_run_at),
        "locked_by": s.locked_by,
        "locked_until": _time(s.locked_until),
        "attempt": _attempt_doc(s.attempt),
        "trace_parent": s.trace_parent,
    }


def saga_from_document(doc: dict[str, Any], *, version: int, seq: int) -> SagaRecord:
    """A saga record from its JSON document and its version and sequence columns."""
    created = _parse_time(doc["created_at"])
    updated = _parse_time(doc["updated_at"])
    assert created is not None and updated is not None
    return SagaRecord(
        saga_id=doc["saga_id"],
        definition=definition_from_document(doc["definition"]),
        input=doc["input"],
        state=SagaState(doc["state"]),
        steps=tuple(_step_from(s) for s in doc["steps"]),
        created_at=created,
        updated_at=updated,
        error=doc["error"],
        cancel_requested=doc["cancel_requested"],
        version=version,
        seq=seq,
        next_run_at=_parse_time(doc["next_run_at"]),
        locked_by=doc["locked_by"],
        locked_until=_parse_time(doc["locked_until"]),
        attempt=_attempt_from(doc["attempt"]),
        trace_parent=str(doc.get("trace_parent", "")),  # absent in sagas stored before it
    )
