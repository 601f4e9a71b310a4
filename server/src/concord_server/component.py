"""What each domain hands to the app: its RPC handlers and the parts with a lifecycle."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol


class Component(Protocol):
    """A part with background work or connections: started, stopped, and health-checked."""

    name: str
    backend: str

    async def start(self) -> None:
        """Starts background work (expiry sweeps, runners); called once at server start."""
        ...

    async def stop(self) -> None:
        """Stops background work; called once at shutdown."""
        ...

    async def check(self) -> None:
        """Raises when the component's storage does not answer (readiness)."""
        ...


@dataclass
class Wired:
    """The output of a domain's `wire(...)`: handler objects, lifecycle components, and the
    samplers that set its gauges from the store (telemetry/samplers.py)."""

    handlers: list[object] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)
    samplers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
