"""Saga rules with the memory store, a scripted step caller and a manual clock."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from concord_server.backends.memory.sagas import MemorySagaStore
from concord_server.clock import ManualClock
from concord_server.domain.saga_machine import backoff_delay
from concord_server.domain.saga_runner import SagaRunner
from concord_server.domain.sagas import SagaService, decode_page_token, origin_allowed, same_json
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.sagas import (
    CallOutcome,
    HttpTarget,
    RetryPolicy,
    SagaDefinition,
    SagaRecord,
    SagaState,
    StepDefinition,
    StepState,
    StepTarget,
)

OK = CallOutcome(ok=True, output={"done": True})
DOWN = CallOutcome(ok=False, message="HTTP 503", retryable=True)
REJECTED = CallOutcome(ok=False, message="HTTP 400: no", retryable=False)
SLOW = CallOutcome(ok=False, message="no answer within 30s", retryable=True, timed_out=True)


class FakeCaller:
    """A StepCaller whose answers are scripted per URL (the last answer repeats)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.scripts: dict[str, list[CallOutcome]] = {}
        self.closed = False

    def script(self, url: str, *outcomes: CallOutcome) -> None:
        """Answers for a URL, in order."""
        self.scripts[url] = list(outcomes)

    async def call(
        self, target: HttpTarget, body: dict[str, Any], time_limit: float
    ) -> CallOutcome:
        """Records the call and answers from the script (OK when none)."""
        self.calls.append((target.url, body))
        script = self.scripts.get(target.url, [])
        if not script:
            return CallOutcome(ok=True, output={"url": target.url})
        return script.pop(0) if len(script) > 1 else script[0]

    async def close(self) -> None:
        """Marks the caller closed."""
        self.closed = True

    def urls(self) -> list[str]:
        """The called URLs, in order."""
        return [url for url, _ in self.calls]


def http(url: str) -> StepTarget:
    """An HTTP target."""
    return StepTarget(http=HttpTarget(url))


def step(name: str, compensate: bool = True, **retry: Any) -> StepDefinition:
    """An HTTP step at http://svc/<name> with a compensation at http://svc/<name>/undo."""
    undo = http(f"http://svc/{name}/undo") if compensate else None
    return StepDefinition(name, http(f"http://svc/{name}"), undo, RetryPolicy(**retry))


def definition(*steps: StepDefinition) -> SagaDefinition:
    """A definition named `order`."""
    return SagaDefinition("order", tuple(steps))


@dataclass
class World:
    """A service and runner over one memory store."""

    clock: ManualClock = field(default_factory=ManualClock)
    store: MemorySagaStore = field(default_factory=MemorySagaStore)
    caller: FakeCaller = field(default_factory=FakeCaller)

    def __post_init__(self) -> None:
        self.service = SagaService(self.store, self.clock, rng=random.Random(1))
        self.runner = SagaRunner(
            self.store, self.clock, self.caller, self.service.signals, rng=random.Random(2)
        )

    async def run(self) -> None:
        """Runs every due transition."""
        await self.runner.run_until_idle()

    async def saga(self, saga_id: str = "s1") -> SagaRecord:
        """The saga as stored."""
        return await self.service.get(saga_id)


@pytest.fixture
def world() -> World:
    return World()


def events(saga: SagaRecord, index: int) -> list[tuple[str, str, int]]:
    """A step's history as (phase, type, attempt)."""
    return [(e.phase.value, e.type.value, e.attempt) for e in saga.steps[index].history]


async def test_start_creates_a_running_saga_with_pending_steps(world: World) -> None:
    saga, created = await world.service.start("s1", definition(step("a"), step("b")), {"n": 1})
    assert created and saga.state is SagaState.RUNNING and saga.version == 1
    assert [s.state for s in saga.steps] == [StepState.PENDING, StepState.PENDING]
    assert saga.created_at == world.clock.now()


async def test_start_again_with_equal_definition_and_input_returns_the_same_saga(
    world: World,
) -> None:
    first, _ = await world.service.start("s1", definition(step("a")), {"n": 1, "ok": True})
    again, created = await world.service.start("s1", definition(step("a")), {"ok": True, "n": 1})
    assert not created and again.saga_id == first.saga_id and again.seq == first.seq


@pytest.mark.parametrize(
    ("other_definition", "other_input"),
    [
        (definition(step("a"), step("b")), {"n": 1}),
        (definition(step("a", max_attempts=5)), {"n": 1}),
        (definition(step("a")), {"n": 2}),
        (definition(step("a")), {"n": True}),
    ],
)
async def test_start_again_with_another_definition_or_input_is_already_exists(
    world: World, other_definition: SagaDefinition, other_input: Any
) -> None:
    await world.service.start("s1", definition(step("a")), {"n": 1})
    with pytest.raises(ConcordError) as err:
        await world.service.start("s1", other_definition, other_input)
    assert err.value.code is ErrorCode.ALREADY_EXISTS


