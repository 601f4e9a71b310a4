"""Wildcard patterns of RBAC and scopes: `*` matches any run of characters, the rest is literal."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

WILDCARD = "*"
# Stands for a wildcard of a narrower pattern when testing coverage; never valid in a pattern.
_OPAQUE = "\x00"


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The regular expression of a pattern: literal parts escaped, each `*` as `.*`."""
    parts = (re.escape(part) for part in pattern.split(WILDCARD))
    return re.compile(".*".join(parts), re.DOTALL)


def matches(pattern: str, value: str) -> bool:
    """Whether a value matches a pattern in full (`*` spans any characters, `/` and `.` too)."""
    if pattern == WILDCARD:
        return True
    if WILDCARD not in pattern:
        return pattern == value
    return compile_pattern(pattern).fullmatch(value) is not None


def matches_any(patterns: Iterable[str], value: str) -> bool:
    """Whether a value matches at least one of the patterns."""
    return any(matches(pattern, value) for pattern in patterns)


def covers(broad: str, narrow: str) -> bool:
    """Whether every value `narrow` matches is also matched by `broad` (pattern inclusion).

    A wildcard of `narrow` stands for arbitrary text, so only a wildcard of `broad` may absorb
    it: replacing each by a character no pattern holds and matching decides inclusion exactly.
    """
    if _OPAQUE in narrow or _OPAQUE in broad:
        return False
    return matches(broad, narrow.replace(WILDCARD, _OPAQUE))


def covered_by_any(broad: Iterable[str], narrow: str) -> bool:
    """Whether one of the broad patterns covers the narrow one."""
    return any(covers(pattern, narrow) for pattern in broad)
