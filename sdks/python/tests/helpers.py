"""Test helpers: clients over `httpx.MockTransport` with recorded requests and sleeps."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from concord import AsyncConcord, Concord

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """Records every request and answers from a list of responses (the last one repeats)."""

    def __init__(self, *responses: httpx.Response | Exception | Handler) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        index = min(len(self.requests), len(self.responses)) - 1
        answer = self.responses[index]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)

    def client(self, **options: Any) -> Concord:
        """A sync client whose transport is this recorder and whose sleeps are recorded."""
        options.setdefault("api_key", "test-key")
        options.setdefault("stream_transport", "sse")  # the mock transport speaks HTTP only
        client = Concord(http_client=httpx.Client(transport=httpx.MockTransport(self)), **options)
        client._sleep_hook = self.sleeps.append
        return client

    def async_client(self, **options: Any) -> AsyncConcord:
        """An async client over this recorder."""
        options.setdefault("api_key", "test-key")
        options.setdefault("stream_transport", "sse")
        transport = httpx.MockTransport(self)
        client = AsyncConcord(http_client=httpx.AsyncClient(transport=transport), **options)
        client._sleep_hook = self.sleeps.append
        return client

    def bodies(self) -> list[Any]:
        """The JSON bodies of the recorded requests."""
        return [json.loads(r.content) if r.content else None for r in self.requests]


def error(status: int, code: str, message: str = "boom", **headers: str) -> httpx.Response:
    """An error response in the contract's shape."""
    body = {"code": code, "message": message, "details": {"k": "v"}, "request_id": "req-1"}
    return httpx.Response(status, json=body, headers=headers)


def ok(body: dict[str, Any], **headers: str) -> httpx.Response:
    """A 200 JSON response."""
    return httpx.Response(200, json=body, headers=headers)


LOCK = {
    "name": "jobs",
    "owner": "w1",
    "fencing_token": 7,
    "acquired_at": "2026-11-23T10:00:00.123Z",
    "expires_at": "2026-11-23T10:00:30.123Z",
    "ttl": "30s",
}


def sse(*frames: str) -> httpx.Response:
    """A text/event-stream response from raw frames."""
    return httpx.Response(
        200,
        content="".join(frames).encode(),
        headers={"content-type": "text/event-stream", "x-request-id": "req-s"},
    )


class ClosingStream(httpx.SyncByteStream):
    """A byte stream that records whether it was closed (to check streams close on break)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks

    def close(self) -> None:
        self.closed = True
