"""`client.with_raw_response`: the same calls, answering status, headers and the parsed body."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Generic, ParamSpec, TypeVar, cast

import httpx

P = ParamSpec("P")
T = TypeVar("T")

# Set while a raw-response wrapper runs: the core then answers a RawResponse.
RAW_MODE: ContextVar[bool] = ContextVar("concord_raw_mode", default=False)


@dataclass(frozen=True)
class RawResponse(Generic[T]):
    """An answer with its HTTP status and headers next to the parsed body (over gRPC: 200 and
    the call's initial and trailing metadata)."""

    status_code: int
    headers: httpx.Headers
    parsed: T
    http_response: httpx.Response | None  # None over the gRPC transport (headers: metadata)

    @property
    def request_id(self) -> str:
        """The server's `X-Request-ID`."""
        return str(self.headers.get("x-request-id", ""))


def raw_wrapper(method: Callable[P, T]) -> Callable[P, RawResponse[T]]:
    """Wrap a resource method so that it answers a RawResponse."""

    @functools.wraps(method)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
        token = RAW_MODE.set(True)
        try:
            return cast("RawResponse[T]", method(*args, **kwargs))
        finally:
            RAW_MODE.reset(token)

    return wrapped


def async_raw_wrapper(
    method: Callable[P, Awaitable[T]],
) -> Callable[P, Awaitable[RawResponse[T]]]:
    """Wrap an async resource method so that it answers a RawResponse."""

    @functools.wraps(method)
    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
        token = RAW_MODE.set(True)
        try:
            return cast("RawResponse[T]", await method(*args, **kwargs))
        finally:
            RAW_MODE.reset(token)

    return wrapped
