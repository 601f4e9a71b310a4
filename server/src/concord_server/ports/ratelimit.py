"""The rate limiter: a token bucket per key, shared by every instance using the same storage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Decision:
    """The outcome of one acquire: allowed or not, when to retry, and tokens left."""

    allowed: bool
    retry_after_seconds: float
    remaining: float


class RateLimiter(Protocol):
    """Takes `cost` tokens from the bucket of a key, refilled at a steady rate up to a burst."""

    async def acquire(self, key: str, cost: float = 1) -> Decision:
        """Takes the tokens when the bucket holds enough; otherwise takes none and says when."""
        ...

    async def ping(self) -> None:
        """Raises when the storage does not answer."""
        ...


@dataclass(frozen=True)
class BucketPolicy:
    """The rate (tokens per second) and the burst (bucket capacity) of every bucket."""

    rate_per_second: float
    burst: float

    def __post_init__(self) -> None:
        if self.rate_per_second <= 0 or self.burst <= 0:
            raise ValueError("rate limit rate and burst must be positive")

    def check_cost(self, cost: float) -> None:
        """Rejects a cost no bucket could ever pay; a cost of 0 only reads the bucket."""
        if cost < 0 or cost > self.burst:
            raise ValueError(f"cost must be in [0, {self.burst}], got {cost}")
