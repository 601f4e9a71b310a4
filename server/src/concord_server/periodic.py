"""A background task that runs one coroutine at a fixed interval until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from concord_server.errors import ConcordError

log = logging.getLogger(__name__)


class Periodic:
    """Calls `tick()` every `interval` seconds; a failing tick is logged and retried next time."""

    def __init__(self, name: str, interval: float, tick: Callable[[], Awaitable[object]]) -> None:
        self.name = name
        self._interval = interval
        self._tick = tick
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Starts the loop (once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Cancels the loop and waits until it has ended."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self._tick()
            except ConcordError as exc:
                log.warning("%s failed: %s", self.name, exc.message)
            except Exception:
                log.exception("%s failed", self.name)
