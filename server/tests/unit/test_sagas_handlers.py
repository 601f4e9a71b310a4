"""SagaService handlers called with real contract messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.protobuf import duration_pb2, struct_pb2
from google.protobuf.json_format import MessageToDict, ParseDict

from concord_server._gen.concord.v1 import sagas_pb2
from concord_server.api.handlers.sagas import SagaHandlers, wire
from concord_server.backends.connections import Connections
from concord_server.clock import ManualClock
from concord_server.config import Settings
from concord_server.context import CallContext
from concord_server.errors import ConcordError, ErrorCode
from tests.unit.test_sagas_domain import REJECTED, World

CTX = CallContext(request_id="t")


def value(obj: Any) -> struct_pb2.Value:
    """A Value from JSON."""
    v = struct_pb2.Value()
    ParseDict(obj, v)
    return v


def seconds(s: float) -> duration_pb2.Duration:
    """A Duration."""
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(s * 1e9))
    return d


def start_request(saga_id: str = "s1", **overrides: Any) -> sagas_pb2.StartSagaRequest:
    """A saga with an HTTP step (compensated) and a worker-task step."""
    body: dict[str, Any] = {
        "saga_id": saga_id,
        "definition": {
            "name": "checkout",
            "steps": [
                {
                    "name": "reserve",
                    "action": {"http": {"url": "http://svc/reserve", "headers": {"x-k": "v"}}},
                    "compensation": {"http": {"url": "http://svc/release", "method": "DELETE"}},
                    "retry": {"max_attempts": 4, "initial_backoff": "0.250s"},
                },
                {"name": "pay", "action": {"task": {"task_type": "payments.charge"}}},
            ],
        },
        "input": {"cart": [1, 2]},
    }
    body.update(overrides)
    return ParseDict(body, sagas_pb2.StartSagaRequest())


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def handlers(world: World) -> SagaHandlers:
    return SagaHandlers(world.service)


async def expect_error(code: ErrorCode, call: object) -> ConcordError:
    """Awaits a call that must fail with this code."""
    with pytest.raises(ConcordError) as err:
        await call  # type: ignore[misc]
    assert err.value.code is code
    return err.value


async def test_start_returns_the_saga_as_given_and_is_idempotent(handlers: SagaHandlers) -> None:
    response = await handlers.StartSaga(start_request(), CTX)
    assert response.created
    saga = MessageToDict(response.saga, preserving_proto_field_name=True)
    assert saga["state"] == "SAGA_STATE_RUNNING" and saga["input"] == {"cart": [1.0, 2.0]}
    reserve = saga["definition"]["steps"][0]
    assert reserve["action"]["http"]["headers"] == {"x-k": "v"}
    assert reserve["compensation"]["http"]["method"] == "DELETE"
    assert reserve["retry"]["max_attempts"] == 4 and reserve["retry"]["initial_backoff"] == "0.250s"
    assert [s["state"] for s in saga["steps"]] == ["STEP_STATE_PENDING"] * 2
    again = await handlers.StartSaga(start_request(), CTX)
    assert not again.created and again.saga.created_at == response.saga.created_at
    await expect_error(
        ErrorCode.ALREADY_EXISTS, handlers.StartSaga(start_request(input={"cart": []}), CTX)
    )


async def test_semantic_rules_answer_invalid_argument(handlers: SagaHandlers) -> None:
    twice = start_request()
    twice.definition.steps[1].name = "reserve"
    err = await expect_error(ErrorCode.INVALID_ARGUMENT, handlers.StartSaga(twice, CTX))
    assert err.details["field"] == "definition.steps[1].name"
    steep = start_request()
    steep.definition.steps[0].retry.backoff_multiplier = 11
    await expect_error(ErrorCode.INVALID_ARGUMENT, handlers.StartSaga(steep, CTX))
    no_target = start_request()
    no_target.definition.steps[1].action.Clear()
    await expect_error(ErrorCode.INVALID_ARGUMENT, handlers.StartSaga(no_target, CTX))


async def test_a_saga_runs_through_http_and_task_steps(
    world: World, handlers: SagaHandlers
) -> None:
    await handlers.StartSaga(start_request(), CTX)
    await world.run()
    poll = sagas_pb2.PollTasksRequest(
        worker_id="w1", task_types=["payments.charge"], visibility_timeout=seconds(20)
    )
    [task] = (await handlers.PollTasks(poll, CTX)).tasks
    assert task.step_name == "pay" and task.phase == sagas_pb2.STEP_PHASE_ACTION
    assert task.attempt == 1 and task.worker_id == "w1" and task.task_type == "payments.charge"
    assert MessageToDict(task.outputs) == {"reserve": {"url": "http://svc/reserve"}}
    assert MessageToDict(task.input) == {"cart": [1.0, 2.0]}
    assert task.lease_expires_at.ToDatetime().timestamp() > 0
    beat = sagas_pb2.HeartbeatTaskRequest(task_id=task.task_id, worker_id="w1")
    renewed = (await handlers.HeartbeatTask(beat, CTX)).task
    assert renewed.task_id == task.task_id
    done = sagas_pb2.CompleteTaskRequest(task_id=task.task_id, worker_id="w1", output=value(5))
    saga = (await handlers.CompleteTask(done, CTX)).saga
    assert saga.steps[1].state == sagas_pb2.STEP_STATE_SUCCEEDED
    assert saga.steps[1].output.number_value == 5
    await world.run()
    got = (await handlers.GetSaga(sagas_pb2.GetSagaRequest(saga_id="s1"), CTX)).saga
    assert got.state == sagas_pb2.SAGA_STATE_COMPLETED
    history = [(e.phase, e.type, e.attempt) for e in got.steps[0].history]
    assert history == [
        (sagas_pb2.STEP_PHASE_ACTION, sagas_pb2.STEP_EVENT_TYPE_STARTED, 1),
        (sagas_pb2.STEP_PHASE_ACTION, sagas_pb2.STEP_EVENT_TYPE_SUCCEEDED, 1),
    ]


async def test_fail_task_non_retryable_compensates(world: World, handlers: SagaHandlers) -> None:
    await handlers.StartSaga(start_request(), CTX)
    await world.run()
    poll = sagas_pb2.PollTasksRequest(worker_id="w1", task_types=["payments.charge"])
    [task] = (await handlers.PollTasks(poll, CTX)).tasks
    lost = sagas_pb2.FailTaskRequest(task_id=task.task_id, worker_id="w2", error_message="x")
    await expect_error(ErrorCode.TASK_LEASE_LOST, handlers.FailTask(lost, CTX))
    fail = sagas_pb2.FailTaskRequest(
        task_id=task.task_id, worker_id="w1", error_message="declined", non_retryable=True
    )
    saga = (await handlers.FailTask(fail, CTX)).saga
    assert saga.state == sagas_pb2.SAGA_STATE_COMPENSATING
    assert saga.steps[1].error == "declined" and not saga.steps[1].HasField("output")
    await world.run()
    got = (await handlers.GetSaga(sagas_pb2.GetSagaRequest(saga_id="s1"), CTX)).saga
    assert got.state == sagas_pb2.SAGA_STATE_COMPENSATED
    assert world.caller.urls()[-1] == "http://svc/release"


async def test_cancel_and_list(world: World, handlers: SagaHandlers) -> None:
    world.caller.script("http://svc/reserve", REJECTED)
    await handlers.StartSaga(start_request("a"), CTX)
    await world.run()
    await handlers.StartSaga(start_request("b"), CTX)
    await handlers.StartSaga(start_request("c"), CTX)
    cancel = sagas_pb2.CancelSagaRequest(saga_id="c", reason="nope")
    cancelled = (await handlers.CancelSaga(cancel, CTX)).saga
    assert cancelled.state == sagas_pb2.SAGA_STATE_COMPENSATING and cancelled.cancel_requested
    assert cancelled.error == "nope"
    page = await handlers.ListSagas(sagas_pb2.ListSagasRequest(page_size=2), CTX)
    assert [s.saga_id for s in page.sagas] == ["c", "b"] and page.next_page_token
    rest = await handlers.ListSagas(
        sagas_pb2.ListSagasRequest(page_size=2, page_token=page.next_page_token), CTX
    )
    assert [s.saga_id for s in rest.sagas] == ["a"] and rest.next_page_token == ""
    only = await handlers.ListSagas(
        sagas_pb2.ListSagasRequest(state=sagas_pb2.SAGA_STATE_COMPENSATED), CTX
    )
    assert [s.saga_id for s in only.sagas] == ["a"]
    await expect_error(
        ErrorCode.NOT_FOUND, handlers.GetSaga(sagas_pb2.GetSagaRequest(saga_id="zz"), CTX)
    )


async def test_cancel_of_a_completed_saga_is_invalid_state(
    world: World, handlers: SagaHandlers
) -> None:
    request = start_request()
    del request.definition.steps[1]
    await handlers.StartSaga(request, CTX)
    await world.run()
    await expect_error(
        ErrorCode.INVALID_STATE,
        handlers.CancelSaga(sagas_pb2.CancelSagaRequest(saga_id="s1"), CTX),
    )


@pytest.mark.parametrize("url", ["memory://", "sqlite://"])
async def test_wire_builds_the_handlers_and_a_runner(
    tmp_path: Path, connections: Connections, url: str
) -> None:
    settings = Settings(data_dir=tmp_path, sagas_url=url)
    wired = await wire(settings, connections, ManualClock())
    [handlers] = wired.handlers
    [runner] = wired.components
    assert isinstance(handlers, SagaHandlers) and handlers.SERVICE == "concord.v1.SagaService"
    assert runner.name == "sagas" and runner.backend == url.removesuffix("://")
    await runner.start()
    await runner.check()
    await runner.stop()


async def test_an_unknown_state_filter_is_invalid(handlers: SagaHandlers) -> None:
    request = sagas_pb2.ListSagasRequest()
    request.state = 99  # type: ignore[assignment]
    await expect_error(ErrorCode.INVALID_ARGUMENT, handlers.ListSagas(request, CTX))
