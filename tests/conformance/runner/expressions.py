"""The small expression language inside `${…}`: references, literals, arithmetic, functions.

`${pos + 1}`, `${upper(owner)}`, `${acquired_at + 30s}`, `${len(events) - 1}`. Numbers add,
subtract, multiply and divide; strings concatenate with `+`; an RFC 3339 timestamp plus or
minus a duration (`30s`, `250ms`, `1.5m`, `2h`, or a contract duration string) is a timestamp,
and two timestamps subtract to a duration. Durations are written the contract's way (`"1.5s"`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.conformance.runner.instants import (
    Instant,
    Span,
    format_duration,
    format_timestamp,
    parse_duration,
    parse_timestamp,
)

Lookup = Callable[[str], Any]

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<duration>\d+(?:\.\d+)?(?:ms|s|m|h)\b)
    | (?P<number>\d+(?:\.\d+)?)
    | (?P<string>'[^']*'|"[^"]*")
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|\d+))*)
    | (?P<op>[-+*/(),])
    )""",
    re.VERBOSE,
)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
PLAIN_REFERENCE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|\d+))*$")


class ExpressionError(Exception):
    """An expression that does not parse or cannot be computed."""


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    position = 0
    while text[position:].strip():
        found = _TOKEN.match(text, position)
        if found is None or found.end() == position:
            raise ExpressionError(f"cannot read {text[position:].strip()!r}")
        kind = found.lastgroup or ""
        out.append(_Token(kind, found.group(kind)))
        position = found.end()
    return out


def _str(value: Any) -> str:
    if isinstance(value, Instant | Span):
        return _show(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ExpressionError(f"int() of {value!r}")
    try:
        return int(float(value)) if isinstance(value, str) else int(value)
    except ValueError as exc:
        raise ExpressionError(f"int() of {value!r}") from exc


def _len(value: Any) -> int:
    if not isinstance(value, str | list | dict):
        raise ExpressionError(f"len() of {value!r}")
    return len(value)


def _text(name: str, change: Callable[[str], str]) -> Callable[[Any], str]:
    def apply(value: Any) -> str:
        if not isinstance(value, str):
            raise ExpressionError(f"{name}() needs a string, got {value!r}")
        return change(value)

    return apply


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "upper": _text("upper", str.upper),
    "lower": _text("lower", str.lower),
    "len": _len,
    "str": _str,
    "int": _int,
    "min": min,
    "max": max,
}


class _Parser:
    """Recursive descent: sum := product ((+|-) product)*; product := unary ((*|/) unary)*;
    unary := - unary | atom; atom := literal | name | name(args) | (sum)."""

    def __init__(
        self, text: str, lookup: Lookup, functions: Mapping[str, Callable[..., Any]]
    ) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.lookup = lookup
        self.functions = functions

    def _next(self) -> str:
        return self.tokens[self.at].text if self.at < len(self.tokens) else ""

    def _take(self, text: str = "") -> _Token:
        if self.at >= len(self.tokens) or (text and self._next() != text):
            raise ExpressionError(f"expected {text or 'more'}, got {self._next() or 'the end'}")
        self.at += 1
        return self.tokens[self.at - 1]

    def parse(self) -> Any:
        value = self._sum()
        if self.at < len(self.tokens):
            raise ExpressionError(f"unexpected {self._next()!r}")
        return value

    def _sum(self) -> Any:
        value = self._product()
        while self._next() in ("+", "-"):
            op = self._take().text
            value = arithmetic(op, value, self._product())
        return value

    def _product(self) -> Any:
        value = self._unary()
        while self._next() in ("*", "/"):
            op = self._take().text
            value = arithmetic(op, value, self._unary())
        return value

    def _unary(self) -> Any:
        if self._next() == "-":
            self._take()
            return arithmetic("-", 0, self._unary())
        return self._atom()

    def _atom(self) -> Any:
        token = self._take()
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "duration":
            unit = token.text.lstrip("0123456789.")
            return Span.of_seconds(float(token.text[: -len(unit)]) * _UNIT_SECONDS[unit])
        if token.kind == "string":
            return token.text[1:-1]
        if token.text == "(":
            value = self._sum()
            self._take(")")
            return value
        if token.kind == "name":
            return self._call(token.text) if self._next() == "(" else self.lookup(token.text)
        raise ExpressionError(f"unexpected {token.text!r}")

    def _call(self, name: str) -> Any:
        if name not in self.functions:
            known = ", ".join(self.functions)
            raise ExpressionError(f"unknown function {name}() (known: {known})")
        self._take("(")
        args: list[Any] = []
        while self._next() != ")":
            if args:
                self._take(",")
            args.append(self._sum())
        self._take(")")
        try:
            return self.functions[name](*args)
        except TypeError as exc:
            raise ExpressionError(f"{name}(): {exc}") from exc


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _tidy(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def arithmetic(op: str, left: Any, right: Any) -> Any:
    """`left op right` for numbers, strings (`+`), timestamps and durations."""
    if _number(left) and _number(right):
        if op == "/" and right == 0:
            raise ExpressionError("division by zero")
        ops = {"+": left + right, "-": left - right, "*": left * right}
        return _tidy(left / right) if op == "/" else _tidy(ops[op])
    left, right = _as_time(left), _as_time(right)
    if isinstance(left, str) and isinstance(right, str) and op == "+":
        return left + right
    if isinstance(left, Instant) and isinstance(right, Span) and op in "+-":
        return Instant(left.ns + right.ns if op == "+" else left.ns - right.ns)
    if isinstance(left, Instant) and isinstance(right, Instant) and op == "-":
        return Span(left.ns - right.ns)
    if isinstance(left, Span) and isinstance(right, Span) and op in "+-":
        return Span(left.ns + right.ns if op == "+" else left.ns - right.ns)
    raise ExpressionError(f"cannot compute {_show(left)} {op} {_show(right)}")


def _as_time(value: Any) -> Any:
    """A timestamp or duration string as an Instant or a Span; anything else unchanged."""
    if isinstance(value, str):
        return parse_timestamp(value) or parse_duration(value) or value
    return value


def _show(value: Any) -> str:
    """An Instant or Span as contract text; anything else as its repr."""
    if isinstance(value, Instant):
        return format_timestamp(value)
    if isinstance(value, Span):
        return format_duration(value)
    return repr(value)


def evaluate(
    text: str, lookup: Lookup, functions: Mapping[str, Callable[..., Any]] | None = None
) -> Any:
    """The value of an expression; `lookup` resolves references (`name`, `name.path.0`) and
    `functions` adds functions to the built-in ones (the scope's `uuid(label)`)."""
    value = _Parser(text, lookup, {**FUNCTIONS, **(functions or {})}).parse()
    if isinstance(value, Instant):
        return format_timestamp(value)
    if isinstance(value, Span):
        return format_duration(value)
    return value
