"""Auto-pagination (AIP-158): iterate items across pages, or the pages themselves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Generic, TypeVar

PageT = TypeVar("PageT")
ItemT = TypeVar("ItemT")


class SyncPager(Generic[PageT, ItemT]):
    """`for item in pager` walks every page lazily; `pager.pages()` yields whole pages."""

    def __init__(
        self,
        fetch: Callable[[str], PageT],
        items: Callable[[PageT], Sequence[ItemT]],
        next_token: Callable[[PageT], str],
        first_token: str = "",
    ) -> None:
        self._fetch = fetch
        self._items = items
        self._next_token = next_token
        self._first_token = first_token

    def pages(self) -> Iterator[PageT]:
        """Each page in turn until `next_page_token` is empty (or repeats)."""
        token = self._first_token
        seen: set[str] = set()
        while True:
            page = self._fetch(token)
            yield page
            token = self._next_token(page)
            if not token or token in seen:
                return
            seen.add(token)

    def first_page(self) -> PageT:
        """Only the first page."""
        return self._fetch(self._first_token)

    def __iter__(self) -> Iterator[ItemT]:
        for page in self.pages():
            yield from self._items(page)


class AsyncPager(Generic[PageT, ItemT]):
    """`async for item in pager` walks every page lazily; `pager.pages()` yields pages."""

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[PageT]],
        items: Callable[[PageT], Sequence[ItemT]],
        next_token: Callable[[PageT], str],
        first_token: str = "",
    ) -> None:
        self._fetch = fetch
        self._items = items
        self._next_token = next_token
        self._first_token = first_token

    async def pages(self) -> AsyncIterator[PageT]:
        """Each page in turn until `next_page_token` is empty (or repeats)."""
        token = self._first_token
        seen: set[str] = set()
        while True:
            page = await self._fetch(token)
            yield page
            token = self._next_token(page)
            if not token or token in seen:
                return
            seen.add(token)

    async def first_page(self) -> PageT:
        """Only the first page."""
        return await self._fetch(self._first_token)

    async def __aiter__(self) -> AsyncIterator[ItemT]:
        async for page in self.pages():
            for item in self._items(page):
                yield item
