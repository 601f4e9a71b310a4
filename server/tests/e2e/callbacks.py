"""A tiny HTTP server in a thread that plays saga step targets for end-to-end tests."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class CallbackServer:
    """Answers POST /<step> per a plan: delay, status; records every call it got."""

    delays: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> CallbackServer:
        """Starts serving on a free loopback port in a daemon thread."""
        plan = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"null")
                step = self.path.strip("/")
                key = self.headers.get("Idempotency-Key")
                plan.calls.append(
                    {
                        "path": step,
                        "body": body,
                        "at": time.time(),
                        "key": key,
                        "traceparent": self.headers.get("traceparent"),
                    }
                )
                time.sleep(plan.delays.get(step, 0.0))
                status = plan.statuses.get(step, 200)
                payload = json.dumps({"done": step}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def url(self, step: str) -> str:
        """The URL of a step."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/{step}"

    def paths(self) -> list[str]:
        """The steps called, in order."""
        return [c["path"] for c in self.calls]

    def stop(self) -> None:
        """Stops serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
