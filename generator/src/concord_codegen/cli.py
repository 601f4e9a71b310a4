"""Command line: `concord-gen generate | check | ir`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from concord_codegen import GENERATOR_NAME, __version__
from concord_codegen.config import Config, RootNotFoundError, find_root
from concord_codegen.diagnostics import Diagnostics
from concord_codegen.ir.serialize import api_to_data
from concord_codegen.pipeline import Generator, Outcome
from concord_codegen.targets import Target, discover

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser(target_names: Sequence[str]) -> argparse.ArgumentParser:
    """The argument parser; `--target` choices come from the target registry."""
    parser = argparse.ArgumentParser(prog=GENERATOR_NAME, description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="list the files written and removed"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="write every generated file")
    generate.add_argument("--target", choices=[*target_names, "all"], default="all")
    commands.add_parser("check", help="fail if generated files differ from the spec")
    commands.add_parser("ir", help="print the IR as JSON")
    for command in commands.choices.values():
        command.add_argument("--root", type=Path, help="repository root (default: found upwards)")
        command.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the process exit code."""
    registry = discover()
    args = build_parser(list(registry)).parse_args(argv)
    try:
        config = Config(root=(args.root or find_root(Path.cwd())).resolve())
    except RootNotFoundError as exc:
        print(f"{GENERATOR_NAME}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    targets = _select(registry, getattr(args, "target", "all"))
    generator = Generator(config, targets, list(registry.values()))
    if args.command == "generate":
        return _generate(generator, verbose=args.verbose)
    if args.command == "check":
        return _check(generator)
    return _ir(generator)


def _select(registry: dict[str, Target], name: str) -> list[Target]:
    return list(registry.values()) if name == "all" else [registry[name]]


def _generate(generator: Generator, *, verbose: bool) -> int:
    outcome = generator.generate()
    print_diagnostics(outcome.diagnostics)
    if not outcome.ok:
        return EXIT_FAILED
    _print_files(outcome, verbose=verbose)
    return EXIT_OK


def _check(generator: Generator) -> int:
    outcome, report = generator.check()
    print_diagnostics(outcome.diagnostics)
    if not outcome.ok:
        return EXIT_FAILED
    if not report.ok:
        print("generated files are out of date; run `concord-gen generate`:\n", file=sys.stderr)
        print(report.summary(), file=sys.stderr)
        return EXIT_FAILED
    print(f"{len(outcome.files)} generated files match the spec")
    return EXIT_OK


def _ir(generator: Generator) -> int:
    outcome = generator.build()
    print_diagnostics(outcome.diagnostics)
    if outcome.api is None:
        return EXIT_FAILED
    json.dump(api_to_data(outcome.api), sys.stdout, indent=2)
    print()
    return EXIT_OK if outcome.ok else EXIT_FAILED


def print_diagnostics(diagnostics: Diagnostics, out: TextIO | None = None) -> None:
    """Print every diagnostic (sorted by place) and a count line to stderr."""
    stream = out or sys.stderr
    for diagnostic in diagnostics.sorted():
        print(diagnostic, file=stream)
    if len(diagnostics):
        errors, warnings = len(diagnostics.errors), len(diagnostics.warnings)
        print(f"{errors} error(s), {warnings} warning(s)", file=stream)


def _print_files(outcome: Outcome, *, verbose: bool) -> None:
    if verbose:
        for path in outcome.written:
            print(f"wrote {path}")
        for path in outcome.removed:
            print(f"removed {path}")
    print(
        f"{len(outcome.files)} generated files and the manifest: "
        f"{len(outcome.written)} written, {len(outcome.removed)} removed"
    )
