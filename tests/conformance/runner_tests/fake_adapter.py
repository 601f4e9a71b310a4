#!/usr/bin/env python3
"""A fake adapter for the runner's tests: answers made-up ops per the NDJSON protocol."""

from __future__ import annotations

import fcntl
import http.client
import json
import os
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

COUNTS: Counter[str] = Counter()
SEEN: list[str] = []  # the ops this process was called with, in order
NAME = sys.argv[1] if len(sys.argv) > 1 else "fake"  # which adapter this is (peer tests)


def _echo(call: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    echoed = {"input": data, "client": call["client"], "config": call["client_config"]}
    echoed["adapter"] = NAME
    if "options" in call:
        echoed["options"] = call["options"]
    return echoed


def _ticket(call: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The next number of the counter file `path`, under an exclusive file lock."""
    with Path(data["path"]).open("a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        number = len(handle.read())
        handle.write("x")
        return {"number": number}


def _count(call: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    COUNTS[data["key"]] += 1
    return {"count": COUNTS[data["key"]]}


def _sleep(call: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    time.sleep(data["ms"] / 1000)
    return {"slept": data["ms"]}


def _stream(call: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return {"messages": [{"i": i} for i in range(call["stream"]["take"])]}


def _fetch(call: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """GETs the client's base URL with its API key; with `follow`, follows one redirect
    carrying the key along (what a leaky SDK does)."""
    url = call["client_config"]["base_url"] + "/v1/thing"
    headers = {"X-API-Key": call["client_config"]["api_key"]}
    for _ in range(2 if data.get("follow") else 1):
        parts = urllib.parse.urlsplit(url)
        connection = http.client.HTTPConnection(parts.netloc, timeout=10)
        connection.request("GET", parts.path, headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        url = response.getheader("Location") or url
    return {"status": response.status}


def _wait_for(call: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Waits (up to 30 s) until the file `path` exists."""
    path = Path(data["path"])
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return {"seen": path.exists()}


def _open_stream(call: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """A slow-opening stream: after 0.3 s it marks itself open (file `opened`, a `stream_open`
    notice), then waits up to 10 s for the file `trigger`."""
    time.sleep(0.3)
    Path(data["opened"]).touch()
    sys.stdout.write(json.dumps({"id": call["id"], "notice": "stream_open"}) + "\n")
    sys.stdout.flush()
    trigger = Path(data["trigger"])
    deadline = time.monotonic() + 10
    while not trigger.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return {"messages": [{"triggered": trigger.exists()}]}


def _seen(call: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return {"ops": SEEN[:-1]}


def _exists(call: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return {"exists": Path(data["path"]).exists()}


def _touch(call: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    Path(data["path"]).touch()
    return {"touched": True}


RESULTS: dict[str, Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]] = {
    "Echo": _echo,
    "Count": _count,
    "Sleep": _sleep,
    "Stream": _stream,
    "Fetch": _fetch,
    "WaitFor": _wait_for,
    "Touch": _touch,
    "OpenStream": _open_stream,
    "Exists": _exists,
    "Seen": _seen,
    "Ticket": _ticket,
}


def _claim(call: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The first call to create the file `path` wins; the others get LOCK_CONFLICT."""
    try:
        os.close(os.open(data["path"], os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        error = {"code": "LOCK_CONFLICT", "http_status": 409, "details": {"path": data["path"]}}
        return {"id": call["id"], "outcome": "api_error", "error": error}
    return {"id": call["id"], "outcome": "ok", "result": {"owner": call["client"]}}


def _slow(call: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Sleeps `ms`, or gives up as a client-side timeout after the call's `timeout_ms`."""
    limit = (call.get("options") or {}).get("timeout_ms")
    if limit is not None and limit < data["ms"]:
        time.sleep(limit / 1000)
        error = {"kind": "timeout", "native_type": "FakeTimeout"}
        return {"id": call["id"], "outcome": "client_error", "error": error}
    time.sleep(data["ms"] / 1000)
    return {"id": call["id"], "outcome": "ok", "result": {"slept": data["ms"]}}


def _fail(call: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    error = {"code": data.get("code", "NOT_FOUND"), "http_status": data.get("status", 404)}
    return {"id": call["id"], "outcome": "api_error", "error": error}


def _client_fail(call: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    error = {"kind": data.get("kind", "connection"), "native_type": "FakeError"}
    return {"id": call["id"], "outcome": "client_error", "error": error}


REPLIES: dict[str, Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]] = {
    "Fail": _fail,
    "ClientFail": _client_fail,
    "Claim": _claim,
    "Slow": _slow,
}


def answer(call: dict[str, Any]) -> dict[str, Any] | None:
    """The reply line of a call (None: write garbage instead)."""
    call_id, op, data = call["id"], call["op"], call.get("input") or {}
    SEEN.append(op)
    if op in RESULTS:
        return {"id": call_id, "outcome": "ok", "result": RESULTS[op](call, data)}
    if op in REPLIES:
        return REPLIES[op](call, data)
    if op.startswith("helper."):
        return {"id": call_id, "outcome": "ok", "result": {"helper": op, "input": data}}
    if op == "Garbage":
        return None
    if op == "Exit":
        sys.exit(3)
    return {"id": call_id, "outcome": "adapter_error", "message": f"unsupported op {op}"}


def main() -> int:
    """The read-answer loop."""
    for line in sys.stdin:
        message = json.loads(line)
        if message.get("type") == "shutdown":
            return 0
        reply = answer(message)
        sys.stdout.write("not json\n" if reply is None else json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
