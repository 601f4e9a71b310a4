"""Redis commands packed by hiredis' C packer: redis-py's asyncio connections pack every command
in Python (about 20 µs for a lock script's call), although hiredis is installed for replies."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

_hiredis_pack: Callable[[tuple[Any, ...]], bytes] | None
try:
    from hiredis import pack_command as _hiredis_pack
except ImportError:  # hiredis does not install on this platform: redis-py packs
    _hiredis_pack = None


class HiredisPacking:
    """A connection mixin whose `pack_command` hands the arguments to hiredis; whatever hiredis
    does not take (bools, memoryviews, text that is not UTF-8) goes to redis-py's own packer,
    so every refusal and every byte on the wire stays what redis-py would send."""

    def pack_command(self, *args: Any) -> list[bytes]:
        """The command in the Redis protocol, as one buffer."""
        first = args[0]
        if isinstance(first, str):  # "SCRIPT LOAD": the words are separate arguments
            args = (*first.encode().split(), *args[1:])
        elif isinstance(first, bytes) and b" " in first:
            args = (*first.split(), *args[1:])
        try:
            return [_hiredis_pack(args)]  # type: ignore[misc]
        except (TypeError, UnicodeError):
            return super().pack_command(*args)  # type: ignore[misc, no-any-return]


@cache
def packed(connection_class: type) -> type:
    """`connection_class` with hiredis packing (itself where hiredis is missing)."""
    if _hiredis_pack is None or issubclass(connection_class, HiredisPacking):
        return connection_class
    return type(connection_class.__name__, (HiredisPacking, connection_class), {})


def pack_with_hiredis(client: Any) -> Any:
    """The redis.asyncio client, its pool now making connections that pack with hiredis."""
    pool = client.connection_pool
    pool.connection_class = packed(pool.connection_class)
    return client
