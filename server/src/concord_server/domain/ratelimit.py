"""Rate limiting rules: one token bucket per credential, and the error a denied call gets."""

from __future__ import annotations

import math

from concord_server.context import Principal
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.ratelimit import Decision, RateLimiter
from concord_server.telemetry.metrics import RATE_LIMITED


def credential_key(principal: Principal) -> str:
    """The bucket of a caller: its subject plus the API key id (shared by tokens of that key)."""
    return f"{principal.subject}|{principal.key_id}"


def rate_limited(decision: Decision) -> ConcordError:
    """The RATE_LIMITED error of a denied decision, with a Retry-After header in whole seconds."""
    wait = max(decision.retry_after_seconds, 0.0)
    return ConcordError(
        ErrorCode.RATE_LIMITED,
        f"rate limit exceeded; retry in {wait:.3f} s",
        {"retry_after_seconds": round(wait, 3)},
        headers={"Retry-After": str(max(1, math.ceil(wait)))},
    )


async def enforce(limiter: RateLimiter, key: str, cost: float = 1) -> None:
    """Takes `cost` tokens from the key's bucket or raises RATE_LIMITED."""
    decision = await limiter.acquire(key, cost)
    if not decision.allowed:
        RATE_LIMITED.inc()
        raise rate_limited(decision)
