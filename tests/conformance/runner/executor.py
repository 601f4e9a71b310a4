"""Runs one case in one language: resolves clients and inputs, calls the adapter, judges."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tests.conformance.runner.adapter import AdapterPool, AdapterProcess, adapter_error
from tests.conformance.runner.matchers import match
from tests.conformance.runner.model import (
    ADMIN,
    HELPER_PREFIX,
    OUTCOME_CLIENT_ERROR,
    OUTCOME_ERROR,
    OUTCOME_OK,
    RUNNER_PREFIX,
    Case,
    CaseRun,
    Raw,
    Step,
)
from tests.conformance.runner.substitute import (
    Scope,
    SubstitutionError,
    new_run_id,
    substitute,
)
from tests.conformance.runner.trap import CredentialTrap

DEFAULT_MAX_RETRIES = 2
WARM_UP_OP = "GetLiveness"  # public and side-effect free: readies a fresh adapter process
DEFAULT_TIMEOUT_MS = 10_000
_NO_SUBSTITUTION = frozenset({"$capture"})
_TRANSCRIPT_LIMIT = 600
HELPER_EXTRA_SECONDS = 120.0  # helper ops run a scenario (a hold, a worker), not one call
# The adapter's reply outcome that each expectation outcome wants.
_WIRE_OUTCOME = {
    OUTCOME_OK: "ok",
    OUTCOME_ERROR: "api_error",
    OUTCOME_CLIENT_ERROR: "client_error",
}


@dataclass(frozen=True)
class Target:
    """The server a case runs against."""

    base_url: str
    admin_key: str
    test_hooks: bool = True
    grpc_target: str = ""


@dataclass
class Judgement:
    """The verdict of one step: passed, failed or an adapter error, with a message."""

    raw: Raw
    message: str = ""
    captures: dict[str, Any] = field(default_factory=dict)


class StepFailure(Exception):
    """Stops a case: a step failed or could not be run."""

    def __init__(self, raw: Raw, message: str) -> None:
        super().__init__(message)
        self.raw = raw
        self.message = message


def call_timeout(config: dict[str, Any], stream_ms: int, op: str = "") -> float:
    """How long the runner waits for an answer: every try, backoff room, the stream, a margin
    (and a scenario's length for helper ops)."""
    tries = int(config.get("max_retries", DEFAULT_MAX_RETRIES)) + 1
    per_try = int(config.get("timeout_ms", DEFAULT_TIMEOUT_MS)) / 1000
    extra = HELPER_EXTRA_SECONDS if op.startswith(HELPER_PREFIX) else 0.0
    return tries * (per_try + 3.0) + stream_ms / 1000 + 10.0 + extra


def judge(outcome_wanted: str, expected: Any, reply: dict[str, Any]) -> Judgement:
    """Compares an adapter's reply with an expectation (ok, error or client_error, resolved)."""
    wrong = _wrong_outcome(outcome_wanted, expected, reply)
    if wrong is not None:
        return wrong
    outcome = reply["outcome"]
    actual = reply.get("result" if outcome == "ok" else "error")
    if expected is None:
        return Judgement(Raw.PASSED)
    result = match(expected, actual, "result" if outcome == "ok" else "error")
    if not result.ok:
        return Judgement(Raw.FAILED, "; ".join(result.errors[:5]), result.captures)
    return Judgement(Raw.PASSED, captures=result.captures)


def _wrong_outcome(wanted: str, expected: Any, reply: dict[str, Any]) -> Judgement | None:
    """The verdict when the reply's outcome alone decides it (adapter error, ok vs error)."""
    outcome = reply.get("outcome")
    if outcome == "adapter_error":
        return Judgement(Raw.ERROR, f"adapter_error: {reply.get('message', '')}")
    if outcome not in _WIRE_OUTCOME.values():
        return Judgement(Raw.ERROR, f"malformed reply (outcome {outcome!r}): {_short(reply)}")
    if outcome == _WIRE_OUTCOME[wanted]:
        return None
    got = _short(reply.get("result" if outcome == "ok" else "error"))
    if wanted == OUTCOME_OK:
        return Judgement(Raw.FAILED, f"expected success, got {outcome} {got}")
    label = "code" if wanted == OUTCOME_ERROR else "kind"
    want = (expected or {}).get(label)
    return Judgement(Raw.FAILED, f"expected {wanted} {want}, got {outcome} {got}")


def redact(message: dict[str, Any]) -> dict[str, Any]:
    """A call line with credentials shortened, for transcripts and reports."""
    config = message.get("client_config")
    if not isinstance(config, dict):
        return message
    hidden = dict(config)
    for key in ("api_key", "bearer_token"):
        value = str(hidden.get(key) or "")
        if value:
            hidden[key] = f"...{value[-4:]}" if len(value) > 8 else "***"
    return {**message, "client_config": hidden}


def _short(value: Any, limit: int = _TRANSCRIPT_LIMIT) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class CaseExecutor:
    """One run of a case: its scope (isolation id, captures), clients and pending async calls."""

    def __init__(self, case: Case, target: Target, pool: AdapterPool) -> None:
        self.case = case
        self.target = target
        self.pool = pool
        self.scope = Scope(
            new_run_id(), {"admin_key": target.admin_key, "base_url": target.base_url}
        )
        self.transcript: list[str] = []
        self._pending: dict[str, tuple[Step, Future[dict[str, Any]]]] = {}
        self._background: ThreadPoolExecutor | None = None
        self._spares: list[AdapterProcess] = []
        self._trap: CredentialTrap | None = None

    def run(self) -> CaseRun:
        """Runs every step in order; the first failing step ends the case."""
        started = time.monotonic()
        adapter = self.pool.acquire()
        raw, message = Raw.PASSED, ""
        try:
            self._warm_up(adapter)
            if self.case.needs.credential_trap:
                self._trap = CredentialTrap()
                self.scope.capture("trap_url", self._trap.base_url)
            self._prepare_spares()
            for step in self.case.steps:
                self._run_step(step, adapter)
        except StepFailure as failure:
            raw, message = failure.raw, failure.message
        finally:
            self.pool.release(adapter)
            self._drain()
            for spare in self._spares:
                self.pool.release(spare)
            self._spares.clear()
            if self._trap is not None:
                self._trap.close()
        return CaseRun(
            case=self.case,
            raw=raw,
            message=message,
            seconds=time.monotonic() - started,
            run_id=self.scope.run_id,
            transcript=tuple(self.transcript),
        )

    def _run_step(self, step: Step, adapter: AdapterProcess) -> None:
        if step.sleep_ms:
            time.sleep(step.sleep_ms / 1000)
        if step.op.startswith(RUNNER_PREFIX):
            reply = self._runner_op(step)
            self._record(f"<- runner {step.op}", reply)
            self._conclude(step, self._judge(step, reply))
        elif step.await_id:
            started, future = self._pending.pop(step.await_id)
            config = self._client_config(started.client)
            timeout = call_timeout(config, _stream_ms(started), started.op) + 5
            reply = future.result(timeout=timeout)
            self._record(f"<- await {step.await_id}", reply)
            self._conclude(step, self._judge(step, reply))
        elif step.async_id:
            message, timeout = self._message(step)
            opened = threading.Event()
            self._pending[step.async_id] = (step, self._submit(message, timeout, opened))
            if step.stream is not None and self.pool.spec.stream_open_notice:
                # the next steps may trigger what the stream should see: wait until it is open
                opened.wait(timeout)
        elif step.eventually is not None:
            self._eventually(step, adapter)
        else:
            message, timeout = self._message(step)
            self._conclude(step, self._judge(step, self._call(adapter, message, timeout)))

    def _eventually(self, step: Step, adapter: AdapterProcess) -> None:
        """Repeats the step until it passes or the time is up (an adapter error stops at once)."""
        assert step.eventually is not None
        deadline = time.monotonic() + step.eventually.timeout_ms / 1000
        attempt = 0
        while True:
            attempt += 1
            message, timeout = self._message(step, f"#{attempt}")
            verdict = self._judge(step, self._call(adapter, message, timeout))
            if verdict.raw is not Raw.FAILED or time.monotonic() >= deadline:
                if verdict.raw is Raw.FAILED:
                    verdict.message = f"still failing after {attempt} tries: {verdict.message}"
                self._conclude(step, verdict)
                return
            time.sleep(step.eventually.interval_ms / 1000)

    def _judge(self, step: Step, reply: dict[str, Any]) -> Judgement:
        """Judges a reply against the step's expectation, resolved with the scope as it is now."""
        try:
            expected = substitute(step.expect.value, self.scope, skip_keys=_NO_SUBSTITUTION)
        except SubstitutionError as exc:
            return Judgement(Raw.FAILED, f"expectation: {exc}")
        return judge(step.expect.outcome, expected, reply)

    def _conclude(self, step: Step, verdict: Judgement) -> None:
        for name, value in verdict.captures.items():
            self.scope.capture(name, value)
        if verdict.raw is not Raw.PASSED:
            note = f" [{step.note}]" if step.note else ""
            raise StepFailure(verdict.raw, f"{step.label}{note}: {verdict.message}")

    def _message(self, step: Step, suffix: str = "") -> tuple[dict[str, Any], float]:
        """The call line of a step, with every reference resolved now."""
        try:
            config = self._client_config(step.client)
            message: dict[str, Any] = {
                "type": "call",
                "id": f"{self.case.case_id}/{step.index}{suffix}",
                "client": step.client,
                "client_config": config,
                "op": step.op,
                "input": substitute(step.input, self.scope),
            }
        except SubstitutionError as exc:
            raise StepFailure(Raw.FAILED, f"{step.label}: {exc}") from exc
        if step.stream is not None:
            message["stream"] = step.stream.to_wire()
        return message, call_timeout(config, _stream_ms(step), step.op)

    def _runner_op(self, step: Step) -> dict[str, Any]:
        """Answers an op of the runner itself (`runner.TrapReport`), like an adapter would."""
        call_id = f"{self.case.case_id}/{step.index}"
        if step.op == "runner.TrapReport" and self._trap is not None:
            return {"id": call_id, "outcome": "ok", "result": self._trap.report()}
        return adapter_error(call_id, f"the runner cannot answer {step.op} in this case")

    def _client_config(self, name: str) -> dict[str, Any]:
        """A named client's config: the admin's, overridden by the case's (resolved now)."""
        config: dict[str, Any] = {
            "base_url": self.target.base_url,
            "grpc_target": self.target.grpc_target,
            "api_key": self.target.admin_key,
            "bearer_token": "",
            "max_retries": DEFAULT_MAX_RETRIES,
            "timeout_ms": DEFAULT_TIMEOUT_MS,
            "headers": {},
        }
        if name == ADMIN:
            return config
        spec = substitute(self.case.clients[name], self.scope)
        if "api_key" in spec or "bearer_token" in spec:
            config["api_key"] = config["bearer_token"] = ""
        config.update(spec)
        config["headers"] = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
        return config

    def _call(
        self,
        adapter: AdapterProcess,
        message: dict[str, Any],
        timeout: float,
        on_notice: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        self._record("->", redact(message))
        try:
            reply = adapter.call(message, timeout, on_notice)
        except Exception as exc:  # a broken pipe or a dead reader must not kill the worker
            reply = adapter_error(str(message["id"]), f"runner could not call adapter: {exc}")
        self._record("<-", reply)
        return reply

    def _warm_up(self, adapter: AdapterProcess) -> None:
        """Readies a fresh adapter process with a GetLiveness call of the admin client, so that
        a case's first call does not also pay for the process's start (loading and compiling its
        SDK, its first round trip): seconds on a busy machine, more than the lease timings of
        the helper cases can absorb. The answer does not matter."""
        if adapter.calls:
            return
        config = self._client_config(ADMIN)
        warm_up = {
            "type": "call",
            "id": f"{self.case.case_id}/warm-up",
            "client": ADMIN,
            "client_config": config,
            "op": WARM_UP_OP,
            "input": {},
        }
        adapter.call(warm_up, call_timeout(config, 0))

    def _prepare_spares(self) -> None:
        """Takes one extra adapter per `async` step before the case starts, each warmed up, so
        that a background call starts at once when its step comes."""
        for step in self.case.steps:
            if step.async_id:
                spare = self.pool.acquire()
                self._warm_up(spare)
                self._spares.append(spare)

    def _submit(
        self, message: dict[str, Any], timeout: float, opened: threading.Event
    ) -> Future[dict[str, Any]]:
        """Runs a call on a spare adapter process so that later steps go on meanwhile; `opened`
        is set by the adapter's `stream_open` notice, or when the call ends."""
        if self._background is None:
            self._background = ThreadPoolExecutor(max_workers=8, thread_name_prefix="async-step")
        adapter = self._spares.pop() if self._spares else self.pool.acquire()

        def notice(kind: str) -> None:
            if kind == "stream_open":
                opened.set()

        def run() -> dict[str, Any]:
            try:
                return self._call(adapter, message, timeout, notice)
            finally:
                opened.set()
                self.pool.release(adapter)

        return self._background.submit(run)

    def _drain(self) -> None:
        """Waits for async calls a failed case left behind, so their adapters are free again."""
        if self._background is not None:
            self._background.shutdown(wait=True)
            self._background = None
        self._pending.clear()

    def _record(self, arrow: str, value: Any) -> None:
        self.transcript.append(f"{arrow} {_short(value)}")


def _stream_ms(step: Step) -> int:
    return step.stream.timeout_ms if step.stream is not None else 0
