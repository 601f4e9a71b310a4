"""W3C Trace Context: read an incoming `traceparent`, continue its trace with a new span."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

HEADER = "traceparent"
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


@dataclass(frozen=True)
class Trace:
    """The trace a request belongs to and this server's span in it."""

    trace_id: str
    span_id: str
    flags: str = "00"

    def traceparent(self) -> str:
        """The `traceparent` value naming this server's span."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


def parse_traceparent(value: str | None) -> tuple[str, str] | None:
    """The (trace id, flags) of a valid `traceparent`, or None for a missing or invalid one."""
    match = _TRACEPARENT.fullmatch((value or "").strip())
    if match is None:
        return None
    version, trace_id, parent_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    if trace_id == _ZERO_TRACE or parent_id == _ZERO_SPAN:
        return None
    return trace_id, flags


def _random_hex(bits: int) -> str:
    """A random id of `bits` bits in hex, never all zeros (OpenTelemetry's id generator does
    the same: trace ids need randomness, not secrecy)."""
    value = 0
    while value == 0:
        value = random.getrandbits(bits)
    return f"{value:0{bits // 4}x}"


def start_span(incoming: str | None) -> Trace:
    """A new span in the incoming trace, or in a new trace when there is none."""
    parsed = parse_traceparent(incoming) if incoming else None
    span_id = _random_hex(64)
    if parsed is None:
        return Trace(trace_id=_random_hex(128), span_id=span_id)
    trace_id, flags = parsed
    return Trace(trace_id=trace_id, span_id=span_id, flags=flags)
