"""SagaService handlers: map contract messages to the saga domain and back."""

from __future__ import annotations

from typing import Any

from google.protobuf import duration_pb2, struct_pb2

from concord_server._gen.concord.v1 import sagas_pb2
from concord_server.api import convert
from concord_server.backends import registry
from concord_server.backends.connections import Connections
from concord_server.clock import Clock
from concord_server.component import Wired
from concord_server.config import Settings
from concord_server.context import CallContext
from concord_server.domain.circuit_breaker import CircuitBreakers
from concord_server.domain.saga_machine import TaskLease
from concord_server.domain.saga_runner import SagaRunner
from concord_server.domain.sagas import SagaService
from concord_server.errors import invalid_argument
from concord_server.outbound.http_steps import HttpStepCaller
from concord_server.ports.sagas import (
    ACTION_SUCCEEDED_STATES,
    HttpTarget,
    RetryPolicy,
    SagaDefinition,
    SagaRecord,
    SagaState,
    SagaStore,
    StepDefinition,
    StepEvent,
    StepPhase,
    StepRun,
    StepTarget,
)
from concord_server.telemetry.samplers import sagas_by_state


def _seconds(d: duration_pb2.Duration) -> float:
    return d.seconds + d.nanos / 1e9


def _duration(seconds: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(round(seconds * 1e9))
    return d


def _json(value: struct_pb2.Value) -> Any:
    """A JSON value; an unset Value reads as null."""
    return None if value.WhichOneof("kind") is None else convert.to_python(value)


def _target(action: sagas_pb2.StepAction) -> StepTarget:
    """A step target; one with neither field is left empty for the domain to reject."""
    which = action.WhichOneof("target")
    if which == "http":
        h = action.http
        return StepTarget(http=HttpTarget(h.url, h.method, tuple(sorted(h.headers.items()))))
    if which == "task":
        return StepTarget(task_type=action.task.task_type)
    return StepTarget()


def _retry(p: sagas_pb2.RetryPolicy) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=p.max_attempts,
        initial_backoff=_seconds(p.initial_backoff),
        max_backoff=_seconds(p.max_backoff),
        backoff_multiplier=p.backoff_multiplier,
        timeout=_seconds(p.timeout),
    )


def definition_of(d: sagas_pb2.SagaDefinition) -> SagaDefinition:
    """The domain definition of a contract definition."""
    steps = tuple(
        StepDefinition(
            name=s.name,
            action=_target(s.action),
            compensation=_target(s.compensation) if s.HasField("compensation") else None,
            retry=_retry(s.retry),
        )
        for s in d.steps
    )
    return SagaDefinition(d.name, steps)


def _action_message(t: StepTarget) -> sagas_pb2.StepAction:
    if t.http is not None:
        http = sagas_pb2.HttpCallback(
            url=t.http.url, method=t.http.method, headers=dict(t.http.headers)
        )
        return sagas_pb2.StepAction(http=http)
    return sagas_pb2.StepAction(task=sagas_pb2.WorkerTask(task_type=t.task_type))


def _retry_message(p: RetryPolicy) -> sagas_pb2.RetryPolicy:
    return sagas_pb2.RetryPolicy(
        max_attempts=p.max_attempts,
        initial_backoff=_duration(p.initial_backoff),
        max_backoff=_duration(p.max_backoff),
        backoff_multiplier=p.backoff_multiplier,
        timeout=_duration(p.timeout),
    )


def definition_message(d: SagaDefinition) -> sagas_pb2.SagaDefinition:
    """The contract message of a definition, as it was given."""
    steps = []
    for s in d.steps:
        step = sagas_pb2.StepDefinition(
            name=s.name, action=_action_message(s.action), retry=_retry_message(s.retry)
        )
        if s.compensation is not None:
            step.compensation.CopyFrom(_action_message(s.compensation))
        steps.append(step)
    return sagas_pb2.SagaDefinition(name=d.name, steps=steps)


def _phase(phase: StepPhase) -> str:
    """The proto enum name (message constructors accept names)."""
    return f"STEP_PHASE_{phase.value}"


def _event_message(e: StepEvent) -> sagas_pb2.StepEvent:
    return sagas_pb2.StepEvent(
        at=convert.timestamp(e.at),
        phase=_phase(e.phase),
        type=f"STEP_EVENT_TYPE_{e.type.value}",
        attempt=e.attempt,
        message=e.message,
    )


def _step_message(s: StepRun) -> sagas_pb2.SagaStep:
    step = sagas_pb2.SagaStep(
        name=s.name,
        state=f"STEP_STATE_{s.state.value}",
        attempts=s.attempts,
        compensation_attempts=s.compensation_attempts,
        error=s.error,
        history=[_event_message(e) for e in s.history],
    )
    if s.state in ACTION_SUCCEEDED_STATES:
        step.output.CopyFrom(convert.value(s.output))
    return step


def saga_message(s: SagaRecord) -> sagas_pb2.Saga:
    """The contract message of a saga."""
    return sagas_pb2.Saga(
        saga_id=s.saga_id,
        definition=definition_message(s.definition),
        input=convert.value(s.input),
        state=f"SAGA_STATE_{s.state.value}",
        steps=[_step_message(step) for step in s.steps],
        error=s.error,
        cancel_requested=s.cancel_requested,
        created_at=convert.timestamp(s.created_at),
        updated_at=convert.timestamp(s.updated_at),
    )


