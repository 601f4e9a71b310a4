"""hiredis packing sends exactly the bytes redis-py's own packer would, and refuses the same."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio.connection import Connection, SSLConnection
from redis.exceptions import DataError

from concord_server.backends.redis.packing import HiredisPacking, packed

Packed = packed(Connection)
ARGUMENT = st.one_of(
    st.text(),
    st.binary(),
    st.integers(),
    st.floats(),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1).map(str.encode),
)
COMMAND = st.sampled_from(["SET", "EVALSHA", "CONFIG GET", b"SCRIPT LOAD", b"GET", "zadd"])


def wire(connection: Any, *args: Any) -> bytes:
    return b"".join(connection.pack_command(*args))


@given(COMMAND, st.lists(ARGUMENT, max_size=12))
def test_every_command_is_packed_as_redis_py_packs_it(command: Any, args: list[Any]) -> None:
    assert wire(Packed(), command, *args) == wire(Connection(), command, *args)


def test_large_values_are_packed_whole() -> None:
    value = b"x" * 100_000
    assert wire(Packed(), "SET", "k", value) == wire(Connection(), "SET", "k", value)


@pytest.mark.parametrize("refused", [True, "\ud800"])
def test_what_hiredis_does_not_take_is_refused_as_redis_py_refuses_it(refused: Any) -> None:
    with pytest.raises(Exception) as ours:
        Packed().pack_command("SET", "k", refused)
    with pytest.raises(Exception) as theirs:
        Connection().pack_command("SET", "k", refused)
    assert type(ours.value) is type(theirs.value)
    if refused is True:
        assert isinstance(ours.value, DataError)


def test_memoryviews_go_to_redis_py() -> None:
    view = memoryview(b"abc")
    assert wire(Packed(), "SET", "k", view) == wire(Connection(), "SET", "k", view)


def test_each_connection_class_keeps_its_own_behaviour() -> None:
    assert issubclass(packed(SSLConnection), SSLConnection)
    assert issubclass(packed(SSLConnection), HiredisPacking)
    assert packed(Packed) is Packed
