"""Matching an expected value (with `$` matchers) against an actual JSON value.

Objects match as subsets unless `$exact: true`; arrays match item by item; scalars by value.
An absent or null field matches an expected proto default (`false`, `0`, `""`, `[]`, `{}`).
Two strings that are both RFC 3339 timestamps (or both contract durations) compare as instants
(durations), not as text. `${…}` references in the expectation are resolved as matching goes,
so a value `$capture`d earlier in the same expectation (document order) can be used later.
Matching is pure: it returns the mismatches and the `$capture`d values, and the caller binds them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.conformance.runner.instants import comparable

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<absent>"})()
TYPES = ("string", "integer", "number", "boolean", "object", "array", "null")
OPERATORS = frozenset(
    {
        "$type", "$gt", "$gte", "$lt", "$lte", "$eq", "$ne", "$regex", "$any", "$absent",
        "$missing", "$len", "$contains", "$capture", "$not", "$one_of", "$exact",
    }
)  # fmt: skip
# Resolves the `${…}` of one expected string, seeing the captures made so far.
Resolve = Callable[[str, Mapping[str, Any]], Any]


class Unresolved(Exception):
    """A `${…}` reference in an expectation that cannot be resolved (raised by a Resolve)."""


@dataclass
class Match:
    """The mismatches found (empty: a match) and the values captured on the way."""

    errors: list[str] = field(default_factory=list)
    captures: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether everything matched."""
        return not self.errors

    def add(self, other: Match) -> None:
        """Merges another result into this one."""
        self.errors += other.errors
        self.captures.update(other.captures)


