"""Redis commands over one pipelined connection: each call writes its command (packed by hiredis)
and awaits its reply in turn, parsed by hiredis, so a call costs one write and one future instead
of redis-py's pool checkout, retry wrapper and per-call timeouts (about 150 µs of CPU per lock
script on the 2-core bench machine). Redis answers in the order it was asked, so one connection
serves every concurrent caller.

Failures are redis-py's own exception classes (a reply error through redis-py's parser), so the
error catalogue maps them exactly as it maps the redis.asyncio client's (backends/failures.py).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from hashlib import sha1
from typing import Any, Protocol, cast
from urllib.parse import unquote, urlsplit

from redis import exceptions as redis_errors
from redis._parsers.base import BaseParser

try:
    import hiredis

    HIREDIS = True
except ImportError:  # hiredis does not install on this platform: redis-py serves every call
    HIREDIS = False

# redis-py's map of an error reply ("NOSCRIPT ...", "LOADING ...") onto its exception classes.
parse_error = cast(Callable[[str], redis_errors.RedisError], BaseParser.parse_error)


class RedisCommands(Protocol):
    """What a store needs of Redis for its hot path: one command in, its reply out."""

    async def call(self, *args: Any) -> Any:
        """The reply to one command; a reply error or a lost connection raises."""

    async def call_many(self, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        """The replies to several commands sent together (not a transaction); the first
        reply error raises."""

    async def aclose(self) -> None:
        """Releases what this object holds."""


@dataclass(frozen=True)
class LuaScript:
    """A Lua script and the SHA-1 that EVALSHA knows it by."""

    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "sha", sha1(self.source.encode(), usedforsecurity=False).hexdigest()
        )


async def run_script(
    redis: RedisCommands, script: LuaScript, keys: list[Any], args: list[Any]
) -> Any:
    """EVALSHA; EVAL with the source when Redis lost its script cache (a restart, SCRIPT FLUSH)."""
    try:
        return await redis.call("EVALSHA", script.sha, len(keys), *keys, *args)
    except redis_errors.NoScriptError:
        return await redis.call("EVAL", script.source, len(keys), *keys, *args)


class RedisPyCommands:
    """RedisCommands on a redis.asyncio client, where the pipelined connection cannot serve."""

    def __init__(self, client: Any) -> None:
        # A client on the same pool without redis-py's reply conversions (SET -> True, PING ->
        # True...), so replies are Redis' own, as on the pipelined connection.
        self._client = type(client)(connection_pool=client.connection_pool)
        self._client.response_callbacks.clear()

    async def call(self, *args: Any) -> Any:
        """The reply, through the client's pool."""
        return await self._client.execute_command(*args)

    async def call_many(self, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        """The replies, through one redis-py pipeline without MULTI."""
        async with self._client.pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            replies: list[Any] = await pipe.execute()
        return replies

    async def aclose(self) -> None:
        """Nothing: the client belongs to whoever opened it."""


@dataclass(frozen=True)
class RedisAddress:
    """A plain-TCP Redis server, its database and credentials."""

    host: str
    port: int
    db: int = 0
    username: str | None = None
    password: str | None = None


def plain_address(url: str) -> RedisAddress | None:
    """The address of a `redis://` URL without a query; None for TLS, a socket path, a URL
    whose database is not a number, or where hiredis is missing (redis-py serves those)."""
    parts = urlsplit(url)
    if not HIREDIS or parts.scheme != "redis" or parts.query or not parts.hostname:
        return None
    db = parts.path.strip("/") or "0"
    try:
        port = parts.port or 6379
    except ValueError:  # not a port number: redis-py refuses the URL in its own words
        return None
    if not db.isdigit():
        return None
    return RedisAddress(
        parts.hostname,
        port,
        int(db),
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password is not None else None,
    )


class _Replies(asyncio.Protocol):
    """Hands each reply on the connection to the oldest caller still waiting for one."""

    def __init__(self) -> None:
        self._reader = hiredis.Reader()
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._outgoing: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keeps the transport to write commands to."""
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        """Parses every complete reply and resolves its caller's future."""
        self._reader.feed(data)
        try:
            while (reply := self._reader.gets()) is not False:
                self._resolve(self.waiting.popleft(), reply)
        except (hiredis.ProtocolError, IndexError):  # garbage, or a reply nobody asked for
            assert self.transport is not None
            self.transport.abort()

    @staticmethod
    def _resolve(waiter: asyncio.Future[Any], reply: Any) -> None:
        if waiter.done():  # its caller was cancelled; the reply is dropped in turn
            return
        if isinstance(reply, hiredis.ReplyError):
            waiter.set_exception(parse_error(str(reply)))
        else:
            waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        """Fails every call still waiting: its command may or may not have run."""
        self.closed = True
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_exception(
                    redis_errors.ConnectionError("the connection to Redis was lost")
                )

    def send(self, packed: bytes) -> asyncio.Future[Any]:
        """Queues one packed command; the future resolves with its reply. The commands of one
        loop turn leave in one write (one system call for all callers of that turn)."""
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self.waiting.append(waiter)
        if not self._outgoing:
            loop.call_soon(self._flush)
        self._outgoing.append(packed)
        return waiter

    def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        if self.closed:  # lost before this turn ended: connection_lost failed the callers
            return
        assert self.transport is not None
        self.transport.write(outgoing[0] if len(outgoing) == 1 else b"".join(outgoing))


class PipelinedRedis:
    """RedisCommands on one connection, opened on first use and again after it is lost."""

    def __init__(self, address: RedisAddress, connect_timeout: float) -> None:
        self._address = address
        self._connect_timeout = connect_timeout
        self._replies: _Replies | None = None
        self._connecting = asyncio.Lock()

    async def call(self, *args: Any) -> Any:
        """The reply to one command, after the commands sent before it."""
        packed = hiredis.pack_command(args)
        return await (await self._open()).send(packed)

    async def call_many(self, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        """The replies to `commands`, written in one go and answered in order."""
        packed = [hiredis.pack_command(command) for command in commands]
        replies = await self._open()
        return list(await asyncio.gather(*(replies.send(p) for p in packed)))

    async def _open(self) -> _Replies:
        replies = self._replies
        if replies is None or replies.closed:
            replies = await self._connect()
        return replies

    async def _connect(self) -> _Replies:
        async with self._connecting:
            if self._replies is not None and not self._replies.closed:
                return self._replies
            host, port = self._address.host, self._address.port
            loop = asyncio.get_running_loop()
            try:
                async with asyncio.timeout(self._connect_timeout):
                    _, replies = await loop.create_connection(_Replies, host, port)
                    await self._handshake(replies)
            except TimeoutError:
                raise redis_errors.TimeoutError(f"Timeout connecting to {host}:{port}") from None
            except OSError as exc:
                raise redis_errors.ConnectionError(
                    f"Error connecting to {host}:{port}: {exc}"
                ) from exc
            self._replies = replies
            return replies

    async def _handshake(self, replies: _Replies) -> None:
        """AUTH and SELECT as the URL asks; the connection is closed when either fails."""
        address = self._address
        commands: list[tuple[Any, ...]] = []
        if address.password is not None:
            commands.append(("AUTH", *filter(None, [address.username]), address.password))
        if address.db:
            commands.append(("SELECT", address.db))
        try:
            for command in commands:
                await replies.send(hiredis.pack_command(command))
        except BaseException:
            assert replies.transport is not None
            replies.transport.abort()
            raise

    async def aclose(self) -> None:
        """Closes the connection; calls still waiting fail as on a lost connection."""
        replies, self._replies = self._replies, None
        if replies is not None and replies.transport is not None:
            replies.transport.close()
