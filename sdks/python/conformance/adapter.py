"""Concord conformance adapter for the Python SDK (hand-written loop; ops in `adapter_ops.py`).

Protocol (ARCHITECTURE §4): one JSON object a line on stdin, `{"type":"call",...}` or
`{"type":"shutdown"}`; one answer a line on stdout; logs on stderr. Every op goes through the
SDK's public API only: `adapter_ops.UNARY` (sync `Concord`), `adapter_ops.ASYNC_UNARY`
(`AsyncConcord`, for a call the caller cancels: `options.cancel_after_ms`),
`adapter_ops.STREAMS` (`AsyncConcord`, for server-streaming ops, collected until `take` messages
or the timeout) and the helper ops of `helpers.py`. Per-call `options` become the SDK method's
keyword arguments (`extra_headers`, `idempotency_key`, `timeout`, `max_retries`).

Run: `python sdks/python/conformance/adapter.py [--grpc]` (uses the installed `concord`
package, else the source tree next to this folder). With `--grpc` every client is a
`concord.grpc` one, to the `grpc_target` of its `client_config` (`clients.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

try:
    import concord
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import concord

sys.path.insert(0, str(Path(__file__).resolve().parent))
import adapter_ops  # found next to this file, after the path set-up
import clients
import helpers

log = logging.getLogger("concord.conformance")
DEFAULT_TAKE = 1
DEFAULT_STREAM_TIMEOUT_MS = 5000


def call_options(options: dict[str, Any]) -> dict[str, Any]:
    """The protocol's per-call `options` as keyword arguments of an SDK method."""
    out: dict[str, Any] = {}
    if "headers" in options:
        out["extra_headers"] = {str(k): str(v) for k, v in options["headers"].items()}
    if "idempotency_key" in options:
        out["idempotency_key"] = str(options["idempotency_key"])
    if "timeout_ms" in options:
        out["timeout"] = float(options["timeout_ms"]) / 1000
    if "max_retries" in options:
        out["max_retries"] = int(options["max_retries"])
    return out


class Cancelled(Exception):
    """The adapter cancelled the call (`cancel_after_ms`) and the SDK gave up on it."""


def api_error(error: concord.ConcordAPIError) -> dict[str, Any]:
    """The protocol's `error` object of a typed SDK error."""
    return {
        "code": error.code,
        "native_type": type(error).__name__,
        "http_status": error.status,
        "request_id": error.request_id,
        "message": error.message,
        "details": error.details,
    }


def client_error(error: Exception) -> dict[str, Any]:
    """The protocol's `error` object of an SDK error outside the catalogue."""
    if isinstance(error, concord.CrossOriginRedirectError):
        kind = "cross_origin_redirect"
    elif isinstance(error, concord.APITimeoutError):
        kind = "timeout"
    elif isinstance(error, Cancelled):
        return {"kind": "cancelled", "native_type": "CancelledError", "message": str(error)}
    else:
        kind = "connection"
    return {"kind": kind, "native_type": type(error).__name__, "message": str(error)}


async def cancellable(
    config: dict[str, Any], op: str, data: dict[str, Any], options: dict[str, Any], after: float
) -> dict[str, Any]:
    """Runs a unary op on an `AsyncConcord` and cancels its task after `after` seconds."""
    async with clients.async_client(config) as client:
        task = asyncio.ensure_future(adapter_ops.ASYNC_UNARY[op](client, data, options))
        asyncio.get_running_loop().call_later(after, task.cancel)
        try:
            return await task
        except asyncio.CancelledError:
            raise Cancelled(f"{op} cancelled after {after:.3f}s") from None


