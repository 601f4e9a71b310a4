"""httptools' protocol keeps h11's behaviours: a request offering an upgrade other than WebSocket
is served on HTTP/1.1 with its body (in any framing, however the bytes arrive) and the requests
after it on the connection; an unfinished head past 16 KiB gets the contract's 400."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from concord_server.api.rest.httptools_protocol import HttpToolsProblemProtocol
from tests.unit.test_coalesced_writes import RecordingTransport

UPGRADE = b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQ\r\n"


async def echo(scope: Any, receive: Any, send: Any) -> None:
    """Answers with the request's method, path and body as JSON."""
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    answer = json.dumps({"path": scope["path"], "body": body.decode()}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


async def serve(*chunks: bytes) -> tuple[list[dict[str, str]], RecordingTransport]:
    """Feeds `chunks` to one connection, a few loop turns apart; returns the JSON answers."""
    config = uvicorn.Config(app=echo, http=HttpToolsProblemProtocol, lifespan="off")
    config.load()
    protocol = HttpToolsProblemProtocol(config, ServerState(), app_state={})
    transport = RecordingTransport()
    protocol.connection_made(transport)
    for chunk in chunks:
        protocol.data_received(chunk)
        for _ in range(20):
            await asyncio.sleep(0)
    protocol.connection_lost(None)
    answers = []
    for raw in b"".join(transport.writes).split(b"HTTP/1.1 ")[1:]:
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"200 OK"), raw
        answers.append(json.loads(body))
    return answers, transport


def post(path: bytes, body: bytes, extra: bytes = b"") -> bytes:
    """A POST with a Content-Length body."""
    return b"POST %s HTTP/1.1\r\nHost: a\r\n%sContent-Length: %d\r\n\r\n%s" % (
        path,
        extra,
        len(body),
        body,
    )


async def test_a_declined_h2c_upgrade_gets_its_body_and_the_next_request_is_served() -> None:
    answers, _ = await serve(post(b"/a", b'{"x":1}', UPGRADE) + post(b"/b", b"second"))
    assert answers == [{"path": "/a", "body": '{"x":1}'}, {"path": "/b", "body": "second"}]


async def test_the_body_of_a_declined_upgrade_may_arrive_in_pieces() -> None:
    whole = post(b"/a", b"0123456789", UPGRADE)
    head_end = whole.index(b"\r\n\r\n") + 4
    answers, _ = await serve(
        whole[: head_end - 2], whole[head_end - 2 : head_end + 3], whole[head_end + 3 :]
    )
    assert answers == [{"path": "/a", "body": "0123456789"}]


async def test_a_chunked_body_of_a_declined_upgrade_is_read() -> None:
    request = (
        b"POST /c HTTP/1.1\r\nHost: a\r\n" + UPGRADE + b"Transfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    answers, _ = await serve(request, b"GET /d HTTP/1.1\r\nHost: a\r\n\r\n")
    assert answers == [{"path": "/c", "body": "abcde"}, {"path": "/d", "body": ""}]


async def test_upgrades_declined_twice_on_one_connection() -> None:
    get = b"GET /g HTTP/1.1\r\nHost: a\r\n" + UPGRADE + b"\r\n"
    answers, _ = await serve(get, post(b"/p", b"body", UPGRADE), get)
    assert [a["path"] for a in answers] == ["/g", "/p", "/g"]
    assert answers[1]["body"] == "body"


@pytest.mark.parametrize(
    "head",
    [b"GET /?" + b"x" * 20_000, b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"y" * 20_000],
    ids=["long-request-line", "long-header"],
)
async def test_an_unfinished_head_past_16_kib_is_answered_400(head: bytes) -> None:
    config = uvicorn.Config(app=echo, http=HttpToolsProblemProtocol, lifespan="off")
    config.load()
    protocol = HttpToolsProblemProtocol(config, ServerState(), app_state={})
    transport = RecordingTransport()
    protocol.connection_made(transport)
    for start in range(0, len(head), 4096):
        protocol.data_received(head[start : start + 4096])
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    answer = b"".join(transport.writes)
    assert answer.startswith(b"HTTP/1.1 400") and b"unreadable_http_request" in answer
    assert transport.closing


def _connection(keep_alive_seconds: float) -> tuple[HttpToolsProblemProtocol, RecordingTransport]:
    config = uvicorn.Config(
        app=echo,
        http=HttpToolsProblemProtocol,
        lifespan="off",
        timeout_keep_alive=keep_alive_seconds,  # type: ignore[arg-type]
    )
    config.load()
    protocol = HttpToolsProblemProtocol(config, ServerState(), app_state={})
    transport = RecordingTransport()
    protocol.connection_made(transport)
    return protocol, transport


async def _answered(protocol: HttpToolsProblemProtocol, transport: RecordingTransport) -> int:
    """Sends one GET and waits for its answer; returns how many answers the connection sent."""
    before = b"".join(transport.writes).count(b"HTTP/1.1 200")
    protocol.data_received(b"GET /k HTTP/1.1\r\nHost: a\r\n\r\n")
    for _ in range(50):
        await asyncio.sleep(0)
        answers = b"".join(transport.writes).count(b"HTTP/1.1 200")
        if answers > before:
            return answers
    raise AssertionError("no answer")


async def _closed_within(transport: RecordingTransport, seconds: float) -> float:
    """Waits up to `seconds` for the connection to close; returns how long it took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(round(seconds / 0.01)):
        if transport.closing:
            break
        await asyncio.sleep(0.01)
    assert transport.closing, f"still open after {seconds} s"
    return loop.time() - start


async def test_an_idle_connection_is_closed_after_the_keep_alive_timeout() -> None:
    protocol, transport = _connection(0.5)
    await _answered(protocol, transport)
    assert not transport.closing
    assert await _closed_within(transport, 10) >= 0.25


async def test_a_connection_in_use_stays_open_with_one_timer_rearmed_lazily() -> None:
    protocol, transport = _connection(2)
    timers = set()
    for _ in range(12):
        await _answered(protocol, transport)
        timers.add(protocol._idle_timer)
        await asyncio.sleep(0.02)
    assert not transport.closing
    assert len(timers) < 8  # a timer per response would be 12
    assert await _closed_within(transport, 10) >= 1.5


async def test_a_lost_connection_cancels_its_idle_timer() -> None:
    protocol, transport = _connection(5)
    await _answered(protocol, transport)
    timer = protocol._idle_timer
    assert timer is not None
    protocol.connection_lost(None)
    assert timer.cancelled() and protocol._idle_timer is None
