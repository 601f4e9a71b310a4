"""Command line of the conformance runner: pick cases, servers and languages; run; report."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.conformance.runner import coverage, known_failing, loader, report
from tests.conformance.runner.adapter import AdapterSpec, PoolSet
from tests.conformance.runner.model import FEATURES, Case, ConformanceError, Verdict
from tests.conformance.runner.scheduler import Plan, run_language
from tests.conformance.runner.server import STORAGES, ManagedServer, ServerOptions

ROOT = Path(__file__).resolve().parents[3]
SUITE = ROOT / "tests" / "conformance"


def build_parser() -> argparse.ArgumentParser:
    """The runner's options."""
    p = argparse.ArgumentParser(
        prog="python -m tests.conformance.runner",
        description="Run Concord's conformance cases through SDK adapters against a live server.",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--server-url", help="target a running server (REST base URL)")
    where.add_argument("--start-server", action="store_true", help="start servers for the run")
    p.add_argument(
        "--server-grpc",
        default="",
        help="with --server-url: the running server's gRPC target (host:port)",
    )
    p.add_argument(
        "--admin-key", help="bootstrap admin API key (default: $CONCORD_BOOTSTRAP_ADMIN_KEY)"
    )
    p.add_argument("--no-test-hooks", action="store_true", help="target lacks CONCORD_TEST_HOOKS")
    p.add_argument("--storage", choices=STORAGES, default="embedded", help="with --start-server")
    p.add_argument("--server-python", help="interpreter that runs concord_server")
    p.add_argument("--lang", default="rest", help="comma-separated languages of adapters.yaml")
    p.add_argument(
        "--peer",
        default="",
        help="the language `language: peer` clients use (default: the next of --lang, or rest)",
    )
    p.add_argument("--adapters", type=Path, default=SUITE / "adapters.yaml")
    p.add_argument("--cases", action="append", default=[], help="glob on case ids, e.g. 'locks/*'")
    p.add_argument("--cases-dir", type=Path, default=SUITE / "cases")
    p.add_argument("--known-failing-dir", type=Path, default=SUITE / "known-failing")
    p.add_argument("--openapi", type=Path, default=ROOT / "spec" / "openapi" / "openapi.yaml")
    p.add_argument("--junit-dir", type=Path, help="write conformance-<lang>.xml here")
    p.add_argument(
        "--log-dir",
        type=Path,
        help="adapter and server logs (default: a new folder per run under .scratch/conformance)",
    )
    p.add_argument("--matrix", action="store_true", help="print the case x language matrix")
    p.add_argument("--parallel", type=int, default=1, help="cases run at once per language")
    p.add_argument("--coverage", action="store_true", help="print which operations cases use")
    p.add_argument("--require-coverage", action="store_true", help="fail when an op is unused")
    p.add_argument("--list", action="store_true", help="list the selected cases and exit")
    p.add_argument("-v", "--verbose", action="store_true", help="print every verdict")
    return p


@dataclass
class Settings:
    """Parsed options plus what follows from them."""

    args: argparse.Namespace
    cases: list[Case]
    languages: list[str]
    admin_key: str
    log_dir: Path


def new_log_dir() -> Path:
    """A fresh folder for this run's logs: `.scratch/conformance/logs/<time>-<pid>`."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = ROOT / ".scratch" / "conformance" / "logs" / f"{stamp}-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def load_adapters(path: Path, languages: Sequence[str], log_dir: Path) -> dict[str, AdapterSpec]:
    """The adapter command of every requested language (relative paths from the repo root)."""
    try:
        table = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConformanceError(f"cannot read {path}: {exc}") from exc
    specs: dict[str, AdapterSpec] = {}
    for language in languages:
        entry = table.get(language)
        command: Any = entry
        lacks: Any = {}
        notice = False
        if isinstance(entry, dict):
            command, lacks = entry.get("command"), entry.get("lacks") or {}
            notice = bool(entry.get("stream_open_notice", False))
        if not isinstance(command, list) or not command:
            raise ConformanceError(f"{path} has no command for language {language!r}")
        if not isinstance(lacks, dict) or set(lacks) - set(FEATURES):
            raise ConformanceError(
                f"{path}: {language}.lacks maps features ({', '.join(FEATURES)}) to reasons"
            )
        pairs = tuple(sorted((str(k), str(v)) for k, v in lacks.items()))
        specs[language] = AdapterSpec(
            language, tuple(str(c) for c in command), ROOT, log_dir, pairs, notice
        )
    return specs


def peer_of(language: str, languages: Sequence[str], chosen: str = "") -> str:
    """The language a column's `language: peer` clients run on: `--peer`, else the next
    language of the run (cyclically), else the REST reference adapter."""
    if chosen:
        return chosen
    others = [x for x in languages if x != language]
    if not others:
        return "rest"
    at = languages.index(language) if language in languages else -1
    return next((x for x in [*languages[at + 1 :], *languages] if x != language), others[0])


def _all_languages(path: Path) -> list[str]:
    """Every language of adapters.yaml."""
    try:
        table = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConformanceError(f"cannot read {path}: {exc}") from exc
    return [str(k) for k in table] if isinstance(table, dict) else []


def _settings(args: argparse.Namespace) -> Settings:
    ops = coverage.contract_ops(args.openapi)
    every = loader.load_cases(args.cases_dir.glob("*.yaml"), ops)
    patterns = [p for item in args.cases for p in item.split(",") if p]
    cases = loader.select(every, patterns)
    if not cases:
        raise ConformanceError(f"no case matches {patterns}")
    key = args.admin_key or os.environ.get("CONCORD_BOOTSTRAP_ADMIN_KEY", "")
    if not key:
        key = "conformance-" + secrets.token_hex(12) if args.start_server else "dev-admin-key"
    log_dir = args.log_dir or new_log_dir()
    languages = [x.strip() for x in args.lang.split(",") if x.strip()]
    return Settings(args, cases, languages, key, log_dir)


def _coverage(settings: Settings) -> bool:
    """Prints coverage when asked; False when --require-coverage finds unused ops."""
    args = settings.args
    ops = coverage.contract_ops(args.openapi)
    text, unused = coverage.report(ops, coverage.usage(settings.cases))
    if args.coverage or args.require_coverage or args.list:
        print(text)
    return not (args.require_coverage and unused)


def _server_options(settings: Settings) -> ServerOptions:
    venv_python = ROOT / ".venv" / "bin" / "python"
    python = settings.args.server_python or (
        str(venv_python) if venv_python.exists() else sys.executable
    )
    return ServerOptions(python, settings.args.storage, settings.admin_key, settings.log_dir)


def run(settings: Settings) -> dict[str, list[Verdict]]:
    """Runs every language; the shared server (when started) serves all of them."""
    args = settings.args
    specs = load_adapters(args.adapters, settings.languages, settings.log_dir)
    every = load_adapters(args.adapters, _all_languages(args.adapters), settings.log_dir)
    pools = PoolSet({**every, **specs})
    shared: ManagedServer | None = None
    base_url = args.server_url or ""
    grpc_target = args.server_grpc
    if args.start_server and any(not c.needs.dedicated for c in settings.cases):
        shared = ManagedServer(_server_options(settings), {}, "shared")
        base_url = shared.start()
        grpc_target = shared.grpc_target
        print(f"server: {base_url} ({args.storage} storage), logs in {settings.log_dir}")
    try:
        results: dict[str, list[Verdict]] = {}
        for language, spec in specs.items():
            plan = Plan(
                cases=settings.cases,
                base_url=base_url,
                grpc_target=grpc_target,
                admin_key=settings.admin_key,
                test_hooks=args.start_server or not args.no_test_hooks,
                server_options=_server_options(settings) if args.start_server else None,
                parallel=max(1, args.parallel),
                verbose=args.verbose,
                peer=peer_of(language, settings.languages, args.peer),
            )
            runs = run_language(spec, plan, pools)
            pools.close()  # a column's adapters stop when it is done (peers start again on use)
            entries = known_failing.load(args.known_failing_dir, language)
            results[language] = [known_failing.verdict(r, entries) for r in runs]
            _warn_unused(language, entries, settings.cases)
        return results
    finally:
        pools.close()
        if shared is not None:
            shared.stop()


def _warn_unused(
    language: str, entries: list[known_failing.KnownFailure], cases: list[Case]
) -> None:
    for entry in known_failing.unused(entries, [c.case_id for c in cases]):
        print(
            f"warning: known-failing/{language}.txt:{entry.line}: {entry.pattern!r} matches no case"
        )


def _report(settings: Settings, results: dict[str, list[Verdict]]) -> bool:
    """Writes JUnit files, prints the matrix and summaries; True when nothing failed."""
    ok = True
    if settings.args.matrix:
        print(report.matrix(results))
    for language, verdicts in results.items():
        if settings.args.junit_dir is not None:
            path = report.write_junit(settings.args.junit_dir, language, verdicts)
            print(f"junit: {path}")
        print(report.summary(language, verdicts))
        lines = report.problems(verdicts)
        for line in lines:
            print(line)
        ok = ok and not lines
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; the exit status is 0 only when every verdict is acceptable."""
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
        covered = _coverage(settings)
        if args.list:
            for case in settings.cases:
                print(case.case_id)
            return 0 if covered else 1
        if args.server_grpc and not args.server_url:
            print("error: --server-grpc goes with --server-url", file=sys.stderr)
            return 2
        if not args.server_url and not args.start_server:
            print("error: give --server-url URL or --start-server", file=sys.stderr)
            return 2
        results = run(settings)
        ok = _report(settings, results)
    except ConformanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not covered:
        print("error: --require-coverage: some operations are used by no case (see above)")
    return 0 if ok and covered else 1
