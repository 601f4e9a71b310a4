"""A local HTTP/1.1 server for stream tests: each request gets the next scripted answer, Server-
Sent Events in a chunked body that ends properly or is cut (the connection drops mid-body)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from concord import AsyncConcord, Concord


@dataclass(frozen=True)
class Answer:
    """One scripted answer: SSE frames (then `cut` the connection), or an error `status`."""

    frames: tuple[str, ...] = ()
    cut: bool = False
    quiet: bool = False  # after the frames, hold the connection open sending nothing
    status: int = 200
    code: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def event(revision: int) -> str:
    """The frame of event `revision` of stream "orders", with its id."""
    body = json.dumps({"event": {"stream": "orders", "revision": revision}})
    return f"id: {revision}\ndata: {body}\n\n"


CAUGHT_UP = 'data: {"caught_up":true}\n\n'


def error_frame(code: str, reason: str = "") -> str:
    """An in-band `event: error` frame, as the server ends a stream (a drain: UNAVAILABLE with
    reason `shutting_down`)."""
    details = {"reason": reason} if reason else {}
    body = json.dumps({"code": code, "message": "the stream ends here", "details": details})
    return f"event: error\ndata: {body}\n\n"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SSEServer

    def do_GET(self) -> None:
        answer = self.server.record(self)
        if answer.status != 200:
            self._error(answer)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for frame in answer.frames:
            data = frame.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        if answer.quiet:
            self.server.stopping.wait()  # not even a keep-alive: a reader stays blocked
            self.close_connection = True
            return
        if answer.cut:
            self.close_connection = True  # no last chunk: the body never ends properly
            return
        self.wfile.write(b"0\r\n\r\n")

    def _error(self, answer: Answer) -> None:
        body = json.dumps({"code": answer.code, "message": "no", "details": {}}).encode()
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class SSEServer(ThreadingHTTPServer):
    """Answers request n with `answers[n]` (the last one repeats) and records each request."""

    daemon_threads = True

    def __init__(self, *answers: Answer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers = list(answers)
        self.requests: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def record(self, handler: BaseHTTPRequestHandler) -> Answer:
        """Record a request; its scripted answer."""
        with self._lock:
            headers = {k.lower(): v for k, v in handler.headers.items()}
            self.requests.append({"path": handler.path, **headers})
            return self.answers[min(len(self.requests), len(self.answers)) - 1]

    def last_ids(self) -> list[str | None]:
        """The Last-Event-ID header of each request (None: not sent)."""
        return [r.get("last-event-id") for r in self.requests]

    def client(self, sleeps: list[float] | None = None, max_retries: int = 2) -> Concord:
        """A sync client of this server over SSE; with `sleeps`, its waits are recorded instead."""
        client = Concord(
            base_url=self.url, api_key="test-key", stream_transport="sse", max_retries=max_retries
        )
        if sleeps is not None:
            client._sleep_hook = sleeps.append
        return client

    def async_client(self, sleeps: list[float] | None = None, max_retries: int = 2) -> AsyncConcord:
        """An async client of this server over SSE; with `sleeps`, its waits are recorded."""
        client = AsyncConcord(
            base_url=self.url, api_key="test-key", stream_transport="sse", max_retries=max_retries
        )
        if sleeps is not None:
            client._sleep_hook = sleeps.append
        return client


@contextlib.contextmanager
def serve(*answers: Answer) -> Iterator[SSEServer]:
    """A server running in a thread for the `with` block."""
    server = SSEServer(*answers)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
