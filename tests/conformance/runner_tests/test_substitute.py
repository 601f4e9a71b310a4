"""`${…}` substitution: types, paths, UUIDs, times, escapes and errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.conformance.runner.substitute import (
    Scope,
    SubstitutionError,
    new_run_id,
    references,
    substitute,
)


def test_run_ids_are_unique_and_valid_in_names() -> None:
    ids = {new_run_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"r[0-9a-f]{10}", i) for i in ids)


def test_whole_reference_keeps_the_json_type() -> None:
    scope = Scope("r1")
    scope.capture("token", 7)
    scope.capture("obj", {"a": [1, 2]})
    assert substitute("${token}", scope) == 7
    assert substitute("${obj}", scope) == {"a": [1, 2]}
    assert substitute({"x": ["${token}"]}, scope) == {"x": [7]}


def test_references_inside_strings_become_text() -> None:
    scope = Scope("r1")
    scope.capture("n", 3)
    scope.capture("flag", True)
    assert substitute("${run}-lock-${n}", scope) == "r1-lock-3"
    assert substitute("f=${flag}", scope) == "f=true"


def test_dotted_paths_reach_into_captured_values() -> None:
    scope = Scope("r1")
    scope.capture("saga", {"steps": [{"name": "a"}, {"name": "b"}]})
    assert substitute("${saga.steps.1.name}", scope) == "b"
    with pytest.raises(SubstitutionError):
        substitute("${saga.steps.9}", scope)


def test_uuid_labels_are_stable_within_a_scope_and_differ_across() -> None:
    one, two = Scope("r1"), Scope("r2")
    first = substitute("${uuid:e1}", one)
    assert first == substitute("${uuid:e1}", one)
    assert first != substitute("${uuid:e2}", one)
    assert first != substitute("${uuid:e1}", two)
    assert re.fullmatch(r"[0-9a-f-]{36}", str(first))


def test_relative_times_are_rfc3339_utc() -> None:
    scope = Scope("r1")
    text = str(substitute("${time:+2s}", scope))
    assert text.endswith("Z")
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    delta = (moment - datetime.now(UTC)).total_seconds()
    assert 0.5 < delta <= 2.1
    assert str(substitute("${time:-1m}", scope)) < str(substitute("${time:now}", scope))
    with pytest.raises(SubstitutionError):
        substitute("${time:tomorrow}", scope)


def test_escape_and_unknown_variables() -> None:
    scope = Scope("r1")
    assert substitute("$${run}", scope) == "${run}"
    with pytest.raises(SubstitutionError, match="no variable 'missing'"):
        substitute("${missing}", scope)


def test_skip_keys_are_left_alone_and_keys_are_substituted() -> None:
    scope = Scope("r1")
    value = {"$capture": "${run}", "${run}-k": "${run}"}
    assert substitute(value, scope, skip_keys=frozenset({"$capture"})) == {
        "$capture": "${run}",
        "r1-k": "r1",
    }


def test_references_lists_variable_names() -> None:
    assert references({"a": "${x}-${y.z}", "b": ["${uuid:q}", "${time:now}"]}) == {"x", "y"}
