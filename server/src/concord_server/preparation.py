"""Start-up that outlives its engines being down (docs/storage/outages.md).

Each step opens one kind of storage (connect, create tables, load scripts). The steps run as
background tasks from the start: one that finds its engine unable to serve retries with backoff
until it succeeds, while the server already answers its health probes and says what is pending.
A step that fails for any other reason on its first try (a bad URL, say) fails the start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from concord_server.component import Component
from concord_server.errors import ConcordError, ErrorCode

log = logging.getLogger("concord.preparation")

FIRST_TRY_SECONDS = 15.0  # how long start-up waits for the first try of every step
ATTEMPT_SECONDS = 30.0  # bound on one try, so an engine that never answers is tried again
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 10.0


def backoff(attempt: int, rng: random.Random) -> float:
    """The pause after failed try number `attempt` (1, 2, ...): doubling, capped, jittered."""
    ceiling = min(BACKOFF_MAX, BACKOFF_FIRST * 2.0 ** min(attempt - 1, 30))
    return ceiling * rng.uniform(0.5, 1.0)


@dataclass(eq=False)
class Step:
    """One part of start-up that needs storage; while pending it is a readiness component."""

    name: str
    backend: str
    run: Callable[[], Awaitable[list[Component]]]  # what readiness probes once it succeeded
    done: bool = False
    tries: int = 0
    failure: str = "not tried yet"
    first_try: asyncio.Event = field(default_factory=asyncio.Event)
    fatal: BaseException | None = None

    async def start(self) -> None:
        """Nothing to start: the preparation runs the step."""

    async def stop(self) -> None:
        """Nothing to stop: the preparation cancels the step."""

    async def check(self) -> None:
        """Raises UNAVAILABLE until the step has succeeded."""
        if not self.done:
            raise ConcordError(ErrorCode.UNAVAILABLE, f"starting: {self.failure}")


class Preparation:
    """Runs the steps, retrying those whose engine cannot serve, and calls `on_ready` once all
    have succeeded. `components` is the readiness view it keeps: each step until it succeeds,
    then the components the step opened."""

    def __init__(
        self,
        steps: list[Step],
        on_ready: Callable[[], Awaitable[None]],
        components: list[Component],
        rng: random.Random | None = None,
    ) -> None:
        self.steps = steps
        self._on_ready = on_ready
        self._components = components
        components[:] = steps
        self._rng = rng or random.Random()
        self._tasks: list[asyncio.Task[None]] = []
        self._finish: asyncio.Task[None] | None = None
        self._judging = False
        self.ready = asyncio.Event()

    def pending(self) -> list[str]:
        """The names of the steps that have not succeeded yet."""
        return [step.name for step in self.steps if not step.done]

    def not_ready(self) -> ConcordError:
        """The retryable error of a call that arrives before every step has succeeded."""
        pending = self.pending()
        return ConcordError(
            ErrorCode.UNAVAILABLE,
            f"the server is still connecting to its storage ({', '.join(pending)}); retry later",
            {"reason": "starting", "pending": pending},
            headers={"Retry-After": "1"},
        )

    async def start(self) -> None:
        """Starts every step; returns once each has had its first try (or FIRST_TRY_SECONDS
        passed). Raises what a step's first try raised when that is not an engine outage."""
        self._judging = True
        self._tasks = [
            asyncio.create_task(self._drive(s), name=f"prepare-{s.name}") for s in self.steps
        ]
        waits = [asyncio.create_task(step.first_try.wait()) for step in self.steps]
        await asyncio.wait(waits, timeout=FIRST_TRY_SECONDS)
        self._judging = False
        for wait in waits:
            wait.cancel()
        fatal = next((s.fatal for s in self.steps if s.fatal is not None), None)
        if fatal is not None:
            await self.stop()
            raise fatal
        if self.pending():
            log.warning("storage not ready yet (%s); retrying in the background", self.pending())
            self._finish = asyncio.create_task(self._when_done(), name="prepare-finish")
        else:
            await self._ready()

    async def _drive(self, step: Step) -> None:
        """Tries the step until it succeeds. A first try judged by `start` that fails for
        another reason than an outage ends it (the start fails); later, everything is retried."""
        while not step.done:
            step.tries += 1
            failure = await self._try(step)
            if failure is not None and step.tries == 1 and self._judging:
                step.fatal = failure
            step.first_try.set()
            if step.fatal is not None:
                return
            if not step.done:
                pause = backoff(step.tries, self._rng)
                log.info("%s: %s; next try in %.1f s", step.name, step.failure, pause)
                await asyncio.sleep(pause)

    async def _try(self, step: Step) -> Exception | None:
        """One try: marks the step done, or says in `step.failure` why not; returns what failed
        when it is not an engine outage."""
        try:
            async with asyncio.timeout(ATTEMPT_SECONDS):
                opened = await step.run()
        except ConcordError as exc:
            step.failure = exc.message
            if exc.code is ErrorCode.UNAVAILABLE:
                return None
            log.error("opening %s storage failed: %s", step.name, exc.message)
            return exc
        except TimeoutError:
            step.failure = f"{step.name} storage did not answer within {ATTEMPT_SECONDS:g} s"
            return None
        except Exception as exc:
            step.failure = f"{step.name} storage failed to open ({type(exc).__name__})"
            log.exception("opening %s storage failed", step.name)
            return exc
        step.done = True
        at = self._components.index(step)
        self._components[at : at + 1] = opened
        return None

    async def _when_done(self) -> None:
        await asyncio.gather(*self._tasks)
        if not self.pending():
            await self._ready()

    async def _ready(self) -> None:
        try:
            await self._on_ready()
        except Exception:
            log.exception("start-up failed after its storage became ready")
            raise
        self.ready.set()
        log.info("storage ready: serving")

    async def stop(self) -> None:
        """Cancels whatever is still trying."""
        for task in [*self._tasks, *([self._finish] if self._finish else [])]:
            task.cancel()
        for task in [*self._tasks, *([self._finish] if self._finish else [])]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
