"""The pipelined Redis connection against a private redis-server: replies reach their callers in
order under concurrency and cancellation, errors are redis-py's, a lost server is a retryable
UNAVAILABLE, and the connection comes back with the server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from concord_server.backends.redis.common import redis_errors as catalogue
from concord_server.backends.redis.pipelined import (
    LuaScript,
    PipelinedRedis,
    RedisAddress,
    RedisCommands,
    RedisPyCommands,
    plain_address,
    run_script,
)
from concord_server.errors import ConcordError, ErrorCode
from tests.engines import HOST, Redis


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Redis]:
    """A redis-server of this test's own, so it can be killed."""
    redis = Redis(tmp_path / "redis")
    redis.start()
    yield redis
    redis.kill()


@pytest.fixture
async def pipelined(engine: Redis) -> AsyncIterator[PipelinedRedis]:
    """A pipelined connection to the test's redis-server."""
    connection = PipelinedRedis(RedisAddress(HOST, engine.port), connect_timeout=5)
    yield connection
    await connection.aclose()


async def test_concurrent_calls_each_get_their_own_reply(pipelined: PipelinedRedis) -> None:
    values = [f"value-{i}".encode() * (i % 7 + 1) for i in range(500)]
    replies = await asyncio.gather(*(pipelined.call("ECHO", value) for value in values))
    assert replies == values


@pytest.fixture(params=["pipelined", "redis-py"])
async def commands(request: pytest.FixtureRequest, engine: Redis) -> AsyncIterator[RedisCommands]:
    """Each implementation of RedisCommands on the test's redis-server."""
    if request.param == "pipelined":
        yield PipelinedRedis(RedisAddress(HOST, engine.port), connect_timeout=5)
    else:
        client = aioredis.from_url(engine.url)
        yield RedisPyCommands(client)
        await client.aclose()


async def test_both_implementations_answer_alike(commands: RedisCommands) -> None:
    assert await commands.call("SET", "k", b"v", "NX", "PX", 60_000) == b"OK"
    assert await commands.call("SET", "k", b"w", "NX", "PX", 60_000) is None
    await commands.call("HSET", "h", "a", "1", "b", "2")
    reads = [("HMGET", "h", "a", "x", "b"), ("GET", "k"), ("HMGET", "missing", "a")]
    assert await commands.call_many(reads) == [[b"1", None, b"2"], b"v", [None]]
    with pytest.raises(redis_errors.ResponseError, match="WRONGTYPE"):
        await commands.call_many([("GET", "k"), ("HGET", "k", "a")])
    script = LuaScript("return redis.call('GET', KEYS[1])")
    assert await run_script(commands, script, ["k"], []) == b"v"
    await commands.aclose()


async def test_a_cancelled_call_leaves_the_next_replies_in_place(pipelined: PipelinedRedis) -> None:
    slow = asyncio.create_task(pipelined.call("BLPOP", "never-filled", 0.3))
    await asyncio.sleep(0.05)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert await pipelined.call("ECHO", b"after") == b"after"
    assert await pipelined.call("INCR", "counter") == 1


async def test_reply_errors_are_redis_py_exceptions(pipelined: PipelinedRedis) -> None:
    with pytest.raises(redis_errors.NoScriptError):
        await pipelined.call("EVALSHA", "0" * 40, 0)
    await pipelined.call("SET", "text", "x")
    with pytest.raises(redis_errors.ResponseError, match="WRONGTYPE"):
        await pipelined.call("LPUSH", "text", "y")
    assert await pipelined.call("GET", "text") == b"x"


async def test_a_script_runs_again_after_the_server_forgot_it(pipelined: PipelinedRedis) -> None:
    script = LuaScript("return {KEYS[1], ARGV[1], 7}")
    assert await run_script(pipelined, script, ["k"], ["a"]) == [b"k", b"a", 7]
    await pipelined.call("SCRIPT", "FLUSH")
    assert await run_script(pipelined, script, ["k2"], [5]) == [b"k2", b"5", 7]
    assert await pipelined.call("SCRIPT", "EXISTS", script.sha) == [1]


async def test_a_killed_server_is_unavailable_and_its_return_reconnects(
    engine: Redis, pipelined: PipelinedRedis
) -> None:
    assert await pipelined.call("PING") == b"PONG"
    waiting = asyncio.create_task(pipelined.call("BLPOP", "never-filled", 30))
    await asyncio.sleep(0.1)
    engine.kill()
    for call in (waiting, pipelined.call("PING")):
        with pytest.raises(ConcordError) as refused, catalogue("lock"):
            await call
        assert refused.value.code is ErrorCode.UNAVAILABLE
    engine.start()
    assert await pipelined.call("PING") == b"PONG"


async def test_a_server_that_is_not_there_cannot_be_connected(engine: Redis) -> None:
    engine.kill()
    connection = PipelinedRedis(RedisAddress(HOST, engine.port), connect_timeout=5)
    with pytest.raises(ConcordError, match="cannot connect") as refused, catalogue("lock"):
        await connection.call("PING")
    assert refused.value.code is ErrorCode.UNAVAILABLE


async def test_credentials_and_database_of_the_url_are_used(engine: Redis) -> None:
    admin = aioredis.from_url(engine.url)
    await admin.config_set("requirepass", "s3cr:t")
    await admin.aclose()
    address = plain_address(f"redis://:s3cr%3At@{HOST}:{engine.port}/3")
    assert address is not None
    connection = PipelinedRedis(address, connect_timeout=5)
    await connection.call("SET", "where", "db3")
    await connection.aclose()
    check = aioredis.from_url(f"redis://:s3cr%3At@{HOST}:{engine.port}/3")
    assert await check.get("where") == b"db3"
    await check.aclose()
    wrong = PipelinedRedis(RedisAddress(HOST, engine.port, password="nope"), connect_timeout=5)
    with pytest.raises(ConcordError, match="credentials"), catalogue("lock"):
        await wrong.call("PING")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://h:1/2", RedisAddress("h", 1, 2)),
        ("redis://h", RedisAddress("h", 6379, 0)),
        ("redis://u:p%40ss@h:1", RedisAddress("h", 1, 0, "u", "p@ss")),
        ("rediss://h:1/0", None),
        ("unix:///tmp/redis.sock", None),
        ("redis://h:1/0?protocol=3", None),
        ("redis://h:1/x", None),
        ("redis://h:99999/0", None),
    ],
)
def test_only_plain_tcp_urls_are_pipelined(url: str, expected: RedisAddress | None) -> None:
    assert plain_address(url) == expected
