"""HealthService: liveness of the process and readiness of every storage component."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from concord_server import __version__
from concord_server._gen.concord.v1 import health_pb2
from concord_server.component import Component
from concord_server.context import CallContext
from concord_server.drain import Drain

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
        results = await asyncio.gather(*(self._probe(c) for c in self._components))
        if self._drain is not None and self._drain.draining:
            results.append(
                health_pb2.ComponentHealth(
                    name="server", status=NOT_SERVING, message="shutting down"
                )
            )
        overall = SERVING if all(r.status == SERVING for r in results) else NOT_SERVING
        return health_pb2.GetReadinessResponse(status=overall, components=results)

    async def _probe(self, component: Component) -> health_pb2.ComponentHealth:
        item = health_pb2.ComponentHealth(name=component.name, backend=component.backend)
        try:
            await asyncio.wait_for(component.check(), CHECK_TIMEOUT_SECONDS)
        except Exception as exc:  # a failing probe is an answer, not an error
            item.status = NOT_SERVING
            item.message = f"{type(exc).__name__}: {exc}"[:500]
        else:
            item.status = SERVING
        return item
