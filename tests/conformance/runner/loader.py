"""Reads case files (`cases/<domain>.yaml`) into Case objects, checking their shape strictly."""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import yaml

from tests.conformance.runner.model import (
    ADMIN,
    CALL_OPTION_KEYS,
    FEATURE_CALL_OPTIONS,
    FEATURE_CANCEL,
    FEATURE_HELPERS,
    FEATURES,
    HELPER_PREFIX,
    OUTCOME_CLIENT_ERROR,
    OUTCOME_ERROR,
    OUTCOME_OK,
    REQUIRE_CREDENTIAL_TRAP,
    REQUIRE_TEST_HOOKS,
    REQUIREMENTS,
    RUNNER_PREFIX,
    Call,
    Case,
    ConformanceError,
    Elapsed,
    Eventually,
    Expect,
    GroupExpect,
    ServerNeeds,
    Step,
    StreamSpec,
)

CASE_KEYS = {"name", "description", "clients", "steps", "requires", "skip_on", "only_on"}
STEP_KEYS = {
    "client",
    "op",
    "input",
    "stream",
    "sleep_ms",
    "expect",
    "async",
    "await",
    "eventually",
}
STEP_KEYS |= {"note", "options", "elapsed", "group"}
GROUP_STEP_KEYS = {"group", "expect", "sleep_ms", "elapsed", "note"}
CALL_KEYS = {"client", "op", "input", "options", "repeat"}
GROUP_EXPECT_KEYS = {"succeeded", "result", "error", "client_error", "distinct"}
CLIENT_KEYS = {"base_url", "api_key", "bearer_token", "max_retries", "timeout_ms", "headers"}
CLIENT_KEYS |= {"language"}
FILE_KEYS = {"server", "cases"}
# Ops an adapter answers beside the contract's RPCs (docs/conformance.md, "Helper operations"),
# and ops the runner answers itself.
HELPER_OPS = frozenset({"helper.HoldLock", "helper.RunWorker"})
RUNNER_OPS = frozenset({"runner.TrapReport"})
SERVER_KEYS = {"env", "test_hooks"}


class CaseFileError(ConformanceError):
    """A case file that does not follow docs/conformance.md."""


def _fail(where: str, message: str) -> CaseFileError:
    return CaseFileError(f"{where}: {message}")


