"""Test hook: fails the first N calls that carry a fault key (only with CONCORD_TEST_HOOKS)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from concord_server.errors import ConcordError, ErrorCode

HEADER = "x-concord-test-fault"
MAX_KEYS = 10_000
_SPEC = re.compile(r"^(?P<key>[A-Za-z0-9._:-]{1,100});(?P<count>\d{1,3});(?P<code>[A-Z_]+)$")


class FaultInjector:
    """Counts calls per fault key and fails the first `count` with the given error code.

    Header format: `X-Concord-Test-Fault: <key>;<count>;<CODE>`, e.g. `r1;2;UNAVAILABLE`: the first
    two calls carrying key `r1` answer UNAVAILABLE, later ones run normally. SDK retry tests use it.
    """

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def maybe_fail(self, headers: Mapping[str, str]) -> None:
        """Raises the configured error while the key's budget of failures lasts."""
        spec = headers.get(HEADER)
        if not spec:
            return
        match = _SPEC.match(spec)
        if match is None or match["code"] not in ErrorCode.__members__:
            raise ConcordError(ErrorCode.INVALID_ARGUMENT, f"bad {HEADER} header: {spec!r}")
        key = match["key"]
        seen = self._seen.get(key, 0)
        if key not in self._seen and len(self._seen) >= MAX_KEYS:
            self._seen.pop(next(iter(self._seen)))  # forget the oldest key: memory stays bounded
        self._seen[key] = seen + 1
        if seen < int(match["count"]):
            code = ErrorCode(match["code"])
            headers_out = {"Retry-After": "0"} if code == ErrorCode.RATE_LIMITED else {}
            raise ConcordError(
                code, f"injected fault {seen + 1} of {match['count']}", headers=headers_out
            )
