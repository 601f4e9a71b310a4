"""Options and helpers several command groups share."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import timedelta
from itertools import islice
from typing import Annotated, TypeVar

import typer

from concord_cli.parsing import duration

T = TypeVar("T")

Limit = Annotated[
    int | None, typer.Option("--limit", "-n", min=1, help="Show at most this many (default: all).")
]
Count = Annotated[
    int | None,
    typer.Option("--count", min=1, help="Stop after this many messages (default: until Ctrl-C)."),
]
TTL = Annotated[
    timedelta,
    typer.Option("--ttl", parser=duration, show_default="30s", help="Lease, e.g. 30s, 5m."),
]


def limited(items: Iterable[T], limit: int | None) -> Iterator[T]:
    """The first `limit` items (all of them without a limit); pages are fetched lazily."""
    return iter(items) if limit is None else islice(items, limit)