async def test_duplicate_step_names_are_invalid(world: World) -> None:
    with pytest.raises(ConcordError) as err:
        await world.service.start("s1", definition(step("a"), step("a")), None)
    assert err.value.code is ErrorCode.INVALID_ARGUMENT
    assert err.value.details["field"] == "definition.steps[1].name"


@pytest.mark.parametrize("multiplier", [0.5, 10.5, -1.0, float("nan")])
async def test_backoff_multiplier_outside_1_to_10_is_invalid(
    world: World, multiplier: float
) -> None:
    with pytest.raises(ConcordError) as err:
        await world.service.start("s1", definition(step("a", backoff_multiplier=multiplier)), None)
    assert err.value.code is ErrorCode.INVALID_ARGUMENT


@pytest.mark.parametrize("multiplier", [0.0, 1.0, 10.0])
async def test_backoff_multiplier_bounds_and_zero_are_accepted(
    world: World, multiplier: float
) -> None:
    _, created = await world.service.start(
        "s1", definition(step("a", backoff_multiplier=multiplier)), None
    )
    assert created


async def test_a_step_without_target_is_invalid(world: World) -> None:
    empty = StepDefinition("a", StepTarget())
    with pytest.raises(ConcordError) as err:
        await world.service.start("s1", definition(empty), None)
    assert err.value.code is ErrorCode.INVALID_ARGUMENT


def test_retry_policy_zero_fields_take_the_defaults() -> None:
    assert RetryPolicy().resolved() == RetryPolicy(3, 1.0, 60.0, 2.0, 30.0)
    given = RetryPolicy(5, 0.1, 2.0, 3.0, 4.0)
    assert given.resolved() == given


def test_backoff_grows_exponentially_up_to_the_cap_with_jitter() -> None:
    policy = RetryPolicy(10, 1.0, 5.0, 2.0, 30.0)
    rng = random.Random(3)
    for attempt, full in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        delays = {backoff_delay(policy, attempt, rng) for _ in range(50)}
        assert all(full / 2 <= d <= full for d in delays)
        assert len(delays) > 1  # jittered


async def test_steps_run_in_order_and_each_sees_the_earlier_outputs(world: World) -> None:
    await world.service.start("s1", definition(step("a"), step("b"), step("c")), {"order": 7})
    await world.run()
    saga = await world.saga()
    assert saga.state is SagaState.COMPLETED
    assert world.caller.urls() == ["http://svc/a", "http://svc/b", "http://svc/c"]
    body = world.caller.calls[2][1]
    assert body == {
        "saga_id": "s1",
        "step": "c",
        "phase": "ACTION",
        "attempt": 1,
        "input": {"order": 7},
        "outputs": {"a": {"url": "http://svc/a"}, "b": {"url": "http://svc/b"}},
    }
    assert [s.state for s in saga.steps] == [StepState.SUCCEEDED] * 3
    assert events(saga, 0) == [("ACTION", "STARTED", 1), ("ACTION", "SUCCEEDED", 1)]
    assert saga.steps[0].output == {"url": "http://svc/a"} and saga.next_run_at is None
    assert saga.locked_by == "" and saga.locked_until is None


async def test_a_retryable_failure_is_retried_after_the_backoff(world: World) -> None:
    world.caller.script("http://svc/a", DOWN, OK)
    await world.service.start("s1", definition(step("a", initial_backoff=2.0)), None)
    await world.run()
    saga = await world.saga()
    assert saga.state is SagaState.RUNNING and saga.steps[0].state is StepState.RUNNING
    assert events(saga, 0) == [
        ("ACTION", "STARTED", 1),
        ("ACTION", "FAILED", 1),
        ("ACTION", "RETRY_SCHEDULED", 2),
    ]
    assert saga.next_run_at is not None
    wait = (saga.next_run_at - world.clock.now()).total_seconds()
    assert 1.0 <= wait <= 2.0
    world.clock.advance(wait - 0.01)
    await world.run()
    assert len(world.caller.calls) == 1  # not before the backoff
    world.clock.advance(0.02)
    await world.run()
    saga = await world.saga()
    assert saga.state is SagaState.COMPLETED and saga.steps[0].attempts == 2
    assert world.caller.calls[1][1]["attempt"] == 2


