"""Time sources: the system clock, and a manual clock for tests."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Wall-clock time (tz-aware UTC) and a sleep that follows the same clock."""

    def now(self) -> datetime:
        """The current time, tz-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Waits for this many seconds of this clock."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current time, tz-aware UTC."""
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        """Waits for real."""
        await asyncio.sleep(max(0.0, seconds))


class ManualClock:
    """A clock that only moves when told to; `sleep` yields and returns at once."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2030, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        """The current (manual) time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Moves the clock forward."""
        self._now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        """Moves the clock forward by `seconds` and yields once."""
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)


def monotonic() -> float:
    """Monotonic seconds, for measuring waits."""
    return time.monotonic()
