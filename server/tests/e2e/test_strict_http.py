"""Strict input on a live server (issue 7 finding 6): every answer is the contract's JSON error
body, durations follow proto3 JSON exactly, page tokens are tamper-evident, methods and custom
verbs answer 405 and 404."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator

import pytest

from tests.e2e.live import LiveServer

pytestmark = pytest.mark.slow
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("strict")).start()
    try:
        yield live
    finally:
        live.stop()


def raw_exchange(port: int, request: bytes) -> bytes:
    """Sends raw bytes on a fresh connection and reads the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "request_bytes",
    [
        # Over h11's 16 KiB limit for an unfinished line, and small enough that the server reads
        # all of it before it answers (unread bytes at close would reset the connection).
        b"GET /v1/health/live?" + b"x" * 20_000,
        b"GET /v1/health/live HTTP/1.1\r\nHost: a\r\nX-Big: " + b"y" * 20_000,
        b"NOT HTTP AT ALL\r\n\r\n",
    ],
    ids=["long-request-line", "long-header", "garbage"],
)
def test_unreadable_requests_get_the_json_error_body(
    server: LiveServer, request_bytes: bytes
) -> None:
    answer = raw_exchange(server.http_port, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer[:300]
    assert f"content-type: {PROBLEM}".encode() in head.lower()
    problem = json.loads(body)
    assert problem["code"] == "INVALID_ARGUMENT" and problem["status"] == 400
    assert problem["details"] == {"reason": "unreadable_http_request"}
    headers = dict(line.split(b": ", 1) for line in head.lower().split(b"\r\n")[1:])
    assert headers[b"x-request-id"].decode() == problem["request_id"]
    assert re.fullmatch(rb"00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]", headers[b"traceparent"])


def test_an_offered_h2c_upgrade_is_ignored_and_the_body_read(server: LiveServer) -> None:
    # Java's HttpClient offers HTTP/2 on every plain-HTTP request; the server stays on HTTP/1.1
    # and must still read the request's body (httptools' protocol in uvicorn dropped it).
    with server.client() as http:
        answer = http.post(
            "/v1/locks/h2c:acquire",
            json={"owner": "o", "ttl": "5s"},
            headers={
                "Connection": "Upgrade, HTTP2-Settings",
                "Upgrade": "h2c",
                "HTTP2-Settings": "AAMAAABkAARAAAAAAAIAAAAA",
            },
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["lock"]["owner"] == "o"


def test_trace_is_405_and_an_unknown_custom_method_404(server: LiveServer) -> None:
    with server.client() as http:
        trace = http.request("TRACE", "/v1/locks/a")
        verb = http.post("/v1/locks/a:frobnicate", json={})
    assert (trace.status_code, trace.json()["code"]) == (405, "METHOD_NOT_ALLOWED")
    assert trace.headers["content-type"].startswith(PROBLEM) and trace.headers["allow"]
    assert (verb.status_code, verb.json()["code"]) == (404, "NOT_FOUND")


@pytest.mark.parametrize("ttl", [" 5s", "5.s", "5", "1e3s", "5 s"])
def test_durations_follow_proto3_json_strictly(server: LiveServer, ttl: str) -> None:
    with server.client() as http:
        answer = http.post("/v1/locks/strict:acquire", json={"owner": "o", "ttl": ttl})
    assert answer.status_code == 400
    body = answer.json()
    assert body["details"]["field"] == "ttl"
    assert "Duration" not in body["message"] and "at " not in body["message"]


def test_page_tokens_the_server_never_issued_are_refused(server: LiveServer) -> None:
    with server.client() as http:
        for i in range(3):
            granted = http.post(f"/v1/locks/pt-{i}:acquire", json={"owner": "o", "ttl": "60s"})
            assert granted.status_code == 200, granted.text
        first = http.get("/v1/locks", params={"prefix": "pt-", "page_size": 1}).json()
        token = first["next_page_token"]
        good = http.get("/v1/locks", params={"prefix": "pt-", "page_size": 1, "page_token": token})
        assert good.status_code == 200
        for bad, prefix in [("cHQtMA", "pt-"), (token[:-2] + "AA", "pt-"), (token, "pt-1")]:
            answer = http.get(
                "/v1/locks", params={"prefix": prefix, "page_size": 1, "page_token": bad}
            )
            assert answer.status_code == 400, (bad, prefix, answer.text)
            assert answer.json()["details"]["reason"] == "invalid_page_token"
