"""Server streams that are subscribed when opened and released when closed, read or not."""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
U = TypeVar("U")
Release = Callable[[], Awaitable[None] | None]


class OpenStream(Generic[T]):
    """The items of a subscription opened already; `aclose` releases it even if never read.

    Streams subscribe before the transport reports them open (SSE headers, the WebSocket
    `subscribed` message, gRPC initial metadata), so a change made after the client saw the
    stream open is never missed. An async generator alone cannot give both: its body, where the
    subscription would live, does not run until the first read.
    """

    def __init__(
        self, items: AsyncGenerator[T, None], release: Release, resume_after: int | None = None
    ) -> None:
        self._items = items
        self._release = release
        # A stream that starts "from now": the last revision/position it does not deliver, so
        # that a client can resume after it (SSE's id-only first frame); None otherwise.
        self.resume_after = resume_after

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        return await self._items.__anext__()

    async def aclose(self) -> None:
        """Stops the items and releases the subscription (idempotent)."""
        try:
            await self._items.aclose()
        finally:
            released = self._release()
            if inspect.isawaitable(released):
                await released

    def map(self, convert: Callable[[T], U]) -> OpenStream[U]:
        """The same subscription with every item converted; closing it closes this one."""

        async def converted() -> AsyncGenerator[U, None]:
            async for item in self:
                yield convert(item)

        return OpenStream(converted(), self.aclose, self.resume_after)
