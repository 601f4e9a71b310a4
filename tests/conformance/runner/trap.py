"""A credential trap: two local origins that show whether a client carries credentials across.

The *base* origin answers every request with `307 Temporary Redirect` to the same path on the
*other* origin (another port of 127.0.0.1, so another origin). The other origin answers 401 with
the contract's error body. Both record which credential headers each request carried, so a case
can prove that an SDK configured with the base origin never sends its credential elsewhere.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CREDENTIAL_HEADERS = ("x-api-key", "authorization")
_UNAUTHENTICATED = {
    "code": "UNAUTHENTICATED",
    "message": "credential trap: this origin is not the configured one",
    "details": {},
    "request_id": "credential-trap",
}


class _Recorder:
    """The requests both origins saw, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seen: dict[str, list[list[str]]] = {"base": [], "other": []}

    def add(self, origin: str, credentials: list[str]) -> None:
        with self._lock:
            self.seen[origin].append(credentials)

    def snapshot(self) -> dict[str, list[list[str]]]:
        with self._lock:
            return {k: [list(c) for c in v] for k, v in self.seen.items()}


def _handler(origin: str, recorder: _Recorder, target: list[str]) -> type[BaseHTTPRequestHandler]:
    """A request handler class for one origin (`target[0]` is the other origin's URL)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # WebSocket clients refuse an HTTP/1.0 answer

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            names = [h for h in CREDENTIAL_HEADERS if self.headers.get(h) is not None]
            recorder.add(origin, names)
            if origin == "base":
                self.send_response(307)
                self.send_header("Location", target[0] + self.path)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
                return
            body = json.dumps(_UNAUTHENTICATED).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return  # keep the runner's output clean

    return Handler


class CredentialTrap:
    """Two origins on free ports; `base_url` is the one to configure a client with."""

    def __init__(self) -> None:
        self._recorder = _Recorder()
        target: list[str] = [""]
        self._other = ThreadingHTTPServer(("127.0.0.1", 0), _handler("other", self._recorder, []))
        target[0] = f"http://127.0.0.1:{self._other.server_address[1]}"
        self._base = ThreadingHTTPServer(("127.0.0.1", 0), _handler("base", self._recorder, target))
        self.base_url = f"http://127.0.0.1:{self._base.server_address[1]}"
        self._threads = [
            threading.Thread(target=s.serve_forever, daemon=True) for s in (self._base, self._other)
        ]
        for thread in self._threads:
            thread.start()

    def report(self) -> dict[str, Any]:
        """What the origins saw: request counts and the credential headers at the other one."""
        seen = self._recorder.snapshot()
        leaked = sorted({name for names in seen["other"] for name in names})
        return {
            "requests_at_base": len(seen["base"]),
            "requests_elsewhere": len(seen["other"]),
            "credentials_elsewhere": leaked,
        }

    def close(self) -> None:
        """Stops both origins."""
        for server in (self._base, self._other):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
