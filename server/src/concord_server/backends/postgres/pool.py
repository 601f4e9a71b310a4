"""The asyncpg pool every PostgreSQL store shares, without asyncpg's reset round trip."""

from __future__ import annotations

from typing import Any

import asyncpg

POOL_MAX_SIZE = 10


class PooledConnection(asyncpg.Connection):  # type: ignore[misc]
    """A connection that goes back to the pool without the reset query.

    asyncpg resets a released connection with one more round trip (`SELECT
    pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`), which doubles the round trips of
    a one-statement call. The stores leave nothing for it to undo: they take only
    transaction-scoped advisory locks, declare no cursor outside a transaction, set no session
    setting, and unlisten before giving a listening connection back (a leftover LISTEN would only
    deliver notifications that nobody is called for). asyncpg still rolls back an open
    transaction and drops listener callbacks on release.
    """

    def get_reset_query(self) -> str:
        """No reset statement (see the class docstring)."""
        return ""


async def create_pool(url: str, connect_timeout: float) -> Any:
    """A pool of up to POOL_MAX_SIZE connections to `url` (a driver URL, no Concord options)."""
    return await asyncpg.create_pool(
        url,
        min_size=1,
        max_size=POOL_MAX_SIZE,
        timeout=connect_timeout,
        connection_class=PooledConnection,
    )
