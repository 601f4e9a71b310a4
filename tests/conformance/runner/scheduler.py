"""Runs the selected cases of one language: groups by server needs, workers in parallel."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tests.conformance.runner.adapter import AdapterPool, AdapterSpec
from tests.conformance.runner.executor import CaseExecutor, Target
from tests.conformance.runner.model import Case, CaseRun, ConformanceError, Raw
from tests.conformance.runner.server import ManagedServer, ServerOptions

_print_lock = threading.Lock()


@dataclass(frozen=True)
class Plan:
    """What to run for a language and where."""

    cases: Sequence[Case]
    base_url: str
    admin_key: str
    test_hooks: bool
    server_options: ServerOptions | None  # None: target an existing server only
    parallel: int = 1
    verbose: bool = False
    grpc_target: str = ""


def run_language(spec: AdapterSpec, plan: Plan) -> list[CaseRun]:
    """Every case's raw outcome for one language, in the order of `plan.cases`."""
    pool = AdapterPool(spec)
    try:
        problem = _probe(pool)
        if problem:
            return [CaseRun(c, Raw.ERROR, problem) for c in plan.cases]
        runs: dict[str, CaseRun] = {}
        for number, (env, cases) in enumerate(_groups(plan.cases).items()):
            label = f"{spec.language}-{number}"
            runs.update(_run_group(label, env, cases, pool, plan, language=spec.language))
        return [runs[c.case_id] for c in plan.cases]
    finally:
        pool.close()


def _probe(pool: AdapterPool) -> str:
    """Starts one adapter to fail fast with a clear message when it cannot start."""
    try:
        process = pool.acquire()
    except RuntimeError as exc:
        return str(exc)
    pool.release(process)
    return ""


def _groups(cases: Sequence[Case]) -> dict[tuple[tuple[str, str], ...], list[Case]]:
    """Cases by the extra server environment they need (the shared server: no extra env)."""
    groups: dict[tuple[tuple[str, str], ...], list[Case]] = {}
    for case in cases:
        groups.setdefault(case.needs.env, []).append(case)
    return groups


def _run_group(
    label: str,
    env: tuple[tuple[str, str], ...],
    cases: list[Case],
    pool: AdapterPool,
    plan: Plan,
    *,
    language: str,
) -> dict[str, CaseRun]:
    """Runs one group on the shared target or on a dedicated server started for it."""
    if not env:
        target = Target(plan.base_url, plan.admin_key, plan.test_hooks, plan.grpc_target)
        return _run_cases(label, cases, target, pool, plan, language=language)
    if plan.server_options is None:
        why = "needs a server started with " + " ".join(f"{k}={v}" for k, v in env)
        return {c.case_id: _skipped(c, why + " (use --start-server)") for c in cases}
    server = ManagedServer(plan.server_options, dict(env), label)
    try:
        base_url = server.start()
    except ConformanceError as exc:
        return {c.case_id: CaseRun(c, Raw.ERROR, f"dedicated server failed: {exc}") for c in cases}
    try:
        target = Target(base_url, plan.admin_key, True, server.grpc_target)
        return _run_cases(label, cases, target, pool, plan, language=language)
    finally:
        server.stop()


def _skipped(case: Case, why: str) -> CaseRun:
    return CaseRun(case, Raw.SKIPPED, why)


def _run_cases(
    label: str, cases: list[Case], target: Target, pool: AdapterPool, plan: Plan, *, language: str
) -> dict[str, CaseRun]:
    def one(case: Case) -> CaseRun:
        if language in case.skip_on:
            result = _skipped(case, f"does not apply to {language}: {case.skip_on[language]}")
        elif missing := pool.spec.missing(case.features):
            result = _skipped(case, f"the {pool.spec.language} adapter {missing}")
        elif case.needs.test_hooks and not target.test_hooks:
            result = _skipped(case, "needs a server with CONCORD_TEST_HOOKS=true")
        else:
            result = CaseExecutor(case, target, pool).run()
        if plan.verbose:
            with _print_lock:
                line = f"[{label}] {result.raw.value:7} {case.case_id} ({result.seconds:.2f}s)"
                print(line + (f": {result.message}" if result.message else ""), flush=True)
        return result

    with ThreadPoolExecutor(max_workers=plan.parallel, thread_name_prefix="case") as workers:
        return {r.case.case_id: r for r in workers.map(one, cases)}
