"""Which operations of the contract the cases exercise; the op list comes from the OpenAPI doc."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import yaml

from tests.conformance.runner.model import Case, ConformanceError

HTTP_VERBS = ("get", "put", "post", "delete", "patch")


def contract_ops(openapi: Path) -> dict[str, str]:
    """RPC name -> service of every operation, from `x-concord-rpc: concord.v1.X/Rpc`."""
    try:
        document = yaml.safe_load(openapi.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConformanceError(
            f"cannot read the contract's operations from {openapi}: {exc}"
        ) from exc
    ops: dict[str, str] = {}
    for item in (document.get("paths") or {}).values():
        for verb in HTTP_VERBS:
            operation = item.get(verb)
            if isinstance(operation, dict) and "x-concord-rpc" in operation:
                service, _, name = str(operation["x-concord-rpc"]).rpartition("/")
                ops[name] = service.rpartition(".")[2]
    if not ops:
        raise ConformanceError(f"{openapi} names no operation (x-concord-rpc)")
    return ops


def usage(cases: Iterable[Case]) -> Counter[str]:
    """How many cases call each op."""
    counts: Counter[str] = Counter()
    for case in cases:
        counts.update(case.ops())
    return counts


def report(ops: dict[str, str], counts: Counter[str]) -> tuple[str, list[str]]:
    """A table of ops by service with their case counts, and the ops no case uses."""
    unused = sorted(op for op in ops if counts[op] == 0)
    lines = [f"coverage: {len(ops) - len(unused)}/{len(ops)} operations used by the cases"]
    for service in sorted(set(ops.values())):
        names = sorted(op for op, s in ops.items() if s == service)
        cells = ", ".join(f"{op}={counts[op]}" for op in names)
        lines.append(f"  {service}: {cells}")
    if unused:
        lines.append(f"  NOT COVERED: {', '.join(unused)}")
    return "\n".join(lines), unused