def task_message(t: TaskLease) -> sagas_pb2.Task:
    """The contract message of a leased task."""
    return sagas_pb2.Task(
        task_id=t.task_id,
        saga_id=t.saga_id,
        step_name=t.step_name,
        phase=_phase(t.phase),
        task_type=t.task_type,
        attempt=t.attempt,
        input=convert.value(t.input),
        outputs=convert.struct(t.outputs),
        worker_id=t.worker_id,
        lease_expires_at=convert.timestamp(t.lease_expires_at),
    )


def _state_filter(state: int) -> SagaState | None:
    """The domain state of a filter; unset means all, an unknown number is invalid."""
    if state == sagas_pb2.SAGA_STATE_UNSPECIFIED:
        return None
    try:
        return SagaState(sagas_pb2.SagaState.Name(state).removeprefix("SAGA_STATE_"))
    except ValueError as exc:
        raise invalid_argument(f"unknown saga state {state}", "state") from exc


class SagaHandlers:
    """The RPCs of concord.v1.SagaService."""

    SERVICE = "concord.v1.SagaService"

    def __init__(self, service: SagaService) -> None:
        self._service = service

    async def StartSaga(
        self, request: sagas_pb2.StartSagaRequest, ctx: CallContext
    ) -> sagas_pb2.StartSagaResponse:
        """Starts a saga, idempotently per id."""
        saga, created = await self._service.start(
            request.saga_id,
            definition_of(request.definition),
            _json(request.input),
            ctx.traceparent,
        )
        return sagas_pb2.StartSagaResponse(saga=saga_message(saga), created=created)

    async def GetSaga(
        self, request: sagas_pb2.GetSagaRequest, ctx: CallContext
    ) -> sagas_pb2.GetSagaResponse:
        """Returns a saga with its steps."""
        saga = await self._service.get(request.saga_id)
        return sagas_pb2.GetSagaResponse(saga=saga_message(saga))

    async def ListSagas(
        self, request: sagas_pb2.ListSagasRequest, ctx: CallContext
    ) -> sagas_pb2.ListSagasResponse:
        """Lists sagas newest first."""
        sagas, token = await self._service.list_sagas(
            _state_filter(request.state), request.page_size, request.page_token
        )
        return sagas_pb2.ListSagasResponse(
            sagas=[saga_message(s) for s in sagas], next_page_token=token
        )

    async def CancelSaga(
        self, request: sagas_pb2.CancelSagaRequest, ctx: CallContext
    ) -> sagas_pb2.CancelSagaResponse:
        """Cancels a running saga."""
        saga = await self._service.cancel(request.saga_id, request.reason)
        return sagas_pb2.CancelSagaResponse(saga=saga_message(saga))

    async def PollTasks(
        self, request: sagas_pb2.PollTasksRequest, ctx: CallContext
    ) -> sagas_pb2.PollTasksResponse:
        """Leases ready tasks, long-polling up to `wait_timeout`."""
        tasks = await self._service.poll_tasks(
            request.worker_id,
            list(request.task_types),
            request.max_tasks,
            _seconds(request.visibility_timeout),
            _seconds(request.wait_timeout),
        )
        return sagas_pb2.PollTasksResponse(tasks=[task_message(t) for t in tasks])

    async def HeartbeatTask(
        self, request: sagas_pb2.HeartbeatTaskRequest, ctx: CallContext
    ) -> sagas_pb2.HeartbeatTaskResponse:
        """Extends a held task's lease."""
        task = await self._service.heartbeat(
            request.task_id, request.worker_id, _seconds(request.visibility_timeout)
        )
        return sagas_pb2.HeartbeatTaskResponse(task=task_message(task))

    async def CompleteTask(
        self, request: sagas_pb2.CompleteTaskRequest, ctx: CallContext
    ) -> sagas_pb2.CompleteTaskResponse:
        """Completes a held task with its output."""
        saga = await self._service.complete(
            request.task_id, request.worker_id, _json(request.output)
        )
        return sagas_pb2.CompleteTaskResponse(saga=saga_message(saga))

    async def FailTask(
        self, request: sagas_pb2.FailTaskRequest, ctx: CallContext
    ) -> sagas_pb2.FailTaskResponse:
        """Fails a held task, retryably or not."""
        saga = await self._service.fail(
            request.task_id, request.worker_id, request.error_message, request.non_retryable
        )
        return sagas_pb2.FailTaskResponse(saga=saga_message(saga))


async def wire(settings: Settings, connections: Connections, clock: Clock) -> Wired:
    """Opens the saga store from `sagas_url` and builds the handlers and the runner."""
    store: SagaStore = await registry.open_backend(
        "sagas", settings.sagas_url, settings, connections
    )
    allowed = settings.saga_http_allowed_origins
    service = SagaService(store, clock, allowed_origins=allowed)
    caller = HttpStepCaller(CircuitBreakers(clock), allowed_origins=allowed)
    runner = SagaRunner(store, clock, caller, service.signals)
    return Wired(
        handlers=[SagaHandlers(service)],
        components=[runner],
        samplers=[sagas_by_state(store, clock)],
    )
