"""Runs the selected cases of one language: groups by server needs, workers in parallel."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tests.conformance.runner.adapter import AdapterPool, AdapterSpec, PoolSet
from tests.conformance.runner.executor import CaseExecutor, Peers, Target
from tests.conformance.runner.model import PEER, Case, CaseRun, ConformanceError, Raw
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
    peer: str = ""  # the language `language: peer` clients run on (empty: the column's own)


def run_language(spec: AdapterSpec, plan: Plan, pools: PoolSet | None = None) -> list[CaseRun]:
    """Every case's raw outcome for one language, in the order of `plan.cases`; `pools` holds
    the adapters of every language of the run (the column's own and its peers)."""
    own = pools is None
    pools = pools if pools is not None else PoolSet({spec.language: spec})
    try:
        pool = pools.get(spec.language)
        problem = _probe(pool)
        if problem:
            return [CaseRun(c, Raw.ERROR, problem) for c in plan.cases]
        peers = Peers(pools.get, plan.peer or spec.language)
        runs: dict[str, CaseRun] = {}
        for number, (env, cases) in enumerate(_groups(plan.cases).items()):
            label = f"{spec.language}-{number}"
            runs.update(_run_group(label, env, cases, (pool, peers), plan))
        return [runs[c.case_id] for c in plan.cases]
    finally:
        if own:
            pools.close()


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
    adapters: tuple[AdapterPool, Peers],
    plan: Plan,
) -> dict[str, CaseRun]:
    """Runs one group on the shared target or on a dedicated server started for it."""
    if not env:
        target = Target(plan.base_url, plan.admin_key, plan.test_hooks, plan.grpc_target)
        return _run_cases(label, cases, target, adapters, plan)
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
        return _run_cases(label, cases, target, adapters, plan)
    finally:
        server.stop()


def _skipped(case: Case, why: str) -> CaseRun:
    return CaseRun(case, Raw.SKIPPED, why)


def _unfit(case: Case, pool: AdapterPool, peers: Peers) -> str:
    """Why the case cannot run on this column's adapter or its peers' (empty when it can)."""
    for language in [pool.spec.language, *sorted(case.peer_languages)]:
        name = peers.peer if language == PEER else language
        try:
            spec = peers.pool(name).spec
        except LookupError as exc:
            raise ConformanceError(f"{case.case_id}: {exc}") from exc
        if missing := spec.missing(case.features):
            role = "" if language == pool.spec.language else " (a client's language)"
            return f"the {spec.language} adapter{role} {missing}"
    return ""


def _precheck(case: Case, target: Target, pool: AdapterPool, peers: Peers) -> CaseRun | None:
    """The verdict of a case that does not run here (skipped, or broken); None: run it."""
    language = pool.spec.language
    if language in case.skip_on:
        return _skipped(case, f"does not apply to {language}: {case.skip_on[language]}")
    if case.only_on is not None and language not in case.only_on[0]:
        return _skipped(case, f"applies only to {', '.join(case.only_on[0])}: {case.only_on[1]}")
    try:
        unfit = _unfit(case, pool, peers)
    except ConformanceError as exc:
        return CaseRun(case, Raw.ERROR, str(exc))
    if unfit:
        return _skipped(case, unfit)
    if case.needs.test_hooks and not target.test_hooks:
        return _skipped(case, "needs a server with CONCORD_TEST_HOOKS=true")
    return None


def _run_cases(
    label: str,
    cases: list[Case],
    target: Target,
    adapters: tuple[AdapterPool, Peers],
    plan: Plan,
) -> dict[str, CaseRun]:
    pool, peers = adapters

    def one(case: Case) -> CaseRun:
        result = _precheck(case, target, pool, peers)
        if result is None:
            result = CaseExecutor(case, target, pool, peers).run()
        if plan.verbose:
            with _print_lock:
                line = f"[{label}] {result.raw.value:7} {case.case_id} ({result.seconds:.2f}s)"
                print(line + (f": {result.message}" if result.message else ""), flush=True)
        return result

    with ThreadPoolExecutor(max_workers=plan.parallel, thread_name_prefix="case") as workers:
        return {r.case.case_id: r for r in workers.map(one, cases)}
