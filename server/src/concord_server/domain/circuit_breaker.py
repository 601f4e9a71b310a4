"""Circuit breakers per HTTP target origin: fail fast while a target keeps failing."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from concord_server.clock import Clock

_DEFAULT_PORTS = {"http": 80, "https": 443}


class BreakerState(StrEnum):
    """Closed lets calls through, open fails them fast, half-open lets one trial through."""

    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class CircuitBreaker:
    """Opens after `failure_threshold` consecutive failures; after `cooldown` one trial call
    decides: success closes it, failure opens it again."""

    def __init__(self, clock: Clock, failure_threshold: int = 5, cooldown: float = 30.0) -> None:
        self._clock = clock
        self._threshold = failure_threshold
        self._cooldown = timedelta(seconds=cooldown)
        self._failures = 0
        self._opened_at: datetime | None = None
        self._trial_started_at: datetime | None = None

    @property
    def state(self) -> BreakerState:
        """The state right now (an open breaker turns half-open once the cool-down is over)."""
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock.now() - self._opened_at >= self._cooldown:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """Whether a call may go through now; a half-open breaker admits one trial at a time."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN:
            return False
        now = self._clock.now()
        trial = self._trial_started_at
        if trial is not None and now - trial < self._cooldown:
            return False  # a trial is under way; a trial that never reported is replaced
        self._trial_started_at = now
        return True

    def record_success(self) -> None:
        """A call succeeded: the breaker closes."""
        self._failures = 0
        self._opened_at = None
        self._trial_started_at = None

    def record_failure(self) -> None:
        """A call failed: counts towards opening, or re-opens a half-open breaker."""
        self._trial_started_at = None
        if self._opened_at is not None:
            self._opened_at = self._clock.now()
            return
        self._failures += 1
        if self._failures >= self._threshold:
            self._opened_at = self._clock.now()


def origin_of(url: str) -> str:
    """The origin `scheme://host:port` of a URL, with the default port made explicit.

    Raises ValueError for a URL whose port is not a number in range.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    return f"{scheme}://{host}:{port}"


class CircuitBreakers:
    """One breaker per target origin, made on first use (per server instance)."""

    def __init__(self, clock: Clock, failure_threshold: int = 5, cooldown: float = 30.0) -> None:
        self._clock = clock
        self._threshold = failure_threshold
        self._cooldown = cooldown
        self._breakers: dict[str, CircuitBreaker] = {}

    def for_url(self, url: str) -> CircuitBreaker:
        """The breaker of the URL's origin."""
        origin = origin_of(url)
        breaker = self._breakers.get(origin)
        if breaker is None:
            breaker = CircuitBreaker(self._clock, self._threshold, self._cooldown)
            self._breakers[origin] = breaker
        return breaker
