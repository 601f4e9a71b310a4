"""The brute-force guard: a limit on failed authentications per client address."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping

from concord_server.domain.ratelimit import rate_limited
from concord_server.middleware.metrics import AUTH_FAILURES
from concord_server.ports.ratelimit import Decision, RateLimiter

KNOWN_PAIRS = 10_000  # credential/address pairs remembered as having authenticated
CREDENTIAL_HEADERS = ("authorization", "x-api-key")


class FailedAuthLimit:
    """A token bucket per client address that only failed authentications drain.

    While an address's bucket is empty every credential it sends is refused with RATE_LIMITED
    before it is checked, so guessing keys costs time; a caller that authenticates never drains
    it. A credential that already authenticated from the same address (in this process) is not
    a guess: it skips the bucket, which spares every authenticated call the bucket's lookup.
    """

    def __init__(
        self, limiter: RateLimiter, rate_per_second: float, known_pairs: int = KNOWN_PAIRS
    ) -> None:
        self._limiter = limiter
        self._rate = rate_per_second
        self._known: OrderedDict[bytes, None] = OrderedDict()
        self._capacity = known_pairs

    async def admit(self, address: str, headers: Mapping[str, str]) -> bytes:
        """Raises RATE_LIMITED while the address has no failures left, unless these credentials
        authenticated from it before; returns the pair's fingerprint for `passed`/`failed`."""
        pair = fingerprint(address, headers)
        if pair in self._known:
            self._known.move_to_end(pair)
            return pair
        decision = await self._limiter.acquire(_failure_key(address), 0)  # a cost of 0 only looks
        if decision.remaining < 1:
            refill = (1 - decision.remaining) / self._rate
            AUTH_FAILURES.labels("throttled").inc()
            raise rate_limited(Decision(False, refill, decision.remaining))
        return pair

    def passed(self, pair: bytes) -> None:
        """Remembers that the credentials authenticated from their address."""
        self._known[pair] = None
        self._known.move_to_end(pair)
        if len(self._known) > self._capacity:
            self._known.popitem(last=False)

    async def failed(self, address: str, pair: bytes) -> None:
        """Counts one failed authentication from the address (and forgets the pair)."""
        self._known.pop(pair, None)
        AUTH_FAILURES.labels("refused").inc()
        await self._limiter.acquire(_failure_key(address))


def fingerprint(address: str, headers: Mapping[str, str]) -> bytes:
    """A digest of the address and the credential headers (the credentials are not kept)."""
    digest = hashlib.blake2b(address.encode(), digest_size=16)
    for name in CREDENTIAL_HEADERS:
        digest.update(b"\0" + headers.get(name, "\0").encode("utf-8", "surrogatepass"))
    return digest.digest()


def _failure_key(address: str) -> str:
    return f"authfail|{address}"
