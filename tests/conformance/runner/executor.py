"""Runs one case in one language: resolves clients and inputs, calls the adapters, judges."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tests.conformance.runner.adapter import AdapterPool, AdapterProcess, adapter_error
from tests.conformance.runner.judging import (
    Judgement,
    check_elapsed,
    judge,
    judge_group,
    short,
)
from tests.conformance.runner.matchers import Unresolved
from tests.conformance.runner.model import (
    ADMIN,
    HELPER_PREFIX,
    PEER,
    RUNNER_PREFIX,
    Call,
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
    substitute_text,
)
from tests.conformance.runner.trap import CredentialTrap

DEFAULT_MAX_RETRIES = 2
WARM_UP_OP = "GetLiveness"  # public and side-effect free: readies a fresh adapter process
DEFAULT_TIMEOUT_MS = 10_000
HELPER_EXTRA_SECONDS = 120.0  # helper ops run a scenario (a hold, a worker), not one call
# A fresh adapter process may start slowly (a JVM, imports) on a loaded machine: its warm-up
# call gets this long before the process is given up.
WARM_UP_SECONDS = 240.0
# A reply and how long it took, as the runner saw it.
Timed = tuple[dict[str, Any], float]
__all__ = ["CaseExecutor", "Peers", "Target", "call_timeout", "judge", "redact"]


@dataclass(frozen=True)
class Target:
    """The server a case runs against."""

    base_url: str
    admin_key: str
    test_hooks: bool = True
    grpc_target: str = ""


@dataclass(frozen=True)
class Peers:
    """Where clients of other languages run: `pool(language)` gives the pool of a language of
    adapters.yaml, and `peer` is the language that `language: peer` means for this column."""

    pool: Callable[[str], AdapterPool]
    peer: str


class StepFailure(Exception):
    """Stops a case: a step failed or could not be run."""

    def __init__(self, raw: Raw, message: str) -> None:
        super().__init__(message)
        self.raw = raw
        self.message = message


def call_timeout(
    config: dict[str, Any], stream_ms: int, op: str = "", options: Mapping[str, Any] | None = None
) -> float:
    """How long the runner waits for an answer: every try, backoff room, the stream, a margin
    (and a scenario's length for helper ops). Per-call options override the client's."""
    merged = {**config, **{k: v for k, v in (options or {}).items() if v is not None}}
    tries = int(merged.get("max_retries", DEFAULT_MAX_RETRIES)) + 1
    per_try = int(merged.get("timeout_ms", DEFAULT_TIMEOUT_MS)) / 1000
    extra = HELPER_EXTRA_SECONDS if op.startswith(HELPER_PREFIX) else 0.0
    return tries * (per_try + 3.0) + stream_ms / 1000 + 10.0 + extra


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


@dataclass
class _Prepared:
    """A call line ready to send, with where it goes and how long to wait for it."""

    message: dict[str, Any]
    timeout: float
    pool: AdapterPool


class CaseExecutor:
    """One run of a case: its scope (isolation id, captures), clients and pending async calls."""

    def __init__(
        self, case: Case, target: Target, pool: AdapterPool, peers: Peers | None = None
    ) -> None:
        self.case = case
        self.target = target
        self.pool = pool
        self.peers = peers
        self.scope = Scope(
            new_run_id(), {"admin_key": target.admin_key, "base_url": target.base_url}
        )
        self.transcript: list[str] = []
        self._pending: dict[str, tuple[float, Future[Timed]]] = {}
        self._background: ThreadPoolExecutor | None = None
        self._main: dict[int, AdapterProcess] = {}  # id(pool) -> the adapter of plain steps
        self._spares: dict[int, list[AdapterProcess]] = {}  # id(pool) -> warmed-up adapters
        self._owners: dict[int, AdapterPool] = {}
        self._trap: CredentialTrap | None = None

    def run(self) -> CaseRun:
        """Runs every step in order; the first failing step ends the case."""
        started = time.monotonic()
        raw, message = Raw.PASSED, ""
        try:
            self._adapter(self.pool)
            if self.case.needs.credential_trap:
                self._trap = CredentialTrap()
                self.scope.capture("trap_url", self._trap.base_url)
            self._prepare_spares()
            for step in self.case.steps:
                self._run_step(step)
        except StepFailure as failure:
            raw, message = failure.raw, failure.message
        finally:
            self._drain()
            self._release_all()
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

    def _run_step(self, step: Step) -> None:
        if step.sleep_ms:
            time.sleep(step.sleep_ms / 1000)
        if step.op.startswith(RUNNER_PREFIX):
            reply = self._runner_op(step)
            self._record(f"<- runner {step.op}", reply)
            self._conclude(step, self._judge(step, (reply, 0.0)))
        elif step.group:
            self._run_group(step)
        elif step.await_id:
            timeout, future = self._pending.pop(step.await_id)
            timed = future.result(timeout=timeout + 5)
            self._record(f"<- await {step.await_id}", timed[0])
            self._conclude(step, self._judge(step, timed))
        elif step.async_id:
            prepared = self._prepare(step)
            opened = threading.Event()
            self._pending[step.async_id] = (prepared.timeout, self._submit(prepared, opened))
            if step.stream is not None and prepared.pool.spec.stream_open_notice:
                # the next steps may trigger what the stream should see: wait until it is open
                opened.wait(prepared.timeout)
        elif step.eventually is not None:
            self._eventually(step)
        else:
            prepared = self._prepare(step)
            timed = self._call(self._adapter(prepared.pool), prepared)
            self._conclude(step, self._judge(step, timed))

    def _eventually(self, step: Step) -> None:
        """Repeats the step until it passes or the time is up (an adapter error stops at once)."""
        assert step.eventually is not None
        deadline = time.monotonic() + step.eventually.timeout_ms / 1000
        attempt = 0
        while True:
            attempt += 1
            prepared = self._prepare(step, f"#{attempt}")
            verdict = self._judge(step, self._call(self._adapter(prepared.pool), prepared))
            if verdict.raw is not Raw.FAILED or time.monotonic() >= deadline:
                if verdict.raw is Raw.FAILED:
                    verdict.message = f"still failing after {attempt} tries: {verdict.message}"
                self._conclude(step, verdict)
                return
            time.sleep(step.eventually.interval_ms / 1000)

    def _run_group(self, step: Step) -> None:
        """Issues the group's calls at once, each on its own adapter process, and judges them
        together (docs/conformance.md, "Concurrent groups")."""
        assert step.group_expect is not None
        prepared = [self._prepare_call(step, call) for call in step.group]
        adapters = [self._spare(p.pool) for p in prepared]
        start = threading.Barrier(len(prepared))

        def one(k: int) -> Timed:
            # when a sibling cannot start, go anyway: the verdict shows it
            with contextlib.suppress(threading.BrokenBarrierError):
                start.wait(timeout=60)
            return self._call(adapters[k], prepared[k])

        try:
            with ThreadPoolExecutor(len(prepared), thread_name_prefix="group-call") as calls:
                timed = list(calls.map(one, range(len(prepared))))
        finally:
            for adapter, p in zip(adapters, prepared, strict=True):
                self._spares.setdefault(id(p.pool), []).append(adapter)
        labels = [f"call {c.index} ({c.client} {c.op})" for c in step.group]
        verdict = judge_group(step.group_expect, [t[0] for t in timed], labels, self._resolver())
        if verdict.raw is Raw.PASSED:
            slow = [
                f"{lb}: {why}"
                for lb, t in zip(labels, timed, strict=True)
                if (why := check_elapsed(step.elapsed, t[1]))
            ]
            if slow:
                verdict = Judgement(Raw.FAILED, "; ".join(slow), verdict.captures)
        self._conclude(step, verdict)

    def _resolver(self) -> Callable[[str, Mapping[str, Any]], Any]:
        """Resolves an expectation's `${…}` with the scope plus the step's captures so far."""

        def resolve(text: str, seen: Mapping[str, Any]) -> Any:
            try:
                return substitute_text(text, self.scope.overlay(seen))
            except SubstitutionError as exc:
                raise Unresolved(str(exc)) from exc

        return resolve

    def _judge(self, step: Step, timed: Timed) -> Judgement:
        """Judges a reply against the step's expectation (references resolved as matching
        reaches them), then its duration against the step's `elapsed` bounds."""
        reply, seconds = timed
        verdict = judge(step.expect.outcome, step.expect.value, reply, self._resolver())
        if verdict.raw is Raw.PASSED and (why := check_elapsed(step.elapsed, seconds)):
            return Judgement(Raw.FAILED, why, verdict.captures)
        return verdict

    def _conclude(self, step: Step, verdict: Judgement) -> None:
        for name, value in verdict.captures.items():
            self.scope.capture(name, value)
        if verdict.raw is not Raw.PASSED:
            note = f" [{step.note}]" if step.note else ""
            raise StepFailure(verdict.raw, f"{step.label}{note}: {verdict.message}")

    def _prepare(self, step: Step, suffix: str = "") -> _Prepared:
        """The call line of a plain (or async) step, with every reference resolved now."""
        call = Call(step.client, step.op, step.input, step.options)
        prepared = self._prepare_call(step, call, suffix, group=False)
        if step.stream is not None:
            prepared.message["stream"] = step.stream.to_wire()
            prepared.timeout += step.stream.timeout_ms / 1000
        return prepared

    def _prepare_call(
        self, step: Step, call: Call, suffix: str = "", *, group: bool = True
    ) -> _Prepared:
        """The call line of one call; in a group, `${i}` is the call's place in it."""
        scope = self.scope.overlay({"i": call.index}) if group else self.scope
        call_id = f"{self.case.case_id}/{step.index}" + (f".{call.index}" if group else suffix)
        try:
            config = self._client_config(call.client)
            pool = self._pool_of(call.client)
            message: dict[str, Any] = {
                "type": "call",
                "id": call_id,
                "client": call.client,
                "client_config": config,
                "op": call.op,
                "input": substitute(call.input, scope),
            }
            if call.options is not None:
                message["options"] = substitute(call.options, scope)
        except (SubstitutionError, LookupError) as exc:
            raise StepFailure(Raw.FAILED, f"{step.label}: {exc}") from exc
        timeout = call_timeout(config, 0, call.op, message.get("options"))
        return _Prepared(message, timeout, pool)

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
        spec.pop("language", None)
        if "api_key" in spec or "bearer_token" in spec:
            config["api_key"] = config["bearer_token"] = ""
        config.update(spec)
        config["headers"] = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
        return config

    def _pool_of(self, client: str) -> AdapterPool:
        """The adapters a client runs on: the column's, or another language's (`language:`)."""
        language = str(self.case.clients.get(client, {}).get("language") or "")
        if not language:
            return self.pool
        if self.peers is None:
            raise LookupError(f"client {client!r} needs language {language!r}: no peers here")
        return self.peers.pool(self.peers.peer if language == PEER else language)

    def _adapter(self, pool: AdapterPool) -> AdapterProcess:
        """The adapter process that runs this case's plain steps of one language."""
        if id(pool) not in self._main:
            self._owners[id(pool)] = pool
            # a fresh process starts up before the case's first call is timed
            self._main[id(pool)] = self._warm(pool.acquire())
        return self._main[id(pool)]

    def _call(
        self,
        adapter: AdapterProcess,
        prepared: _Prepared,
        on_notice: Callable[[str], None] | None = None,
    ) -> Timed:
        message = prepared.message
        language = adapter.spec.language
        tag = "" if adapter.spec is self.pool.spec else f" [{language}]"
        self._record(f"->{tag}", redact(message))
        started = time.monotonic()
        try:
            reply = adapter.call(message, prepared.timeout, on_notice)
        except Exception as exc:  # a broken pipe or a dead reader must not kill the worker
            reply = adapter_error(str(message["id"]), f"runner could not call adapter: {exc}")
        seconds = time.monotonic() - started
        self._record(f"<-{tag}", reply)
        return reply, seconds

    def _prepare_spares(self) -> None:
        """Takes the extra adapters the case needs before it starts, each warmed up with a
        GetLiveness call: one per `async` step, and enough for its largest concurrent group,
        so that background and concurrent calls start at once when their step comes."""
        wanted: dict[int, int] = {}
        most: dict[int, int] = {}
        for step in self.case.steps:
            if step.async_id:
                pool = self._pool_of(step.client)
                wanted[id(pool)] = wanted.get(id(pool), 0) + 1
                self._owners[id(pool)] = pool
            per_pool: dict[int, int] = {}
            for call in step.group:
                pool = self._pool_of(call.client)
                per_pool[id(pool)] = per_pool.get(id(pool), 0) + 1
                self._owners[id(pool)] = pool
            for key, count in per_pool.items():
                most[key] = max(most.get(key, 0), count)
        fresh = [
            (key, pool.acquire())
            for key, pool in self._owners.items()
            for _ in range(wanted.get(key, 0) + most.get(key, 0))
        ]
        if fresh:  # adapters start in parallel: a slow start-up is paid once, not per spare
            with ThreadPoolExecutor(len(fresh), thread_name_prefix="warm-up") as warming:
                warmed = list(warming.map(self._warm, [spare for _, spare in fresh]))
            for (key, _), spare in zip(fresh, warmed, strict=True):
                self._spares.setdefault(key, []).append(spare)

    def _warm(self, spare: AdapterProcess) -> AdapterProcess:
        """The process, after a GetLiveness call when it is fresh (its start-up is paid here)."""
        if spare.calls == 0:
            config = self._client_config(ADMIN)
            warm_up = {
                "type": "call",
                "id": f"{self.case.case_id}/warm-up",
                "client": ADMIN,
                "client_config": config,
                "op": WARM_UP_OP,
                "input": {},
            }
            spare.call(warm_up, WARM_UP_SECONDS)
        return spare

    def _spare(self, pool: AdapterPool) -> AdapterProcess:
        """A warmed-up adapter of the pool for a background or concurrent call."""
        self._owners[id(pool)] = pool
        spares = self._spares.get(id(pool)) or []
        while spares:
            spare = spares.pop()
            if spare.alive:
                return spare
        return self._warm(pool.acquire())

    def _submit(self, prepared: _Prepared, opened: threading.Event) -> Future[Timed]:
        """Runs a call on a spare adapter process so that later steps go on meanwhile; `opened`
        is set by the adapter's `stream_open` notice, or when the call ends."""
        if self._background is None:
            self._background = ThreadPoolExecutor(max_workers=8, thread_name_prefix="async-step")
        adapter = self._spare(prepared.pool)

        def notice(kind: str) -> None:
            if kind == "stream_open":
                opened.set()

        def run() -> Timed:
            try:
                return self._call(adapter, prepared, notice)
            finally:
                opened.set()
                prepared.pool.release(adapter)

        return self._background.submit(run)

    def _drain(self) -> None:
        """Waits for async calls a failed case left behind, so their adapters are free again."""
        if self._background is not None:
            self._background.shutdown(wait=True)
            self._background = None
        self._pending.clear()

    def _release_all(self) -> None:
        """Gives every adapter of the case back to its pool."""
        for key, adapter in self._main.items():
            self._owners[key].release(adapter)
        for key, spares in self._spares.items():
            for spare in spares:
                self._owners[key].release(spare)
        self._main.clear()
        self._spares.clear()

    def _record(self, arrow: str, value: Any) -> None:
        self.transcript.append(f"{arrow} {short(value)}")