@dataclass(frozen=True)
class _Env:
    """How to resolve references (None: the expectation is literal) and what was captured."""

    resolve: Resolve | None = None
    seen: Mapping[str, Any] = field(default_factory=dict)

    def plus(self, captures: Mapping[str, Any]) -> _Env:
        return _Env(self.resolve, {**self.seen, **captures}) if captures else self

    def text(self, value: str) -> Any:
        """A string with its references resolved (as is when literal)."""
        if self.resolve is None or "${" not in value:
            return value
        return self.resolve(value, self.seen)

    def deep(self, value: Any) -> Any:
        """A value with every string resolved (an operator's argument)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.deep(v) for v in value]
        if isinstance(value, dict):
            return {str(self.text(k)): self.deep(v) for k, v in value.items()}
        return value


def match(expected: Any, actual: Any, path: str = "$", resolve: Resolve | None = None) -> Match:
    """Matches `actual` against `expected`; `path` names the place in messages; `resolve`
    substitutes `${…}` in expected strings as they are reached."""
    return _match(expected, actual, path, _Env(resolve))


def _match(expected: Any, actual: Any, path: str, env: _Env) -> Match:
    if isinstance(expected, str) and env.resolve is not None and "${" in expected:
        try:
            expected = env.text(expected)
        except Unresolved as exc:
            return Match([f"{path}: {exc}"])
        env = _Env()  # a resolved value is literal: it is not resolved again
    if isinstance(expected, dict):
        return _match_object(expected, actual, path, env)
    if _is_default(expected) and (actual is MISSING or actual is None):
        return Match()
    if isinstance(expected, list):
        return _match_list(expected, actual, path, env)
    if same_scalar(expected, actual):
        return Match()
    return Match([f"{path}: expected {_show(expected)}, got {_show(actual)}"])


def _is_default(value: Any) -> bool:
    if isinstance(value, str | list | dict):
        return not value
    return value is False or _is_zero(value)


def _is_zero(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


def same_scalar(expected: Any, actual: Any) -> bool:
    """JSON equality that tells booleans from numbers, treats null as absent and compares
    timestamps (durations) as instants (spans)."""
    if expected is None:
        return actual is None or actual is MISSING
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if _is_number(expected) and _is_number(actual):
        return bool(expected == actual)
    if isinstance(expected, str) and isinstance(actual, str):
        meant = _times(expected, actual)
        return meant[0] == meant[1] if meant else expected == actual
    if isinstance(expected, list | dict) and type(expected) is type(actual):
        return _same_container(expected, actual)
    return type(expected) is type(actual) and bool(expected == actual)


def _same_container(expected: list[Any] | dict[str, Any], actual: Any) -> bool:
    """Arrays item by item, objects key by key (exactly the same keys), with same_scalar."""
    if isinstance(expected, list):
        return len(expected) == len(actual) and all(
            same_scalar(e, a) for e, a in zip(expected, actual, strict=True)
        )
    return expected.keys() == actual.keys() and all(
        same_scalar(expected[k], actual[k]) for k in expected
    )


def _times(first: str, second: str) -> tuple[Any, Any] | None:
    """Both strings as instants (or both as durations); None when they are not."""
    one, two = comparable(first), comparable(second)
    if one is None or two is None or type(one) is not type(two):
        return None
    return one, two


def _exactly(expected: Any, actual: Any) -> bool:
    """`$eq`: like same_scalar, except that null is not absent."""
    if expected is None:
        return actual is None
    return same_scalar(expected, actual)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _show(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _match_list(expected: list[Any], actual: Any, path: str, env: _Env) -> Match:
    if not isinstance(actual, list):
        return Match([f"{path}: expected an array of {len(expected)}, got {_show(actual)}"])
    if len(actual) != len(expected):
        return Match(
            [f"{path}: expected {len(expected)} items, got {len(actual)}: {_show(actual)}"]
        )
    result = Match()
    for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
        result.add(_match(e, a, f"{path}[{i}]", env.plus(result.captures)))
    return result


def _match_object(expected: dict[str, Any], actual: Any, path: str, env: _Env) -> Match:
    operators = {k: v for k, v in expected.items() if _is_operator(k)}
    fields = {k: v for k, v in expected.items() if not _is_operator(k)}
    unknown = set(operators) - OPERATORS
    if unknown:
        return Match([f"{path}: unknown matcher(s) {sorted(unknown)}"])
    if operators.get("$any") is True:
        return Match()
    result = Match()
    for name, arg in operators.items():
        if name != "$exact":
            result.add(_OPERATIONS[name](arg, actual, path, env.plus(result.captures)))
    if fields or not operators or operators.get("$exact"):
        exact = bool(operators.get("$exact"))
        result.add(_match_fields(fields, actual, path, env.plus(result.captures), exact=exact))
    return result


def _is_operator(key: str) -> bool:
    """`$type` is an operator; `${run}-a` (and a literal `$${`) is a field name."""
    return key.startswith("$") and not key.startswith(("${", "$${"))


def _match_fields(
    fields: dict[str, Any], actual: Any, path: str, env: _Env, *, exact: bool
) -> Match:
    if not fields and not exact and (actual is MISSING or actual is None):
        return Match()  # `{}` is the default of a message field
    if not isinstance(actual, dict):
        return Match([f"{path}: expected an object, got {_show(actual)}"])
    result = Match()
    names: list[str] = []
    for key, want in fields.items():
        seen = env.plus(result.captures)
        try:
            name = str(seen.text(key))
        except Unresolved as exc:
            result.errors.append(f"{path}: {exc}")
            continue
        names.append(name)
        result.add(_match(want, actual.get(name, MISSING), f"{path}.{name}", seen))
    if exact:
        extra = sorted(k for k in actual if k not in names)
        if extra:
            result.errors.append(f"{path}: unexpected field(s) {extra} ($exact)")
    return result


def _fails(path: str, problem: str) -> Match:
    return Match([f"{path}: {problem}"])


Operation = Callable[[Any, Any, str, _Env], Match]


def _resolved(operation: Callable[[Any, Any, str], Match]) -> Operation:
    """An operator whose argument is a plain value: resolved in full before it runs."""

    def run(arg: Any, actual: Any, path: str, env: _Env) -> Match:
        try:
            value = env.deep(arg)
        except Unresolved as exc:
            return _fails(path, str(exc))
        return operation(value, actual, path)

    return run


def _op_capture(arg: Any, actual: Any, path: str, env: _Env) -> Match:
    if actual is MISSING:
        return _fails(path, f"nothing to capture into {arg!r} (field absent)")
    return Match(captures={str(arg): actual})


def _op_not(arg: Any, actual: Any, path: str, env: _Env) -> Match:
    if _match(arg, actual, path, env).ok:
        return _fails(path, f"expected not to match {_show(arg)}, got {_show(actual)}")
    return Match()


def _op_one_of(arg: Any, actual: Any, path: str, env: _Env) -> Match:
    if not isinstance(arg, list):
        return _fails(path, "$one_of takes a list")
    for option in arg:
        tried = _match(option, actual, path, env)
        if tried.ok:
            return tried
    return _fails(path, f"{_show(actual)} matches none of {_show(arg)}")


def _op_len(arg: Any, actual: Any, path: str, env: _Env) -> Match:
    if not isinstance(actual, str | list | dict):
        return _fails(path, f"$len needs a string, array or object, got {_show(actual)}")
    return _match(arg, len(actual), f"len({path})", env)


def _op_type(arg: Any, actual: Any, path: str) -> Match:
    wanted = arg if isinstance(arg, list) else [arg]
    if any(type_name(actual) == w or (w == "number" and _is_number(actual)) for w in wanted):
        return Match()
    return _fails(path, f"expected type {arg}, got {type_name(actual)} {_show(actual)}")


def _op_absent(arg: Any, actual: Any, path: str) -> Match:
    absent = actual is MISSING or actual is None
    if absent == bool(arg):
        return Match()
    return _fails(path, f"expected {'absent' if arg else 'present'}, got {_show(actual)}")


def _op_missing(arg: Any, actual: Any, path: str) -> Match:
    """`$missing: true`: the field is not there at all (a null is there)."""
    if (actual is MISSING) == bool(arg):
        return Match()
    want = "the field left out" if arg else "the field present (null allowed)"
    return _fails(path, f"expected {want}, got {_show(actual)}")


def _op_eq(arg: Any, actual: Any, path: str) -> Match:
    if _exactly(arg, actual):
        return Match()
    return _fails(path, f"expected exactly {_show(arg)}, got {_show(actual)}")


def _op_ne(arg: Any, actual: Any, path: str) -> Match:
    if not _exactly(arg, actual):
        return Match()
    return _fails(path, f"expected anything but {_show(arg)}")


def _op_regex(arg: Any, actual: Any, path: str) -> Match:
    if isinstance(actual, str) and re.search(str(arg), actual):
        return Match()
    return _fails(path, f"expected a string matching /{arg}/, got {_show(actual)}")


def _comparison(name: str, holds: Callable[[Any, Any], bool]) -> Callable[[Any, Any, str], Match]:
    def compare(arg: Any, actual: Any, path: str) -> Match:
        pair: tuple[Any, Any] | None = None
        if _is_number(arg) and _is_number(actual) and math.isfinite(actual):
            pair = (actual, arg)
        elif isinstance(arg, str) and isinstance(actual, str):
            meant = _times(actual, arg)
            pair = meant if meant else (actual, arg)
        if pair is None:
            return _fails(path, f"{name} {_show(arg)} cannot compare {_show(actual)}")
        if holds(*pair):
            return Match()
        return _fails(path, f"expected {name[1:]} {_show(arg)}, got {_show(actual)}")

    return compare


def type_name(value: Any) -> str:
    """The JSON type name of a value (`integer` for whole numbers)."""
    if value is MISSING:
        return "absent"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    names = {float: "number", str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


def _contains(wanted: Any, actual: Any, path: str, env: _Env) -> Match:
    """Every wanted item matches a distinct item of the actual array, in any order."""
    if not isinstance(wanted, list):
        wanted = [wanted]
    if not isinstance(actual, list):
        return Match([f"{path}: $contains needs an array, got {_show(actual)}"])
    table = [[_match(w, a, path, env) for a in actual] for w in wanted]
    chosen = _assign(table, 0, set())
    if chosen is None:
        missing = [w for i, w in enumerate(wanted) if not any(m.ok for m in table[i])]
        shown = _show(missing or wanted)
        return Match([f"{path}: no distinct items match {shown} in {_show(actual, 400)}"])
    result = Match()
    for i, j in enumerate(chosen):
        result.captures.update(table[i][j].captures)
    return result


def _assign(table: list[list[Match]], row: int, used: set[int]) -> list[int] | None:
    """A distinct actual index per wanted row (backtracking), or None."""
    if row == len(table):
        return []
    for j, result in enumerate(table[row]):
        if result.ok and j not in used:
            rest = _assign(table, row + 1, used | {j})
            if rest is not None:
                return [j, *rest]
    return None


_OPERATIONS: dict[str, Operation] = {
    "$capture": _op_capture,
    "$contains": _contains,
    "$not": _op_not,
    "$one_of": _op_one_of,
    "$len": _op_len,
    "$type": _resolved(_op_type),
    "$absent": _resolved(_op_absent),
    "$missing": _resolved(_op_missing),
    "$eq": _resolved(_op_eq),
    "$ne": _resolved(_op_ne),
    "$regex": _resolved(_op_regex),
    "$gt": _resolved(_comparison("$gt", lambda a, b: a > b)),
    "$gte": _resolved(_comparison("$gte", lambda a, b: a >= b)),
    "$lt": _resolved(_comparison("$lt", lambda a, b: a < b)),
    "$lte": _resolved(_comparison("$lte", lambda a, b: a <= b)),
}
