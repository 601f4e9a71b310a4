"""The storage seam: every store opened by the backend registry is wrapped so that each of its
async calls is timed (by engine, capability and operation) and, when tracing is on, gets a span."""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

from concord_server.errors import ConcordError, ErrorCode
from concord_server.telemetry import tracing
from concord_server.telemetry.metrics import STORAGE_ERRORS, STORAGE_SECONDS

# Codes a store raises when its engine failed, rather than to answer a request.
ENGINE_FAILURES = frozenset({ErrorCode.UNAVAILABLE, ErrorCode.INTERNAL})


class InstrumentedStore:
    """A store whose coroutine methods are timed and traced; everything else passes through."""

    def __init__(self, store: Any, capability: str, engine: str) -> None:
        self.__dict__["_inner"] = store
        self.__dict__["_capability"] = capability
        self.__dict__["_engine"] = engine

    @property
    def inner(self) -> Any:
        """The store this one wraps."""
        return self.__dict__["_inner"]

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        """The wrapped store's class, so `isinstance` sees through the wrapper."""
        return type(self.__dict__["_inner"])

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.__dict__["_inner"], name)
        if name.startswith("_") or not inspect.iscoroutinefunction(attr):
            return attr
        timed = _timed(attr, self.__dict__["_engine"], self.__dict__["_capability"], name)
        self.__dict__[name] = timed  # bound once per method
        return timed

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.__dict__["_inner"], name, value)

    def __repr__(self) -> str:
        return f"InstrumentedStore({self.__dict__['_inner']!r})"


def _timed(
    method: Callable[..., Awaitable[Any]], engine: str, capability: str, operation: str
) -> Callable[..., Awaitable[Any]]:
    """The method, observed into the storage histogram and wrapped in a span when traced."""
    histogram = STORAGE_SECONDS.labels(engine, capability, operation)

    async def call(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        span = tracing.storage_span(engine, capability, operation)
        try:
            return await method(*args, **kwargs)
        except ConcordError as err:
            if err.code in ENGINE_FAILURES:
                STORAGE_ERRORS.labels(engine, capability, err.code.value).inc()
                tracing.record_failure(span, err)
            raise
        finally:
            histogram.observe(time.perf_counter() - start)
            if span is not None:
                span.end()

    call.__name__ = operation
    call.__doc__ = method.__doc__
    return call


def instrument(store: Any, capability: str, engine: str) -> Any:
    """The store wrapped for metrics and tracing (its error series start at 0)."""
    for code in ENGINE_FAILURES:
        STORAGE_ERRORS.labels(engine, capability, code.value)
    return InstrumentedStore(store, capability, engine)
