"""Idempotency records: the first answer of a call, kept per key so retries get it again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol


@dataclass(frozen=True)
class IdempotencyRecord:
    """What a key holds: the request's fingerprint and the answer (None while still running)."""

    fingerprint: str
    answer: bytes | None


class IdempotencyStore(Protocol):
    """Keys claimed with an in-progress marker, then completed with an answer that expires.

    A marker lives for its lease, so a crashed server never blocks a key for longer; an answer
    lives for its TTL. Expired keys behave as if they were never used.
    """

    async def begin(
        self, key: str, fingerprint: str, owner: str, lease: timedelta
    ) -> IdempotencyRecord | None:
        """Claims a free key for `owner` (None), or returns the record that holds it."""
        ...

    async def complete(self, key: str, fingerprint: str, answer: bytes, ttl: timedelta) -> None:
        """Stores the answer of a key for `ttl`, replacing its in-progress marker."""
        ...

    async def release(self, key: str, owner: str) -> None:
        """Frees a key that `owner` still holds in progress; answers are never removed."""
        ...

    async def ping(self) -> None:
        """Raises when the storage does not answer."""
        ...