async def test_timeouts_are_recorded_as_timed_out_and_retried(world: World) -> None:
    world.caller.script("http://svc/a", SLOW, OK)
    await world.service.start("s1", definition(step("a")), None)
    await world.run()
    world.clock.advance(60)
    await world.run()
    saga = await world.saga()
    assert saga.state is SagaState.COMPLETED
    assert ("ACTION", "TIMED_OUT", 1) in events(saga, 0)


async def test_exhausted_retries_compensate_completed_steps_in_reverse(world: World) -> None:
    world.caller.script("http://svc/c", DOWN)
    steps = (step("a"), step("b", compensate=False), step("c", max_attempts=2), step("d"))
    await world.service.start("s1", definition(*steps), None)
    for _ in range(5):
        await world.run()
        world.clock.advance(120)
    saga = await world.saga()
    assert saga.state is SagaState.COMPENSATED
    assert world.caller.urls() == [
        "http://svc/a",
        "http://svc/b",
        "http://svc/c",
        "http://svc/c",
        "http://svc/a/undo",
    ]
    assert [s.state for s in saga.steps] == [
        StepState.COMPENSATED,
        StepState.COMPENSATED,  # no compensation: counts as compensated
        StepState.FAILED,
        StepState.PENDING,
    ]
    assert saga.steps[2].attempts == 2 and "gave up after 2 attempts" in saga.error
    assert saga.error.startswith("step 'c' failed: HTTP 503")
    undo = world.caller.calls[-1][1]
    assert undo["phase"] == "COMPENSATION" and undo["outputs"]["a"] == {"url": "http://svc/a"}
    assert events(saga, 0)[-2:] == [
        ("COMPENSATION", "STARTED", 1),
        ("COMPENSATION", "SUCCEEDED", 1),
    ]


async def test_a_4xx_fails_the_step_at_once(world: World) -> None:
    world.caller.script("http://svc/b", REJECTED)
    await world.service.start("s1", definition(step("a"), step("b", max_attempts=5)), None)
    await world.run()
    saga = await world.saga()
    assert saga.state is SagaState.COMPENSATED
    assert saga.steps[1].attempts == 1 and saga.steps[1].error == "HTTP 400: no"
    assert world.caller.urls() == ["http://svc/a", "http://svc/b", "http://svc/a/undo"]


async def test_a_compensation_failing_for_good_fails_the_saga(world: World) -> None:
    world.caller.script("http://svc/c", REJECTED)
    world.caller.script("http://svc/b/undo", REJECTED)
    await world.service.start("s1", definition(step("a"), step("b"), step("c")), None)
    await world.run()
    saga = await world.saga()
    assert saga.state is SagaState.FAILED
    assert [s.state for s in saga.steps] == [
        StepState.SUCCEEDED,
        StepState.COMPENSATION_FAILED,
        StepState.FAILED,
    ]
    assert "http://svc/a/undo" not in world.caller.urls()
    assert saga.error.startswith("compensation of step 'b' failed")


async def test_a_retryable_compensation_failure_is_retried(world: World) -> None:
    world.caller.script("http://svc/b", REJECTED)
    world.caller.script("http://svc/a/undo", DOWN, OK)
    await world.service.start("s1", definition(step("a"), step("b")), None)
    await world.run()
    world.clock.advance(5)
    await world.run()
    saga = await world.saga()
    assert saga.state is SagaState.COMPENSATED and saga.steps[0].compensation_attempts == 2
    assert ("COMPENSATION", "RETRY_SCHEDULED", 2) in events(saga, 0)


async def test_cancel_stops_actions_and_compensates_completed_steps(world: World) -> None:
    world.caller.script("http://svc/b", DOWN)
    await world.service.start("s1", definition(step("a"), step("b"), step("c")), None)
    await world.run()  # a succeeded, b waits for a retry
    saga = await world.service.cancel("s1", "customer changed their mind")
    assert saga.state is SagaState.COMPENSATING and saga.cancel_requested
    assert saga.error == "customer changed their mind"
    world.clock.advance(120)
    await world.run()
    saga = await world.saga()
    assert saga.state is SagaState.COMPENSATED
    assert world.caller.urls() == ["http://svc/a", "http://svc/b", "http://svc/a/undo"]
    assert saga.steps[1].state is StepState.FAILED and saga.steps[2].state is StepState.PENDING


async def test_cancel_of_compensating_or_compensated_sagas_changes_nothing(world: World) -> None:
    await world.service.start("s1", definition(step("a"), step("b")), None)
    first = await world.service.cancel("s1", "first")
    again = await world.service.cancel("s1", "second")
    assert again.version == first.version and again.error == "first"
    await world.run()
    done = await world.saga()
    assert done.state is SagaState.COMPENSATED
    assert (await world.service.cancel("s1", "third")).version == done.version


