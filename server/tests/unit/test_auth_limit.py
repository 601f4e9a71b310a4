"""The failed-authentication guard: guesses drain the bucket, known credentials skip it."""

from __future__ import annotations

import pytest

from concord_server.api.auth_limit import FailedAuthLimit, fingerprint
from concord_server.backends.memory.ratelimit import MemoryRateLimiter
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.ratelimit import BucketPolicy, Decision

GOOD = {"x-api-key": "ck_right"}
GUESS = {"x-api-key": "ck_guess"}


class CountingLimiter(MemoryRateLimiter):
    """A memory limiter that counts its lookups."""

    def __init__(self) -> None:
        super().__init__(BucketPolicy(rate_per_second=0.001, burst=2), now=lambda: 0.0)
        self.lookups = 0

    async def acquire(self, key: str, cost: float = 1) -> Decision:
        self.lookups += 1
        return await super().acquire(key, cost)


async def guess(limit: FailedAuthLimit, address: str) -> None:
    pair = await limit.admit(address, GUESS)
    await limit.failed(address, pair)


async def test_a_credential_that_authenticated_from_an_address_skips_the_bucket() -> None:
    limiter = CountingLimiter()
    limit = FailedAuthLimit(limiter, 0.001)
    limit.passed(await limit.admit("10.0.0.1", GOOD))
    before = limiter.lookups
    for _ in range(5):
        await limit.admit("10.0.0.1", GOOD)
    assert limiter.lookups == before


async def test_a_throttled_address_waits_even_with_a_right_key_it_never_used() -> None:
    limit = FailedAuthLimit(CountingLimiter(), 0.001)
    await guess(limit, "10.0.0.2")
    await guess(limit, "10.0.0.2")
    with pytest.raises(ConcordError) as refused:
        await limit.admit("10.0.0.2", GOOD)
    assert refused.value.code is ErrorCode.RATE_LIMITED


async def test_a_client_that_authenticated_is_not_held_up_by_a_guesser_at_its_address() -> None:
    limit = FailedAuthLimit(CountingLimiter(), 0.001)
    limit.passed(await limit.admit("10.0.0.3", GOOD))
    await guess(limit, "10.0.0.3")
    await guess(limit, "10.0.0.3")
    with pytest.raises(ConcordError):
        await limit.admit("10.0.0.3", GUESS)
    await limit.admit("10.0.0.3", GOOD)  # no error


async def test_a_credential_that_fails_is_forgotten() -> None:
    limit = FailedAuthLimit(CountingLimiter(), 0.001)
    pair = await limit.admit("10.0.0.4", GOOD)
    limit.passed(pair)
    await limit.failed("10.0.0.4", pair)  # revoked since
    await guess(limit, "10.0.0.4")
    with pytest.raises(ConcordError):
        await limit.admit("10.0.0.4", GOOD)


async def test_the_remembered_pairs_are_bounded() -> None:
    limiter = CountingLimiter()
    limit = FailedAuthLimit(limiter, 0.001, known_pairs=2)
    for address in ("a", "b", "c"):
        limit.passed(await limit.admit(address, GOOD))
    before = limiter.lookups
    await limit.admit("a", GOOD)  # the oldest was dropped: looked up again
    assert limiter.lookups == before + 1


def test_the_fingerprint_tells_addresses_and_credentials_apart() -> None:
    prints = {
        fingerprint("a", GOOD),
        fingerprint("b", GOOD),
        fingerprint("a", GUESS),
        fingerprint("a", {"authorization": "ck_right"}),
        fingerprint("a", {}),
    }
    assert len(prints) == 5
