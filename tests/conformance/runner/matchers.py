"""Matching an expected value (with `$` matchers) against an actual JSON value.

Objects match as subsets unless `$exact: true`; arrays match item by item; scalars by value.
An absent or null field matches an expected proto default (`false`, `0`, `""`, `[]`, `{}`).
Matching is pure: it returns the mismatches and the `$capture`d values, and the caller binds them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<absent>"})()
TYPES = ("string", "integer", "number", "boolean", "object", "array", "null")
OPERATORS = frozenset(
    {
        "$type", "$gt", "$gte", "$lt", "$lte", "$eq", "$ne", "$regex", "$any", "$absent",
        "$len", "$contains", "$capture", "$not", "$one_of", "$exact",
    }
)  # fmt: skip


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


def match(expected: Any, actual: Any, path: str = "$") -> Match:
    """Matches `actual` against `expected`; `path` names the place in messages."""
    if isinstance(expected, dict):
        return _match_object(expected, actual, path)
    if _is_default(expected) and (actual is MISSING or actual is None):
        return Match()
    if isinstance(expected, list):
        return _match_list(expected, actual, path)
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
    """JSON equality that tells booleans from numbers and treats null as absent."""
    if expected is None:
        return actual is None or actual is MISSING
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if _is_number(expected) and _is_number(actual):
        return bool(expected == actual)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            same_scalar(e, a) for e, a in zip(expected, actual, strict=True)
        )
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            same_scalar(expected[k], actual[k]) for k in expected
        )
    return type(expected) is type(actual) and bool(expected == actual)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _show(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _match_list(expected: list[Any], actual: Any, path: str) -> Match:
    if not isinstance(actual, list):
        return Match([f"{path}: expected an array of {len(expected)}, got {_show(actual)}"])
    if len(actual) != len(expected):
        return Match(
            [f"{path}: expected {len(expected)} items, got {len(actual)}: {_show(actual)}"]
        )
    result = Match()
    for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
        result.add(match(e, a, f"{path}[{i}]"))
    return result


def _match_object(expected: dict[str, Any], actual: Any, path: str) -> Match:
    operators = {k: v for k, v in expected.items() if k.startswith("$")}
    fields = {k: v for k, v in expected.items() if not k.startswith("$")}
    unknown = set(operators) - OPERATORS
    if unknown:
        return Match([f"{path}: unknown matcher(s) {sorted(unknown)}"])
    if operators.get("$any") is True:
        return Match()
    result = Match()
    for name, arg in operators.items():
        if name != "$exact":
            result.add(_operator(name, arg, actual, path))
    if fields or not operators or operators.get("$exact"):
        result.add(_match_fields(fields, actual, path, exact=bool(operators.get("$exact"))))
    return result


def _match_fields(fields: dict[str, Any], actual: Any, path: str, *, exact: bool) -> Match:
    if not fields and not exact and (actual is MISSING or actual is None):
        return Match()  # `{}` is the default of a message field
    if not isinstance(actual, dict):
        return Match([f"{path}: expected an object, got {_show(actual)}"])
    result = Match()
    for key, want in fields.items():
        result.add(match(want, actual.get(key, MISSING), f"{path}.{key}"))
    if exact:
        extra = sorted(k for k in actual if k not in fields)
        if extra:
            result.errors.append(f"{path}: unexpected field(s) {extra} ($exact)")
    return result


def _operator(name: str, arg: Any, actual: Any, path: str) -> Match:
    return _OPERATIONS[name](arg, actual, path)


def _fails(path: str, problem: str) -> Match:
    return Match([f"{path}: {problem}"])


def _op_capture(arg: Any, actual: Any, path: str) -> Match:
    if actual is MISSING:
        return _fails(path, f"nothing to capture into {arg!r} (field absent)")
    return Match(captures={str(arg): actual})


def _op_not(arg: Any, actual: Any, path: str) -> Match:
    if match(arg, actual, path).ok:
        return _fails(path, f"expected not to match {_show(arg)}, got {_show(actual)}")
    return Match()


def _op_one_of(arg: Any, actual: Any, path: str) -> Match:
    if not isinstance(arg, list):
        return _fails(path, "$one_of takes a list")
    for option in arg:
        tried = match(option, actual, path)
        if tried.ok:
            return tried
    return _fails(path, f"{_show(actual)} matches none of {_show(arg)}")


def _op_len(arg: Any, actual: Any, path: str) -> Match:
    if not isinstance(actual, str | list | dict):
        return _fails(path, f"$len needs a string, array or object, got {_show(actual)}")
    return match(arg, len(actual), f"len({path})")


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


def _op_eq(arg: Any, actual: Any, path: str) -> Match:
    if same_scalar(arg, actual):
        return Match()
    return _fails(path, f"expected exactly {_show(arg)}, got {_show(actual)}")


def _op_ne(arg: Any, actual: Any, path: str) -> Match:
    if not same_scalar(arg, actual):
        return Match()
    return _fails(path, f"expected anything but {_show(arg)}")


def _op_regex(arg: Any, actual: Any, path: str) -> Match:
    if isinstance(actual, str) and re.search(str(arg), actual):
        return Match()
    return _fails(path, f"expected a string matching /{arg}/, got {_show(actual)}")


def _comparison(name: str, holds: Callable[[Any, Any], bool]) -> Operation:
    def compare(arg: Any, actual: Any, path: str) -> Match:
        comparable = (_is_number(arg) and _is_number(actual) and math.isfinite(actual)) or (
            isinstance(arg, str) and isinstance(actual, str)
        )
        if not comparable:
            return _fails(path, f"{name} {_show(arg)} cannot compare {_show(actual)}")
        if holds(actual, arg):
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


def _contains(wanted: Any, actual: Any, path: str) -> Match:
    """Every wanted item matches a distinct item of the actual array, in any order."""
    if not isinstance(wanted, list):
        wanted = [wanted]
    if not isinstance(actual, list):
        return Match([f"{path}: $contains needs an array, got {_show(actual)}"])
    table = [[match(w, a, path) for a in actual] for w in wanted]
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


Operation = Callable[[Any, Any, str], Match]
_OPERATIONS: dict[str, Operation] = {
    "$capture": _op_capture,
    "$contains": _contains,
    "$not": _op_not,
    "$one_of": _op_one_of,
    "$len": _op_len,
    "$type": _op_type,
    "$absent": _op_absent,
    "$eq": _op_eq,
    "$ne": _op_ne,
    "$regex": _op_regex,
    "$gt": _comparison("$gt", lambda a, b: a > b),
    "$gte": _comparison("$gte", lambda a, b: a >= b),
    "$lt": _comparison("$lt", lambda a, b: a < b),
    "$lte": _comparison("$lte", lambda a, b: a <= b),
}