def _mapping(value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, f"expected a mapping, got {type(value).__name__}")
    unknown = set(value) - allowed
    if unknown:
        raise _fail(where, f"unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    return value


def _int(value: Any, where: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(where, f"expected an integer >= {minimum}, got {value!r}")
    return value


def load_file(path: Path, known_ops: Collection[str] = ()) -> list[Case]:
    """The cases of one file; the domain is the file's stem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise _fail(str(path), f"not valid YAML: {exc}") from exc
    needs = ServerNeeds()
    if isinstance(data, dict):
        data = _mapping(data, str(path), FILE_KEYS)
        needs = _server_needs(data.get("server"), f"{path}: server")
        data = data.get("cases")
    if not isinstance(data, list) or not data:
        raise _fail(str(path), "expected a non-empty list of cases (or a mapping with `cases`)")
    cases = [_case(item, path, i, needs, known_ops) for i, item in enumerate(data)]
    names = [c.name for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise _fail(str(path), f"duplicate case names {duplicates}")
    return cases


def _server_needs(value: Any, where: str) -> ServerNeeds:
    if value is None:
        return ServerNeeds()
    data = _mapping(value, where, SERVER_KEYS)
    env = data.get("env") or {}
    if not isinstance(env, dict) or not all(isinstance(k, str) for k in env):
        raise _fail(where, "env must map variable names to values")
    pairs = tuple(sorted((k, _env_text(v)) for k, v in env.items()))
    return ServerNeeds(env=pairs, test_hooks=bool(data.get("test_hooks", False)))


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _case(
    item: Any, path: Path, index: int, needs: ServerNeeds, known_ops: Collection[str]
) -> Case:
    where = f"{path}: case #{index}"
    data = _mapping(item, where, CASE_KEYS)
    name = data.get("name")
    if not isinstance(name, str) or not name or "/" in name:
        raise _fail(where, "`name` must be a non-empty string without `/`")
    where = f"{path}: case {name!r}"
    clients = _clients(data.get("clients") or {}, where)
    requires = data.get("requires") or []
    if not isinstance(requires, list) or set(requires) - set(REQUIREMENTS):
        raise _fail(where, f"`requires` takes a list of: {', '.join(REQUIREMENTS)}")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise _fail(where, "`steps` must be a non-empty list")
    steps = tuple(_step(s, i, where, known_ops) for i, s in enumerate(raw_steps, 1))
    _check_flow(steps, set(clients) | {ADMIN}, where)
    _check_runner_ops(steps, set(requires), where)
    needs = dataclasses.replace(
        needs,
        test_hooks=needs.test_hooks or REQUIRE_TEST_HOOKS in requires,
        credential_trap=REQUIRE_CREDENTIAL_TRAP in requires,
    )
    features = {f for f in requires if f in FEATURES}
    if any(op.startswith(HELPER_PREFIX) for s in steps for op in s.ops()):
        features.add(FEATURE_HELPERS)
    options = [o for s in steps for o in (s.options, *(c.options for c in s.group)) if o]
    if options:
        features.add(FEATURE_CALL_OPTIONS)
    if any("cancel_after_ms" in o for o in options):
        features.add(FEATURE_CANCEL)
    return Case(
        domain=path.stem,
        name=name,
        steps=steps,
        clients=clients,
        needs=needs,
        description=str(data.get("description") or ""),
        source=str(path),
        skip_on=_skip_on(data.get("skip_on") or {}, where),
        only_on=_only_on(data.get("only_on"), where),
        features=frozenset(features),
    )


def _skip_on(value: Any, where: str) -> dict[str, str]:
    """`skip_on`: language -> the reason the case does not apply over its transport."""
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items()
    ):
        raise _fail(where, "`skip_on` maps language names to a non-empty reason")
    return dict(value)


def _only_on(value: Any, where: str) -> tuple[tuple[str, ...], str] | None:
    """`only_on: {languages: [...], reason: ...}`: the columns the case applies to, and why."""
    if value is None:
        return None
    data = _mapping(value, f"{where}: only_on", {"languages", "reason"})
    languages, reason = data.get("languages"), data.get("reason")
    if (
        not isinstance(languages, list)
        or not languages
        or not all(isinstance(x, str) and x for x in languages)
    ):
        raise _fail(where, "`only_on.languages` lists the languages the case applies to")
    if not isinstance(reason, str) or not reason.strip():
        raise _fail(where, "`only_on.reason` says why the case applies to them alone")
    return tuple(languages), reason


def _clients(value: Any, where: str) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        raise _fail(where, "`clients` must map client names to configs")
    out: dict[str, dict[str, Any]] = {}
    for name, config in value.items():
        if name == ADMIN:
            raise _fail(where, "`admin` is built in; name your client differently")
        out[str(name)] = dict(_mapping(config or {}, f"{where}: client {name!r}", CLIENT_KEYS))
    return out


def _step(item: Any, index: int, where: str, known_ops: Collection[str]) -> Step:
    where = f"{where}: step {index}"
    if isinstance(item, dict) and "group" in item:
        return _group_step(item, index, where, known_ops)
    data = _mapping(item, where, STEP_KEYS)
    await_id = str(data.get("await") or "")
    op = str(data.get("op") or "")
    if await_id and (op or "input" in data or "async" in data):
        raise _fail(where, "an `await` step names an earlier `async` step and has no op or input")
    if not await_id and not op:
        raise _fail(where, "a step needs `op` (or `await`)")
    if op and not _known(op, known_ops):
        raise _fail(where, f"unknown op {op!r}")
    if "async" in data and ("expect" in data or "elapsed" in data):
        raise _fail(where, "put the expectation of an `async` step on its `await` step")
    if await_id and "options" in data:
        raise _fail(where, "put the `options` of a call on its `async` step")
    return Step(
        index=index,
        client=str(data.get("client") or ADMIN),
        op=op,
        input=data.get("input") or {},
        expect=_expect(data.get("expect"), where),
        stream=_stream(data.get("stream"), where),
        sleep_ms=_int(data.get("sleep_ms", 0), f"{where}: sleep_ms"),
        async_id=str(data.get("async") or ""),
        await_id=await_id,
        eventually=_eventually(data.get("eventually"), where),
        note=str(data.get("note") or ""),
        options=_options(data.get("options"), where),
        elapsed=_elapsed(data.get("elapsed"), where),
    )


def _group_step(data: dict[str, Any], index: int, where: str, known_ops: Collection[str]) -> Step:
    """A concurrent group: `group` lists the calls (a call with `repeat: N` counts N times)."""
    _mapping(data, where, GROUP_STEP_KEYS)
    items = data["group"]
    if not isinstance(items, list) or not items:
        raise _fail(where, "`group` must be a non-empty list of calls")
    calls: list[Call] = []
    for number, item in enumerate(items, 1):
        spot = f"{where}: group call {number}"
        call = _mapping(item, spot, CALL_KEYS)
        op = str(call.get("op") or "")
        if not op or not _known(op, known_ops) or op.startswith(RUNNER_PREFIX):
            raise _fail(spot, f"a group call needs a known op of an adapter, got {op!r}")
        for _ in range(_int(call.get("repeat", 1), f"{spot}: repeat", 1)):
            calls.append(
                Call(
                    client=str(call.get("client") or ADMIN),
                    op=op,
                    input=call.get("input") or {},
                    options=_options(call.get("options"), spot),
                    index=len(calls),
                )
            )
    if len(calls) < 2:
        raise _fail(where, "a group needs at least two calls")
    return Step(
        index=index,
        client=ADMIN,
        op="",
        input={},
        expect=Expect(OUTCOME_OK, None),
        sleep_ms=_int(data.get("sleep_ms", 0), f"{where}: sleep_ms"),
        note=str(data.get("note") or ""),
        elapsed=_elapsed(data.get("elapsed"), where),
        group=tuple(calls),
        group_expect=_group_expect(data.get("expect"), len(calls), where),
    )


def _group_expect(value: Any, size: int, where: str) -> GroupExpect:
    """`expect` of a group: `succeeded`, `result`, `error` / `client_error`, `distinct`."""
    data = _mapping(value or {}, f"{where}: expect", GROUP_EXPECT_KEYS)
    succeeded = data.get("succeeded", "all")
    if not (succeeded == "all" or isinstance(succeeded, dict)):
        _int(succeeded, f"{where}: expect.succeeded (a count, `all` or a matcher)")
        if succeeded > size:
            raise _fail(where, f"expect.succeeded {succeeded} > the group's {size} calls")
    for key in ("error", OUTCOME_CLIENT_ERROR):
        if key in data and not isinstance(data[key], dict):
            raise _fail(where, f"`expect.{key}` must be an object")
    if "error" in data and OUTCOME_CLIENT_ERROR in data:
        raise _fail(where, "give `expect.error` or `expect.client_error`, not both")
    distinct = data.get("distinct") or []
    if not isinstance(distinct, list) or not all(isinstance(p, str) and p for p in distinct):
        raise _fail(where, "`expect.distinct` lists dotted paths into the results")
    return GroupExpect(
        succeeded=succeeded,
        result=data.get("result"),
        error=data.get("error"),
        client_error=data.get(OUTCOME_CLIENT_ERROR),
        distinct=tuple(distinct),
    )


def _options(value: Any, where: str) -> Any:
    """Per-call options: headers, idempotency_key, timeout_ms, max_retries, cancel_after_ms."""
    if value is None:
        return None
    data = _mapping(value, f"{where}: options", set(CALL_OPTION_KEYS))
    if "headers" in data and not isinstance(data["headers"], dict):
        raise _fail(where, "`options.headers` maps header names to values")
    for key in ("timeout_ms", "max_retries", "cancel_after_ms"):
        if key in data and not (isinstance(data[key], str) and "${" in data[key]):
            _int(data[key], f"{where}: options.{key}", 0 if key == "max_retries" else 1)
    return dict(data)


def _elapsed(value: Any, where: str) -> Elapsed | None:
    """`elapsed: {min_ms, max_ms}`: how long the call may take, as the runner sees it."""
    if value is None:
        return None
    data = _mapping(value, f"{where}: elapsed", {"min_ms", "max_ms"})
    if not data:
        raise _fail(where, "`elapsed` takes min_ms and/or max_ms")
    low = _int(data.get("min_ms", 0), f"{where}: elapsed.min_ms")
    high = data.get("max_ms")
    if high is not None and _int(high, f"{where}: elapsed.max_ms", max(low, 1)) < low:
        raise _fail(where, "elapsed.max_ms is below min_ms")
    return Elapsed(low, high)


def _known(op: str, known_ops: Collection[str]) -> bool:
    """Whether `op` is a contract RPC (when the list is known), a helper op or a runner op."""
    if op.startswith(HELPER_PREFIX):
        return op in HELPER_OPS
    if op.startswith(RUNNER_PREFIX):
        return op in RUNNER_OPS
    return not known_ops or op in known_ops


def _check_runner_ops(steps: tuple[Step, ...], requires: set[str], where: str) -> None:
    """Runner ops are plain steps (no async, stream or eventually) and need their facility."""
    for step in steps:
        if not step.op.startswith(RUNNER_PREFIX):
            continue
        if step.async_id or step.stream is not None or step.eventually is not None:
            raise _fail(where, f"step {step.index}: a runner op runs at once, in order")
        if REQUIRE_CREDENTIAL_TRAP not in requires:
            raise _fail(where, f"step {step.index}: {step.op} needs `requires: [credential_trap]`")


def _expect(value: Any, where: str) -> Expect:
    if value is None:
        return Expect(OUTCOME_OK, None)
    kinds = {"result", "error", OUTCOME_CLIENT_ERROR}
    data = _mapping(value, f"{where}: expect", kinds)
    if len(data) != 1:
        raise _fail(where, "`expect` takes exactly one of `result`, `error` or `client_error`")
    if "result" in data:
        return Expect(OUTCOME_OK, data["result"])
    if OUTCOME_CLIENT_ERROR in data:
        error = data[OUTCOME_CLIENT_ERROR]
        if not isinstance(error, dict) or "kind" not in error:
            raise _fail(where, "`expect.client_error` must be an object with at least `kind`")
        return Expect(OUTCOME_CLIENT_ERROR, error)
    error = data["error"]
    if not isinstance(error, dict) or "code" not in error:
        raise _fail(where, "`expect.error` must be an object with at least `code`")
    return Expect(OUTCOME_ERROR, error)


def _stream(value: Any, where: str) -> StreamSpec | None:
    if value is None:
        return None
    data = _mapping(value, f"{where}: stream", {"take", "timeout_ms"})
    take = _int(data.get("take", 1), f"{where}: stream.take", 1)
    return StreamSpec(take, _int(data.get("timeout_ms", 5000), f"{where}: stream.timeout_ms", 1))


def _eventually(value: Any, where: str) -> Eventually | None:
    if value is None:
        return None
    data = _mapping(value, f"{where}: eventually", {"timeout_ms", "interval_ms"})
    timeout = _int(data.get("timeout_ms", 5000), f"{where}: eventually.timeout_ms", 1)
    return Eventually(timeout, _int(data.get("interval_ms", 200), f"{where}: interval_ms", 1))


def _check_flow(steps: tuple[Step, ...], clients: set[str], where: str) -> None:
    """Clients exist, every `async` id is unique and awaited later, every `await` was started."""
    started: set[str] = set()
    for step in steps:
        for user in {step.client} | {c.client for c in step.group}:
            if user not in clients:
                raise _fail(where, f"step {step.index} uses unknown client {user!r}")
        if step.async_id:
            if step.async_id in started:
                raise _fail(where, f"async id {step.async_id!r} is used twice")
            if step.eventually is not None:
                raise _fail(where, f"step {step.index}: `async` and `eventually` do not mix")
            started.add(step.async_id)
        if step.await_id:
            if step.await_id not in started:
                raise _fail(where, f"step {step.index} awaits unknown async {step.await_id!r}")
            started.discard(step.await_id)
    if started:
        raise _fail(where, f"async step(s) never awaited: {sorted(started)}")


def load_cases(paths: Iterable[Path], known_ops: Collection[str] = ()) -> list[Case]:
    """The cases of every file, in file order."""
    cases: list[Case] = []
    for path in sorted(paths):
        cases += load_file(path, known_ops)
    return cases


def select(cases: list[Case], patterns: list[str]) -> list[Case]:
    """The cases whose id (`domain/name`) matches one of the glob patterns (all when none)."""
    if not patterns:
        return cases
    return [c for c in cases if any(fnmatch.fnmatchcase(c.case_id, p) for p in patterns)]
