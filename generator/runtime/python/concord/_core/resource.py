"""Base classes of the generated resources (`client.locks`, `client.sagas` ...)."""

from __future__ import annotations

from concord._core.http import AsyncCore, SyncCore


class SyncResource:
    """A group of calls bound to a sync client."""

    def __init__(self, client: SyncCore) -> None:
        self._client = client


class AsyncResource:
    """A group of calls bound to an async client."""

    def __init__(self, client: AsyncCore) -> None:
        self._client = client
