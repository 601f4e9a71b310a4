"""SSE resume on a live server: event ids, the id-only first frame, `Last-Event-ID`, `cut=`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.restkit import problem, sse_frames
from tests.e2e.live import LiveServer

pytestmark = pytest.mark.slow
FAULT = "X-Concord-Test-Fault"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module, with three events in stream `s` (positions from 1)."""
    live = LiveServer(Path(tmp_path_factory.mktemp("sse")) / "data").start()
    try:
        with live.client() as http:
            events = [{"event_id": str(uuid.uuid4()), "type": t} for t in ("A", "B", "C")]
            http.post("/v1/streams/s:append", json={"events": events}).raise_for_status()
        yield live
    finally:
        live.stop()


def _frames(server: LiveServer, path: str, count: int, **headers: str) -> list[dict[str, str]]:
    """The first `count` frames of an SSE response (an id-only frame counts as one)."""
    text = ""
    with server.client() as http, http.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200, response.read()
        for chunk in response.iter_text():
            text += chunk
            if len(sse_frames(text)) >= count and text.endswith("\n\n"):
                break
    return sse_frames(text)[:count]


def test_event_frames_carry_their_revision_and_caught_up_carries_none(server: LiveServer) -> None:
    frames = _frames(server, "/v1/streams/s:subscribe?from_revision=0", 4)
    assert [f.get("id") for f in frames] == ["0", "1", "2", None]
    assert frames[3]["data"] == '{"caught_up":true}'


def test_global_frames_carry_their_position(server: LiveServer) -> None:
    frames = _frames(server, "/v1/events:subscribe?from_position=2", 3)
    assert [f.get("id") for f in frames] == ["2", "3", None]


def test_a_subscription_from_now_starts_with_an_id_only_frame(server: LiveServer) -> None:
    assert _frames(server, "/v1/streams/s:subscribe", 1) == [{"id": "2"}]
    assert _frames(server, "/v1/streams/never-written:subscribe", 1) == [{"id": "-1"}]
    assert _frames(server, "/v1/events:subscribe", 1) == [{"id": "3"}]


def test_last_event_id_resumes_after_it_over_the_requested_start(server: LiveServer) -> None:
    frames = _frames(server, "/v1/streams/s:subscribe?from_revision=0", 2, **{"Last-Event-ID": "1"})
    assert [f.get("id") for f in frames] == ["2", None]
    frames = _frames(server, "/v1/streams/s:subscribe", 2, **{"Last-Event-ID": "-1"})
    assert [f.get("id") for f in frames] == ["0", "1"]
    frames = _frames(server, "/v1/events:subscribe", 2, **{"Last-Event-ID": "2"})
    assert [f.get("id") for f in frames] == ["3", None]


MALFORMED = ["x", "-2", "1.5", "", "1 2", "+1", "0x1", "99999999999999999999"]


@pytest.mark.parametrize("value", MALFORMED)
def test_a_malformed_last_event_id_is_refused(server: LiveServer, value: str) -> None:
    with server.client() as http:
        response = http.get("/v1/streams/s:subscribe", headers={"Last-Event-ID": value})
    body = problem(response, 400, "INVALID_ARGUMENT")
    assert "Last-Event-ID" in body["message"]


def test_the_cut_fault_breaks_the_connection_after_n_messages(server: LiveServer) -> None:
    received = ""
    headers = {FAULT: "cut-a;1;cut=1"}
    path = "/v1/streams/s:subscribe?from_revision=0"
    with (
        server.client() as http,
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("GET", path, headers=headers) as response,
    ):
        for chunk in response.iter_text():
            received += chunk
    assert [f.get("id") for f in sse_frames(received)] == ["0"]
    whole = _frames(server, path, 4, **headers)
    assert [f.get("id") for f in whole] == ["0", "1", "2", None]
    assert "Exception in ASGI application" not in server.log_tail(400)


def test_the_drain_fault_ends_the_stream_as_a_draining_server_does(server: LiveServer) -> None:
    headers = {FAULT: "drain-a;1;drain=2"}
    path = "/v1/streams/s:subscribe?from_revision=0"
    with server.client() as http, http.stream("GET", path, headers=headers) as response:
        frames = sse_frames(response.read().decode())
    assert [f.get("id") for f in frames[:2]] == ["0", "1"]
    assert frames[2]["event"] == "error" and len(frames) == 3
    assert '"reason":"shutting_down"' in frames[2]["data"]
    assert '"code":"UNAVAILABLE"' in frames[2]["data"]
    whole = _frames(server, path, 4, **headers)  # the budget of one is spent
    assert [f.get("id") for f in whole] == ["0", "1", "2", None]


def test_the_cut_fault_ignores_unary_calls(server: LiveServer) -> None:
    headers = {FAULT: "cut-b;1;cut=0"}
    with server.client() as http:
        assert http.get("/v1/streams/s/metadata", headers=headers).is_success
        cut = http.stream("GET", "/v1/streams/s:subscribe", headers=headers)
        with pytest.raises(httpx.RemoteProtocolError), cut as response:
            response.read()
