"""Matchers: subset objects, `$exact`, defaults, operators, `$contains` and captures."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance.runner.matchers import (
    _OPERATIONS,
    MISSING,
    OPERATORS,
    Unresolved,
    match,
    type_name,
)


def ok(expected: Any, actual: Any) -> bool:
    return match(expected, actual).ok


def test_objects_match_as_subsets() -> None:
    assert ok({"a": 1}, {"a": 1, "b": 2})
    assert not ok({"a": 1, "c": 3}, {"a": 1, "b": 2})


def test_exact_objects_refuse_extra_fields() -> None:
    assert ok({"$exact": True, "a": 1}, {"a": 1})
    result = match({"$exact": True, "a": 1}, {"a": 1, "b": 2})
    assert result.errors == ["$: unexpected field(s) ['b'] ($exact)"]


def test_arrays_match_item_by_item_with_equal_length() -> None:
    assert ok([{"a": 1}, {"a": 2}], [{"a": 1, "x": 0}, {"a": 2}])
    assert not ok([{"a": 1}], [{"a": 1}, {"a": 2}])
    assert not ok([{"a": 2}, {"a": 1}], [{"a": 1}, {"a": 2}])


def test_scalars_tell_booleans_from_numbers() -> None:
    assert ok(1, 1.0)
    assert not ok(True, 1)
    assert not ok(0, False)
    assert not ok("1", 1)


def test_absent_or_null_matches_a_proto_default() -> None:
    defaults: list[Any] = [False, 0, "", [], {}]
    for default in defaults:
        assert ok({"f": default}, {}), default
        assert ok({"f": default}, {"f": None}), default
    assert not ok({"f": 1}, {})
    assert not ok({"f": {"$eq": False}}, {})


def test_type_matcher() -> None:
    assert ok({"$type": "integer"}, 3)
    assert ok({"$type": "integer"}, 3.0)
    assert not ok({"$type": "integer"}, 3.5)
    assert ok({"$type": "number"}, 3)
    assert ok({"$type": ["string", "null"]}, None)
    assert not ok({"$type": "boolean"}, 0)
    assert type_name(MISSING) == "absent"
    assert not ok({"x": {"$type": "string"}}, {})


def test_comparisons_numbers_and_strings() -> None:
    assert ok({"$gt": 1}, 2)
    assert not ok({"$gt": 2}, 2)
    assert ok({"$gte": 2, "$lte": 2}, 2)
    assert ok({"$lt": "b"}, "a")
    assert not ok({"$gt": 1}, "2")
    assert not ok({"$gt": 1}, True)


def test_regex_searches_strings_only() -> None:
    assert ok({"$regex": "^ab"}, "abc")
    assert not ok({"$regex": "."}, "")
    assert not ok({"$regex": "1"}, 1)


def test_any_matches_even_absence() -> None:
    assert ok({"x": {"$any": True}}, {})
    assert ok({"x": {"$any": True}}, {"x": [1]})


def test_absent_matcher() -> None:
    assert ok({"x": {"$absent": True}}, {})
    assert ok({"x": {"$absent": True}}, {"x": None})
    assert not ok({"x": {"$absent": True}}, {"x": 0})
    assert not ok({"x": {"$absent": False}}, {})


def test_len_takes_a_number_or_a_matcher() -> None:
    assert ok({"$len": 2}, [1, 2])
    assert ok({"$len": {"$gte": 2}}, "abc")
    assert not ok({"$len": 2}, {"a": 1})
    assert not ok({"$len": 1}, 5)


def test_contains_needs_distinct_items_in_any_order() -> None:
    actual = [{"n": 1}, {"n": 2}, {"n": 3}]
    assert ok({"$contains": [{"n": 3}, {"n": 1}]}, actual)
    assert not ok({"$contains": [{"n": 1}, {"n": 1}]}, actual)
    assert not ok({"$contains": [{"n": 4}]}, actual)
    assert ok({"$contains": [{"n": {"$gte": 1}}, {"n": 1}]}, [{"n": 1}, {"n": 2}])


def test_not_and_one_of() -> None:
    assert ok({"$not": {"$contains": [1]}}, [2, 3])
    assert not ok({"$not": 2}, 2)
    assert ok({"$one_of": ["A", "B"]}, "B")
    assert not ok({"$one_of": ["A", "B"]}, "C")


def test_eq_and_ne_compare_whole_values() -> None:
    assert ok({"$eq": {"a": 1}}, {"a": 1})
    assert not ok({"$eq": {"a": 1}}, {"a": 1, "b": 2})
    assert ok({"$ne": "x"}, "y")
    assert not ok({"$ne": "x"}, "x")


def test_capture_collects_values_of_a_successful_match() -> None:
    result = match(
        {"lock": {"fencing_token": {"$type": "integer", "$capture": "t"}}},
        {"lock": {"fencing_token": 7}},
    )
    assert result.ok
    assert result.captures == {"t": 7}


def test_capture_inside_contains_binds_the_chosen_item() -> None:
    result = match(
        {"$contains": [{"k": "b", "v": {"$capture": "v"}}]},
        [{"k": "a", "v": 1}, {"k": "b", "v": 2}],
    )
    assert result.captures == {"v": 2}


def test_capture_of_an_absent_field_fails() -> None:
    assert not ok({"x": {"$capture": "x"}}, {})


def test_unknown_matcher_is_reported() -> None:
    result = match({"$typo": 1}, 1)
    assert "unknown matcher" in result.errors[0]


def test_mismatch_messages_name_the_path() -> None:
    result = match({"a": [{"b": 1}]}, {"a": [{"b": 2}]})
    assert result.errors == ["$.a[0].b: expected 1, got 2"]


@pytest.mark.parametrize("name", sorted(OPERATORS - {"$any", "$exact"}))
def test_every_operator_has_an_implementation(name: str) -> None:
    assert name in _OPERATIONS


def test_timestamps_compare_as_instants_not_text() -> None:
    z, offset = "2026-03-01T10:00:00Z", "2026-03-01T11:00:00.000+01:00"
    assert ok(z, offset)
    assert ok({"at": z}, {"at": "2026-03-01T10:00:00.000000000Z"})
    assert not ok(z, "2026-03-01T10:00:00.001Z")
    assert ok({"$gt": "2026-03-01T10:59:59.9+01:00"}, z)
    assert ok({"$lt": "2026-03-01T09:00:00.5Z"}, "2026-03-01T10:00:00+01:00")  # text: later
    assert ok({"$gte": z, "$lte": offset}, "2026-03-01T10:00:00Z")
    assert ok({"$eq": z}, offset)


def test_durations_compare_as_spans() -> None:
    assert ok("1.5s", "1.500s")
    assert ok({"ttl": "30s"}, {"ttl": "30.000000000s"})
    assert not ok("1.5s", "1.501s")
    assert ok({"$gt": "0.9s"}, "1s")
    assert ok({"$lt": "10s"}, "9.5s")  # as text "9.5s" > "10s"


def test_missing_tells_an_absent_field_from_null() -> None:
    assert ok({"x": {"$missing": True}}, {})
    assert not ok({"x": {"$missing": True}}, {"x": None})
    assert ok({"x": {"$missing": False}}, {"x": None})
    assert not ok({"x": {"$missing": False}}, {})


def test_exact_presence_of_zero_false_empty_and_null() -> None:
    for zero in (0, False, ""):
        assert ok({"x": {"$eq": zero}}, {"x": zero}), zero
        assert not ok({"x": {"$eq": zero}}, {}), zero
        assert not ok({"x": {"$eq": zero}}, {"x": None}), zero
        assert ok({"x": zero}, {}), zero  # the lenient proto default
    assert ok({"x": {"$eq": None}}, {"x": None})
    assert not ok({"x": {"$eq": None}}, {})
    assert ok({"x": None}, {})  # plain null stays lenient
    assert ok({"x": {"$ne": None}}, {})


def resolver(scope: dict[str, Any]) -> Any:
    def resolve(text: str, seen: Any) -> Any:
        names = {**scope, **seen}
        name = text[2:-1]
        if name not in names:
            raise Unresolved(f"no variable {name!r}")
        return names[name]

    return resolve


def test_captures_are_usable_later_in_the_same_expectation() -> None:
    expected = {
        "lock": {"fencing_token": {"$capture": "t"}},
        "events": [{"position": {"$capture": "p"}}, {"position": {"$gt": "${p}"}}],
        "echo": "${t}",
    }
    actual = {"lock": {"fencing_token": 7}, "events": [{"position": 3}, {"position": 4}], "echo": 7}
    result = match(expected, actual, resolve=resolver({}))
    assert result.ok, result.errors
    assert result.captures == {"t": 7, "p": 3}
    actual["events"] = [{"position": 3}, {"position": 2}]
    result = match(expected, actual, resolve=resolver({}))
    assert result.errors == ["$.events[1].position: expected gt 3, got 2"]


def test_references_resolve_as_matching_reaches_them() -> None:
    assert match({"a": "${x}"}, {"a": 1}, resolve=resolver({"x": 1})).ok
    early = match(
        {"a": "${later}", "b": {"$capture": "later"}}, {"a": 1, "b": 1}, resolve=resolver({})
    )
    assert early.errors == ["$.a: no variable 'later'"]
    assert match({"${k}": 2}, {"key": 2}, resolve=resolver({"k": "key"})).ok
    # a resolved value is literal: a captured string holding `${…}` is not resolved again
    assert match("${x}", "${y}", resolve=resolver({"x": "${y}"})).ok
