"""HealthService: liveness of the process and readiness of every storage component."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from concord_server import __version__
from concord_server._gen.concord.v1 import health_pb2
from concord_server.backends.failures import connection_failure
from concord_server.component import Component
from concord_server.context import CallContext
from concord_server.drain import Drain
from concord_server.errors import ConcordError

CHECK_TIMEOUT_SECONDS = 2.0
SERVING = health_pb2.SERVING_STATUS_SERVING
NOT_SERVING = health_pb2.SERVING_STATUS_NOT_SERVING


class HealthHandlers:
    """Answers the health probes; readiness asks every component's storage."""

    SERVICE = "concord.v1.HealthService"

    def __init__(self, components: Sequence[Component], drain: Drain | None = None) -> None:
        self._components = components
        self._drain = drain

    async def GetLiveness(
        self, request: health_pb2.GetLivenessRequest, ctx: CallContext
    ) -> health_pb2.GetLivenessResponse:
        """Always SERVING while the process runs."""
        return health_pb2.GetLivenessResponse(status=SERVING, version=__version__)

    async def GetReadiness(
        self, request: health_pb2.GetReadinessRequest, ctx: CallContext
    ) -> health_pb2.GetReadinessResponse:
        """SERVING when every component's storage answers within the timeout and the server
        is not shutting down."""
        return await self.readiness()

    async def readiness(self) -> health_pb2.GetReadinessResponse:
        """Probes every component at once; a drain makes the server not ready."""
        results = await asyncio.gather(*(self._probe(c) for c in list(self._components)))
        if self._drain is not None and self._drain.draining:
            results.append(
                health_pb2.ComponentHealth(
                    name="server", status=NOT_SERVING, message="shutting down"
                )
            )
        overall = SERVING if all(r.status == SERVING for r in results) else NOT_SERVING
        return health_pb2.GetReadinessResponse(status=overall, components=results)

    async def ready(self) -> bool:
        """Whether every component's storage answers now."""
        return bool((await self.readiness()).status == SERVING)

    async def _probe(self, component: Component) -> health_pb2.ComponentHealth:
        item = health_pb2.ComponentHealth(name=component.name, backend=component.backend)
        try:
            await asyncio.wait_for(component.check(), CHECK_TIMEOUT_SECONDS)
        except Exception as exc:  # a failing probe is an answer, not an error
            item.status = NOT_SERVING
            item.message = probe_message(exc)[:500]
        else:
            item.status = SERVING
        return item


def probe_message(exc: Exception) -> str:
    """Why a component is not ready, in our words: never an engine's address or its text."""
    if isinstance(exc, ConcordError):
        return exc.message
    if isinstance(exc, TimeoutError):
        return f"no answer within {CHECK_TIMEOUT_SECONDS:g} s"
    return connection_failure(exc) or f"the check failed ({type(exc).__name__})"
