"""`${…}` substitution: captured variables, the run id, per-run UUIDs, relative times and
expressions over them (`${pos + 1}`, `${upper(owner)}`; see expressions.py)."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conformance.runner.expressions import (
    FUNCTIONS,
    PLAIN_REFERENCE,
    ExpressionError,
    evaluate,
)

_REF = re.compile(r"\$\$\{|\$\{([^{}]+)\}")
_WHOLE = re.compile(r"^\$\{([^{}]+)\}$")
_OFFSET = re.compile(r"^(?P<sign>[+-])(?P<amount>\d+(?:\.\d+)?)(?P<unit>ms|s|m|h)$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|\b\d+(?:\.\d+)?(?:ms|s|m|h)?\b")
RUN_ID_LENGTH = 10


class SubstitutionError(Exception):
    """A `${…}` reference that cannot be resolved."""


def new_run_id() -> str:
    """A fresh isolation id: a letter then hex digits, valid in every name pattern."""
    return "r" + secrets.token_hex(RUN_ID_LENGTH // 2)


def rfc3339(moment: datetime) -> str:
    """A UTC timestamp in the contract's form, with milliseconds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Scope:
    """The variables of one case run: `run`, built-ins and everything `$capture`d so far."""

    def __init__(self, run_id: str, builtins: Mapping[str, Any] | None = None) -> None:
        self.run_id = run_id
        self.vars: dict[str, Any] = {"run": run_id, **(builtins or {})}
        self._uuids: dict[str, str] = {}

    def overlay(self, extra: Mapping[str, Any]) -> Scope:
        """A view of this scope with `extra` variables on top (the same per-run UUIDs)."""
        view = Scope(self.run_id)
        view.vars = {**self.vars, **extra}
        view._uuids = self._uuids
        return view

    def capture(self, name: str, value: Any) -> None:
        """Binds a variable for later steps."""
        self.vars[name] = value

    def lookup(self, expr: str) -> Any:
        """The value of one reference (`name`, `name.path.0`, `uuid:label`, `time:+5s`) or of
        an expression over references (`pos + 1`, `upper(owner)`)."""
        expr = expr.strip()
        if expr.startswith("uuid:"):
            return self._uuid(expr[5:])
        if expr.startswith("time:"):
            return _relative_time(expr[5:])
        if PLAIN_REFERENCE.match(expr):
            return self._variable(expr)
        try:
            return evaluate(expr, self._variable, {"uuid": lambda label: self._uuid(str(label))})
        except ExpressionError as exc:
            raise SubstitutionError(f"${{{expr}}}: {exc}") from exc

    def _variable(self, expr: str) -> Any:
        """A captured variable or a path into it."""
        head, *path = expr.split(".")
        if head not in self.vars:
            known = ", ".join(sorted(self.vars))
            raise SubstitutionError(f"${{{expr}}}: no variable {head!r} (known: {known})")
        return _walk(self.vars[head], path, expr)

    def _uuid(self, label: str) -> str:
        if label not in self._uuids:
            self._uuids[label] = str(uuid.uuid4())
        return self._uuids[label]


def _walk(value: Any, path: list[str], expr: str) -> Any:
    """Follows dotted keys and list indexes into a captured value."""
    for part in path:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise SubstitutionError(f"${{{expr}}}: {part!r} is not in the captured value")
    return value


def _relative_time(offset: str) -> str:
    """`now`, `+5s`, `-1.5m`, `+250ms` from now, as RFC 3339."""
    now = datetime.now(UTC)
    if offset == "now":
        return rfc3339(now)
    match = _OFFSET.match(offset)
    if match is None:
        raise SubstitutionError(f"${{time:{offset}}}: use now, +Ns, -Nm, +Nms or +Nh")
    seconds = float(match["amount"]) * _UNITS[match["unit"]]
    sign = -1 if match["sign"] == "-" else 1
    return rfc3339(now + timedelta(seconds=sign * seconds))


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def substitute_text(text: str, scope: Scope) -> Any:
    """A string with references replaced; exactly `${x}` keeps the value's JSON type."""
    whole = _WHOLE.match(text)
    if whole is not None:
        return scope.lookup(whole.group(1))

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        return _as_text(scope.lookup(match.group(1)))

    return _REF.sub(replace, text)


def substitute(value: Any, scope: Scope, *, skip_keys: frozenset[str] = frozenset()) -> Any:
    """A JSON-like value with every string substituted (object keys too, except `skip_keys`)."""
    if isinstance(value, str):
        return substitute_text(value, scope)
    if isinstance(value, list):
        return [substitute(v, scope, skip_keys=skip_keys) for v in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in skip_keys:
                out[key] = item
                continue
            new_key = substitute_text(key, scope) if isinstance(key, str) else key
            out[str(new_key)] = substitute(item, scope, skip_keys=skip_keys)
        return out
    return value


def references(value: Any) -> set[str]:
    """The variable names a value refers to (not `uuid:` / `time:` built-ins nor functions)."""
    found: set[str] = set()
    if isinstance(value, str):
        for match in _REF.finditer(value):
            expr = (match.group(1) or "").strip()
            if expr and not expr.startswith(("uuid:", "time:")):
                found |= _names(expr)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            found |= references(key) | references(item)
    return found


def _names(expr: str) -> set[str]:
    """The variables an expression reads: names (their head) that are not function calls."""
    names = set()
    for found in re.finditer(r"[A-Za-z_][A-Za-z0-9_.]*(?=\s*(\(?))", _QUOTED.sub("", expr)):
        if not found.group(1) or found.group(0) not in FUNCTIONS:
            names.add(found.group(0).split(".")[0])
    return names