async def collect_stream(
    config: dict[str, Any],
    op: str,
    data: dict[str, Any],
    take: int,
    timeout: float,
    opened: Callable[[], None],
    options: dict[str, Any],
) -> list[dict[str, Any]]:
    """Up to `take` messages of a server stream, or fewer when `timeout` seconds pass; `opened`
    runs once the server accepted the subscription."""
    messages: list[dict[str, Any]] = []
    async with clients.async_client(config) as client:
        stream = adapter_ops.STREAMS[op](client, data, opened, options)

        async def pull() -> None:
            async for message in stream:
                messages.append(message)
                if len(messages) >= take:
                    return

        try:
            await asyncio.wait_for(pull(), timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            with contextlib.suppress(Exception):
                await stream.aclose()
    return messages


class Adapter:
    """Answers calls with one cached SDK client per client name and configuration; `notify`
    writes a notice line of the call in progress (a `stream_open` notice)."""

    def __init__(self, notify: Callable[[dict[str, Any]], None] = lambda line: None) -> None:
        self.clients: dict[str, concord.Concord] = {}
        self.notify = notify

    def client(self, name: str, config: dict[str, Any]) -> concord.Concord:
        """The sync client of `name` for this exact configuration (created once)."""
        key = name + "\0" + json.dumps(config, sort_keys=True)
        if key not in self.clients:
            self.clients[key] = clients.sync_client(config)
        return self.clients[key]

    def answer(self, call: dict[str, Any]) -> dict[str, Any]:
        """The answer line of one call."""
        call_id = call.get("id")
        try:
            return {"id": call_id, "outcome": "ok", "result": self._run(call)}
        except concord.ConcordAPIError as error:
            return {"id": call_id, "outcome": "api_error", "error": api_error(error)}
        except (concord.CrossOriginRedirectError, concord.APIConnectionError, Cancelled) as error:
            return {"id": call_id, "outcome": "client_error", "error": client_error(error)}
        except Exception as error:  # any other failure is the adapter's, never a pass
            log.exception("call %s failed", call_id)
            message = f"{type(error).__name__}: {error}"
            return {"id": call_id, "outcome": "adapter_error", "message": message}

    def _run(self, call: dict[str, Any]) -> dict[str, Any]:
        op, data = str(call.get("op")), dict(call.get("input") or {})
        config = dict(call.get("client_config") or {})
        client = str(call.get("client", ""))
        if op == "helper.HoldLock":
            return helpers.hold_lock(self.client(client, config), config, data)
        if op == "helper.RunWorker":
            return helpers.run_worker(self.client(client, config), data)
        raw = dict(call.get("options") or {})
        options = call_options(raw)
        if op in adapter_ops.UNARY and "cancel_after_ms" in raw:
            after = float(raw["cancel_after_ms"]) / 1000
            return asyncio.run(cancellable(config, op, data, options, after))
        if op in adapter_ops.UNARY:
            return adapter_ops.UNARY[op](self.client(client, config), data, options)
        if op in adapter_ops.STREAMS:
            stream = dict(call.get("stream") or {})
            take = int(stream.get("take", DEFAULT_TAKE))
            timeout = float(stream.get("timeout_ms", DEFAULT_STREAM_TIMEOUT_MS)) / 1000
            notice = {"id": call.get("id"), "notice": "stream_open"}

            def opened() -> None:
                self.notify(notice)

            messages = asyncio.run(collect_stream(config, op, data, take, timeout, opened, options))
            return {"messages": messages}
        raise LookupError(f"unknown op {op!r}")

    def close(self) -> None:
        """Close every cached client."""
        for client in self.clients.values():
            client.close()


def serve(stdin: TextIO, stdout: TextIO) -> None:
    """The read/answer loop, until `shutdown` or the end of input."""

    def notify(line: dict[str, Any]) -> None:
        stdout.write(json.dumps(line, separators=(",", ":")) + "\n")
        stdout.flush()

    adapter = Adapter(notify)
    try:
        for line in stdin:
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except ValueError as error:
                answer: dict[str, Any] = {
                    "id": None,
                    "outcome": "adapter_error",
                    "message": f"bad input line: {error}",
                }
            else:
                if message.get("type") == "shutdown":
                    break
                answer = adapter.answer(message)
            stdout.write(json.dumps(answer, separators=(",", ":")) + "\n")
            stdout.flush()
    finally:
        adapter.close()


if __name__ == "__main__":
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    if "--grpc" in sys.argv[1:]:
        clients.use_grpc()
    serve(sys.stdin, sys.stdout)
