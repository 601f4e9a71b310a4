"""Shared pieces of the REST transport tests: clients over fakes, problem and SSE checks."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fakes import Harness

PROBLEM = "application/problem+json"
ACQUIRE = {"owner": "host-1", "ttl": "30s"}


def client_for(harness: Harness, **headers: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=harness.app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://concord", headers=headers)


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The checked problem body of an error response."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    members = {"type", "title", "status", "detail", "code", "message", "details", "request_id"}
    assert set(body) == members
    assert body["code"] == code
    assert body["status"] == status and body["detail"] == body["message"]
    assert body["type"].endswith("/docs/errors.md#" + code.lower()) and body["title"]
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], dict)
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def sse_frames(text: str) -> list[dict[str, str]]:
    """The frames of an SSE body as dicts of field -> value (comments dropped)."""
    frames = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith(":") or not line:
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        if fields:
            frames.append(fields)
    return frames
