"""In-process token buckets: exact within one server process, not shared between processes."""

from __future__ import annotations

import time
from collections.abc import Callable

from concord_server.backends.connections import Connections
from concord_server.config import Settings
from concord_server.ports.ratelimit import BucketPolicy, Decision, RateLimiter

# Forget buckets that have refilled to full once this many are held (they equal a new bucket).
_PRUNE_THRESHOLD = 10_000


class MemoryRateLimiter:
    """Token buckets in a dict, refilled lazily from a monotonic clock."""

    def __init__(self, policy: BucketPolicy, now: Callable[[], float] = time.monotonic) -> None:
        self._policy = policy
        self._now = now
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    async def acquire(self, key: str, cost: float = 1) -> Decision:
        """Takes `cost` tokens from the key's bucket if it holds that many."""
        self._policy.check_cost(cost)
        now = self._now()
        tokens = self._tokens_at(key, now)
        if tokens >= cost:
            tokens -= cost
            self._buckets[key] = (tokens, now)
            self._prune(now)
            return Decision(allowed=True, retry_after_seconds=0.0, remaining=tokens)
        self._buckets[key] = (tokens, now)
        wait = (cost - tokens) / self._policy.rate_per_second
        return Decision(allowed=False, retry_after_seconds=wait, remaining=tokens)

    async def ping(self) -> None:
        """Always answers."""

    @property
    def held_buckets(self) -> int:
        """How many buckets are held in memory."""
        return len(self._buckets)

    def _tokens_at(self, key: str, now: float) -> float:
        """The bucket's tokens at `now` after refilling (a new bucket is full)."""
        held = self._buckets.get(key)
        if held is None:
            return self._policy.burst
        tokens, at = held
        refill = max(0.0, now - at) * self._policy.rate_per_second
        return min(self._policy.burst, tokens + refill)

    def _prune(self, now: float) -> None:
        """Drops full buckets when many are held, so idle keys do not grow memory."""
        if len(self._buckets) < _PRUNE_THRESHOLD:
            return
        full = [key for key in self._buckets if self._tokens_at(key, now) >= self._policy.burst]
        for key in full:
            del self._buckets[key]


class UnlimitedRateLimiter:
    """Allows everything: used when `rate_limit_per_second` is 0 or less (limiting disabled)."""

    async def acquire(self, key: str, cost: float = 1) -> Decision:
        """Always allowed."""
        return Decision(allowed=True, retry_after_seconds=0.0, remaining=float("inf"))

    async def ping(self) -> None:
        """Always answers."""


def policy_of(settings: Settings) -> BucketPolicy | None:
    """The bucket policy of the settings, or None when rate limiting is disabled."""
    if settings.rate_limit_per_second <= 0:
        return None
    burst = max(float(settings.rate_limit_burst), 1.0)
    return BucketPolicy(rate_per_second=settings.rate_limit_per_second, burst=burst)


async def open_rate_limiter(url: str, settings: Settings, connections: Connections) -> RateLimiter:
    """Opens an in-process limiter for a memory:// URL."""
    policy = policy_of(settings)
    return UnlimitedRateLimiter() if policy is None else MemoryRateLimiter(policy)
