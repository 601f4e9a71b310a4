"""The brute-force guard: a limit on failed authentications per client address."""

from __future__ import annotations

from concord_server.domain.ratelimit import rate_limited
from concord_server.middleware.metrics import AUTH_FAILURES
from concord_server.ports.ratelimit import Decision, RateLimiter


class FailedAuthLimit:
    """A token bucket per client address that only failed authentications drain.

    While an address's bucket is empty every credential it sends is refused with RATE_LIMITED
    before it is checked, so guessing keys costs time; a caller that authenticates never drains it.
    """

    def __init__(self, limiter: RateLimiter, rate_per_second: float) -> None:
        self._limiter = limiter
        self._rate = rate_per_second

    async def admit(self, address: str) -> None:
        """Raises RATE_LIMITED while the address has no failures left."""
        decision = await self._limiter.acquire(_failure_key(address), 0)  # a cost of 0 only looks
        if decision.remaining < 1:
            refill = (1 - decision.remaining) / self._rate
            AUTH_FAILURES.labels("throttled").inc()
            raise rate_limited(Decision(False, refill, decision.remaining))

    async def failed(self, address: str) -> None:
        """Counts one failed authentication from the address."""
        AUTH_FAILURES.labels("refused").inc()
        await self._limiter.acquire(_failure_key(address))


def _failure_key(address: str) -> str:
    return f"authfail|{address}"
