"""Test hook: fails or delays the first N calls carrying a fault key (CONCORD_TEST_HOOKS only)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass

from concord_server.errors import ConcordError, ErrorCode

HEADER = "x-concord-test-fault"
MAX_KEYS = 10_000
MAX_DELAY_MS = 60_000
_SPEC = re.compile(
    r"^(?P<key>[A-Za-z0-9._:-]{1,100});(?P<count>\d{1,4});"
    r"(?:delay=(?P<delay>\d{1,5})|(?P<end>cut|drain)=(?P<after>\d{1,4})|(?P<code>[A-Z_]+))"
    r"(?:;(?P<rpc>[A-Za-z]{1,100}))?$"
)


@dataclass(frozen=True)
class StreamEnd:
    """How a stream under a `cut=`/`drain=` fault ends: after `after` messages, its connection
    breaks, or (`drained`) it ends with a draining server's UNAVAILABLE."""

    after: int
    drained: bool = False


class FaultInjector:
    """Counts calls per fault key and fails (or delays) the first `count` of them.

    Header format: `X-Concord-Test-Fault: <key>;<count>;<fault>[;<Rpc>]`, where `<fault>` is an
    error code (`UNAVAILABLE`), `delay=<ms>` (the call waits, then runs normally), `cut=<n>`
    (a server stream over SSE sends n messages, then its connection breaks) or `drain=<n>` (it
    sends n messages, then ends with the UNAVAILABLE of a draining server); only stream opens
    count for the last two, other calls ignore them. With an RPC
    name, only calls of that RPC count and are affected: `r1;2;UNAVAILABLE;RenewLock` fails the
    first two renewals carrying key `r1` and lets every other call through. SDK retry and helper
    tests use it.
    """

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    async def maybe_fail(
        self, headers: Mapping[str, str], rpc: str = "", streaming: bool = False
    ) -> StreamEnd | None:
        """Raises the configured error (or waits) while the key's budget of faults lasts; for a
        `cut=<n>` or `drain=<n>` fault on a stream open, returns how the stream ends (None when
        it is left alone)."""
        spec = headers.get(HEADER)
        if not spec:
            return None
        match = _SPEC.match(spec)
        code = match["code"] if match is not None else None
        if match is None or (code is not None and code not in ErrorCode.__members__):
            raise ConcordError(ErrorCode.INVALID_ARGUMENT, f"bad {HEADER} header: {spec!r}")
        if (match["rpc"] and match["rpc"] != rpc) or (match["end"] is not None and not streaming):
            return None
        if not self._take(match["key"], int(match["count"])):
            return None
        if match["end"] is not None:
            return StreamEnd(int(match["after"]), drained=match["end"] == "drain")
        if match["delay"] is not None:
            await asyncio.sleep(min(int(match["delay"]), MAX_DELAY_MS) / 1000)
            return None
        assert code is not None
        error = ErrorCode(code)
        seen = self._seen[match["key"]]
        headers_out = {"Retry-After": "0"} if error == ErrorCode.RATE_LIMITED else {}
        raise ConcordError(error, f"injected fault {seen} of {match['count']}", headers=headers_out)

    def _take(self, key: str, count: int) -> bool:
        """Counts one call of `key`; whether it is within the first `count`."""
        seen = self._seen.get(key, 0)
        if key not in self._seen and len(self._seen) >= MAX_KEYS:
            self._seen.pop(next(iter(self._seen)))  # forget the oldest key: memory stays bounded
        self._seen[key] = seen + 1
        return seen < count
