"""The wildcard matcher of RBAC permissions and scopes."""

from __future__ import annotations

import pytest

from concord_server.domain.patterns import covered_by_any, covers, matches, matches_any


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        ("*", ""),
        ("*", "anything/at.all"),
        ("locks.*", "locks.acquire"),
        ("locks.*", "locks."),
        ("locks/orders-*", "locks/orders-1"),
        ("locks/orders-*", "locks/orders-"),
        ("locks/*", "locks/a/b/c"),
        ("*.read", "rbac.read"),
        ("*.read", "a.b.read"),
        ("a*b*c", "abc"),
        ("a*b*c", "a-x-b-y-c"),
        ("a*b*c", "abbbc"),
        ("**", "x"),
        ("locks.acquire", "locks.acquire"),
        ("svc:billing@eu", "svc:billing@eu"),
        ("*-*", "a-b-c"),
    ],
)
def test_matches(pattern: str, value: str) -> None:
    assert matches(pattern, value)


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        ("locks.*", "locks"),
        ("locks.*", "lockz.acquire"),
        ("locks.*", "xlocks.acquire"),
        ("locks/orders-*", "locks/orders"),
        ("locks/orders-*", "locks/invoices-1"),
        ("locks.acquire", "locks.acquire2"),
        ("locks.acquire", "locks.acquir"),
        ("locks.acquire", "LOCKS.ACQUIRE"),
        ("*.read", "rbac.reader"),
        ("a*b*c", "acb"),
        ("a*b*c", "abcd"),
        ("", "x"),
    ],
)
def test_does_not_match(pattern: str, value: str) -> None:
    assert not matches(pattern, value)


@pytest.mark.parametrize(
    ("pattern", "literal_match", "regex_would_match"),
    [
        ("locks.acquire", "locks.acquire", "locksXacquire"),  # `.` is a dot, not any char
        ("a+b", "a+b", "aab"),
        ("a?b", "a?b", "b"),
        ("(a|b)", "(a|b)", "a"),
        ("[ab]", "[ab]", "a"),
        ("a{2}", "a{2}", "aa"),
        ("^a$", "^a$", "a"),
        ("a\\d", "a\\d", "a1"),
        ("x.*y", "x.Zy", "xZy"),  # only `*` is special: `.*` is a dot then anything
    ],
)
def test_regex_special_characters_are_literal(
    pattern: str, literal_match: str, regex_would_match: str
) -> None:
    assert matches(pattern, literal_match)
    assert not matches(pattern, regex_would_match)


def test_wildcard_spans_newlines_and_slashes() -> None:
    assert matches("a*z", "a\nb/c.d\nz")


def test_matches_any() -> None:
    assert matches_any(["cache.*", "locks.*"], "locks.release")
    assert not matches_any(["cache.*", "locks.*"], "sagas.start")
    assert not matches_any([], "locks.release")


@pytest.mark.parametrize(
    ("broad", "narrow"),
    [
        ("*", "*"),
        ("*", "locks.*"),
        ("locks.*", "locks.acquire"),
        ("locks.*", "locks.*"),
        ("locks.*", "locks.a*"),
        ("locks.*", "locks.*.x"),
        ("*.read", "rbac.read"),
        ("a*", "a*b*c"),
        ("a*c", "ab*c"),
        ("*a*", "xa*"),
    ],
)
def test_covers(broad: str, narrow: str) -> None:
    assert covers(broad, narrow)


@pytest.mark.parametrize(
    ("broad", "narrow"),
    [
        ("locks.*", "*"),
        ("locks.*", "locks*"),  # would match "locksmith"
        ("locks.acquire", "locks.*"),
        ("locks.*", "cache.get"),
        ("*.read", "*"),
        ("a*c", "a*"),
        ("ab*", "a*b"),
        ("locks.acquire", "locks.acquire*"),
    ],
)
def test_does_not_cover(broad: str, narrow: str) -> None:
    assert not covers(broad, narrow)


def test_covered_by_any() -> None:
    assert covered_by_any(["cache.*", "locks.*"], "locks.acquire")
    assert not covered_by_any(["cache.*", "locks.acquire"], "locks.*")
    assert not covered_by_any([], "locks.acquire")


def test_covers_rejects_the_internal_placeholder() -> None:
    assert not covers("*", "a\x00b")