@pytest.mark.parametrize("finished", [SagaState.COMPLETED, SagaState.FAILED])
async def test_cancel_of_a_finished_saga_is_invalid_state(
    world: World, finished: SagaState
) -> None:
    if finished is SagaState.FAILED:
        world.caller.script("http://svc/b", REJECTED)
        world.caller.script("http://svc/a/undo", REJECTED)
    await world.service.start("s1", definition(step("a"), step("b")), None)
    await world.run()
    assert (await world.saga()).state is finished
    with pytest.raises(ConcordError) as err:
        await world.service.cancel("s1", "")
    assert err.value.code is ErrorCode.INVALID_STATE


async def test_unknown_sagas_are_not_found(world: World) -> None:
    for call in (world.service.get("nope"), world.service.cancel("nope", "")):
        with pytest.raises(ConcordError) as err:
            await call
        assert err.value.code is ErrorCode.NOT_FOUND


async def test_list_is_newest_first_with_pages_and_a_state_filter(world: World) -> None:
    world.caller.script("http://svc/a", REJECTED)
    for n in range(5):
        await world.service.start(f"s{n}", definition(step("b")), None)
    await world.run()
    await world.service.start("s5", definition(step("a")), None)
    page, token = await world.service.list_sagas(None, 2, "")
    assert [s.saga_id for s in page] == ["s5", "s4"] and token
    page, token = await world.service.list_sagas(None, 2, token)
    assert [s.saga_id for s in page] == ["s3", "s2"]
    page, token = await world.service.list_sagas(None, 2, token)
    assert [s.saga_id for s in page] == ["s1", "s0"] and token == ""
    running, _ = await world.service.list_sagas(SagaState.RUNNING, 0, "")
    assert [s.saga_id for s in running] == ["s5"]
    completed, _ = await world.service.list_sagas(SagaState.COMPLETED, 0, "")
    assert len(completed) == 5


async def test_a_foreign_page_token_is_invalid() -> None:
    for token in ("not-a-token", "czEyYQ", "!!"):
        with pytest.raises(ConcordError) as err:
            decode_page_token(None, token)
        assert err.value.code is ErrorCode.INVALID_ARGUMENT


def test_same_json_tells_booleans_from_numbers() -> None:
    assert same_json({"a": [1, 2.0, None]}, {"a": [1.0, 2, None]})
    assert not same_json({"a": 1}, {"a": True})
    assert not same_json([0], [None])
    assert not same_json({"a": 1}, {"a": 1, "b": 2})


@pytest.mark.parametrize("bad", [float("nan"), {"x": [float("inf")]}])
async def test_input_must_be_plain_json(world: World, bad: Any) -> None:
    with pytest.raises(ConcordError) as err:
        await world.service.start("s1", definition(step("a")), bad)
    assert err.value.code is ErrorCode.INVALID_ARGUMENT and err.value.details["field"] == "input"


async def test_saga_ids_cannot_hold_the_task_id_separator(world: World) -> None:
    with pytest.raises(ConcordError) as err:
        await world.service.start("a~b", definition(step("a")), None)
    assert err.value.code is ErrorCode.INVALID_ARGUMENT


async def test_http_steps_outside_the_allowed_origins_are_refused() -> None:
    service = SagaService(
        MemorySagaStore(), ManualClock(), allowed_origins=("https://*.payments.example:443",)
    )
    good = StepDefinition("pay", http("https://api.payments.example/charge"), None, RetryPolicy())
    created, _ = await service.start("s-ok", definition(good), None)
    assert created.saga_id == "s-ok"
    for url in (
        "http://169.254.169.254/latest",
        "https://api.payments.example:8443/x",
        "http://svc:99999/",
    ):
        bad = StepDefinition("pay", http(url), None, RetryPolicy())
        with pytest.raises(ConcordError) as refused:
            await service.start("s-bad", definition(bad), None)
        assert refused.value.code == ErrorCode.INVALID_ARGUMENT
        assert refused.value.details["reason"] == "target_not_allowed"
        assert refused.value.details["field"] == "definition.steps[0].action.http.url"


def test_origin_allowed_defaults_to_any_and_matches_wildcards() -> None:
    assert origin_allowed("http://anything:1234/x", ("*",))
    assert origin_allowed("https://a.example/x", ("https://a.example:443",))
    assert not origin_allowed("https://a.example/x", ("http://a.example:80",))
    assert not origin_allowed("http://h:notaport/", ("*",))
