"""When to retry and how long to wait: exponential backoff with jitter, `Retry-After` first."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx

INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
JITTER = 0.25


def is_retryable_status(status: int) -> bool:
    """408, 429 and every 5xx may succeed when tried again."""
    return status in (408, 429) or status >= 500


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds from `Retry-After-Ms`, or `Retry-After` (seconds or an HTTP date), else None."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(str(millis)) / 1000)
        except ValueError:
            pass
    header = headers.get("retry-after")
    if header is None:
        return None
    value = str(header)
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def backoff(retries_done: int, rand: Callable[[], float] = random.random) -> float:
    """0.5s, 1s, 2s ... capped at 8s, minus up to 25% jitter."""
    base = min(INITIAL_DELAY * (2.0**retries_done), MAX_DELAY)
    return base * (1 - JITTER * rand())


def retry_delay(
    retries_done: int,
    headers: httpx.Headers | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """The server's `Retry-After` when sane (0-60s), else the backoff."""
    if headers is not None:
        hinted = retry_after(headers)
        if hinted is not None and hinted <= MAX_RETRY_AFTER:
            return hinted
    return backoff(retries_done, rand)
