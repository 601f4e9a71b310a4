"""Expressions inside `${…}`: arithmetic, functions, timestamps and durations, errors."""

from __future__ import annotations

import re

import pytest

from tests.conformance.runner.instants import (
    Instant,
    Span,
    format_duration,
    format_timestamp,
    parse_duration,
    parse_timestamp,
)
from tests.conformance.runner.substitute import (
    Scope,
    SubstitutionError,
    references,
    substitute,
)


@pytest.fixture
def scope() -> Scope:
    scope = Scope("r1")
    scope.capture("pos", 41)
    scope.capture("owner", "Alice")
    scope.capture("lock", {"fencing_token": 7, "acquired_at": "2026-03-01T10:00:00.250Z"})
    scope.capture("events", [{"revision": 0}, {"revision": 1}])
    return scope


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("${pos + 1}", 42),
        ("${pos - 1 - 1}", 39),
        ("${2 * (pos + 1)}", 84),
        ("${pos / 2}", 20.5),
        ("${84 / 2}", 42),
        ("${-pos}", -41),
        ("${1.5 + 1.5}", 3),
        ("${lock.fencing_token + 1}", 8),
        ("${upper(owner)}", "ALICE"),
        ("${lower(owner) + '-x'}", "alice-x"),
        ("${len(events) - 1}", 1),
        ("${events.1.revision * 10}", 10),
        ('${str(pos) + "!"}', "41!"),
        ("${int('12') + max(1, pos, 3)}", 53),
        ("key-${pos + 1}", "key-42"),
    ],
)
def test_arithmetic_and_functions(scope: Scope, text: str, value: object) -> None:
    assert substitute(text, scope) == value


def test_uuid_of_a_computed_label(scope: Scope) -> None:
    scope.capture("i", 2)
    assert substitute("${uuid('e' + str(i))}", scope) == substitute("${uuid:e2}", scope)
    assert substitute("${uuid('e1')}", scope) != substitute("${uuid:e2}", scope)


def test_timestamps_plus_durations_are_timestamps(scope: Scope) -> None:
    assert substitute("${lock.acquired_at + 30s}", scope) == "2026-03-01T10:00:30.250Z"
    assert substitute("${lock.acquired_at - 250ms}", scope) == "2026-03-01T10:00:00Z"
    assert substitute("${lock.acquired_at + 1.5m + 2h}", scope) == "2026-03-01T12:01:30.250Z"
    scope.capture("ttl", "1.5s")
    assert substitute("${lock.acquired_at + ttl}", scope) == "2026-03-01T10:00:01.750Z"
    scope.capture("later", "2026-03-01T11:00:00+01:00")
    assert substitute("${lock.acquired_at - later}", scope) == "0.250s"
    assert substitute("${ttl + 500ms}", scope) == "2s"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("${pos +}", "expected more"),
        ("${pos + owner}", "cannot compute"),
        ("${nope + 1}", "no variable 'nope'"),
        ("${shout(owner)}", "unknown function shout()"),
        ("${upper(pos)}", "needs a string"),
        ("${pos / 0}", "division by zero"),
        ("${pos ! 1}", "cannot read"),
        ("${(pos + 1}", "expected )"),
    ],
)
def test_bad_expressions_say_why(scope: Scope, text: str, words: str) -> None:
    with pytest.raises(SubstitutionError, match=re.escape(words)):
        substitute(text, scope)


def test_references_of_expressions() -> None:
    assert references("${pos + 1}") == {"pos"}
    assert references("${upper(owner) + lock.fencing_token}") == {"owner", "lock"}
    assert references("${at + 30s} ${'lit'} ${time:+2s}") == {"at"}


def test_instants_and_spans_read_exactly() -> None:
    one = parse_timestamp("2026-03-01T10:00:00Z")
    assert one is not None
    assert one == parse_timestamp("2026-03-01T11:00:00.000000000+01:00")
    assert parse_timestamp("2026-03-01T10:00:00.000000001Z") == Instant(one.ns + 1)
    assert parse_timestamp("2026-03-01 10:00:00Z") is None
    assert parse_timestamp("2026-13-01T10:00:00Z") is None
    assert parse_duration("1.5s") == parse_duration("1.500000000s") == Span(1_500_000_000)
    assert parse_duration("-0.25s") == Span(-250_000_000)
    assert parse_duration("1.5") is None
    assert format_duration(Span(30_000_000_000)) == "30s"
    assert format_duration(Span(1_000_001)) == "0.001000001s"
    assert format_timestamp(Instant(1_500_000)) == "1970-01-01T00:00:00.001500Z"
