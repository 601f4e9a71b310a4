#!/usr/bin/env python3
"""Reference conformance adapter ("rest"): calls the REST API directly with httpx.

It is not an SDK adapter. It exists so that the runner and the cases can be checked against a
live server before SDK adapters exist, and as a plain statement of what the wire looks like.
The op table comes from the committed OpenAPI document (`x-concord-rpc`); server streams are
read as Server-Sent Events. Protocol: docs/conformance.md.
"""

from __future__ import annotations

import json
import queue
import random
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[3]
OPENAPI = ROOT / "spec" / "openapi" / "openapi.yaml"
RETRY_STATUSES = {408, 429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 30.0
MAX_REDIRECTS = 5
DEFAULT_PORTS = {"http": 80, "https": 443}
Events = queue.Queue[tuple[str, Any] | None]


@dataclass(frozen=True)
class Binding:
    """The HTTP binding of one RPC."""

    op: str
    verb: str
    path: str
    path_params: tuple[str, ...]
    has_body: bool
    streaming: bool
    needs_idempotency_key: bool


def load_bindings(openapi: Path = OPENAPI) -> dict[str, Binding]:
    """Every operation of the OpenAPI document by RPC name."""
    document = yaml.safe_load(openapi.read_text(encoding="utf-8"))
    bindings: dict[str, Binding] = {}
    for path, item in document["paths"].items():
        for verb, operation in item.items():
            if not isinstance(operation, dict) or "x-concord-rpc" not in operation:
                continue
            op = str(operation["x-concord-rpc"]).rpartition("/")[2]
            params = tuple(
                p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"
            )
            bindings[op] = Binding(
                op=op,
                verb=verb.upper(),
                path=path,
                path_params=params,
                has_body="requestBody" in operation,
                streaming=bool(operation.get("x-concord-streaming")),
                needs_idempotency_key=operation.get("x-concord-idempotency")
                == "IDEMPOTENCY_UNKNOWN",
            )
    return bindings


class AdapterError(Exception):
    """The adapter could not make the call (never a pass)."""


class ClientError(Exception):
    """A client-side failure that a case may expect (`client_error`), e.g. a refused redirect."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _query_value(name: str, value: Any) -> list[str]:
    if isinstance(value, dict):
        raise AdapterError(f"{name}: an object cannot be a query parameter")
    items = value if isinstance(value, list) else [value]
    return [json.dumps(v) if isinstance(v, bool) else str(v) for v in items]


def build(binding: Binding, payload: dict[str, Any]) -> tuple[str, dict[str, list[str]], Any]:
    """The URL path, query parameters and JSON body of a call."""
    path = binding.path
    rest = dict(payload)
    for name in binding.path_params:
        if name not in rest:
            raise AdapterError(f"path parameter {name!r} is missing from the input")
        path = path.replace("{" + name + "}", quote(str(rest.pop(name)), safe=""))
    if binding.has_body:
        return path, {}, rest
    query = {k: _query_value(k, v) for k, v in rest.items() if v is not None}
    return path, query, None


def error_reply(call_id: str, response: httpx.Response) -> dict[str, Any]:
    """The api_error answer of an HTTP error response (its body is the contract's Error)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not body.get("code"):
        raise AdapterError(
            f"HTTP {response.status_code} without an error body: {response.text[:200]}"
        )
    return {"id": call_id, "outcome": "api_error", "error": _error(body, response)}


def _error(body: dict[str, Any], response: httpx.Response | None) -> dict[str, Any]:
    code = str(body["code"])
    native = "".join(part.capitalize() for part in code.split("_")) + "Error"
    status = response.status_code if response is not None else 0
    request_id = body.get("request_id") or (
        response.headers.get("x-request-id", "") if response is not None else ""
    )
    return {
        "code": code,
        "native_type": native,
        "http_status": status,
        "request_id": request_id,
        "details": body.get("details") or {},
        "message": body.get("message", ""),
    }


@dataclass(frozen=True)
class CallOptions:
    """Per-call options of a call line (docs/conformance.md): over the client's settings."""

    headers: dict[str, str]
    idempotency_key: str | None = None
    timeout: float | None = None
    max_retries: int | None = None

    @classmethod
    def of(cls, options: Any) -> CallOptions:
        """The options of a call line's `options` object (absent: none)."""
        data = dict(options or {})
        if "cancel_after_ms" in data:
            raise AdapterError("cancel_after_ms: the reference adapter cannot cancel a call")
        timeout = data.get("timeout_ms")
        retries = data.get("max_retries")
        return cls(
            headers={str(k): str(v) for k, v in (data.get("headers") or {}).items()},
            idempotency_key=data.get("idempotency_key"),
            timeout=None if timeout is None else int(timeout) / 1000,
            max_retries=None if retries is None else int(retries),
        )


class RestClient:
    """One named client: credentials, headers, timeout and retry budget of its config."""

    def __init__(self, config: dict[str, Any]) -> None:
        headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
        if config.get("bearer_token"):
            headers["Authorization"] = f"Bearer {config['bearer_token']}"
        elif config.get("api_key"):
            headers["X-API-Key"] = str(config["api_key"])
        self.max_retries = int(config.get("max_retries", 2))
        self.timeout = int(config.get("timeout_ms", 10_000)) / 1000
        self.http = httpx.Client(
            base_url=str(config["base_url"]), headers=headers, timeout=self.timeout
        )

    def send(
        self, binding: Binding, payload: dict[str, Any], stream: bool, options: CallOptions
    ) -> httpx.Response:
        """Sends with retries (connection errors, 408, 429, 5xx), honouring Retry-After."""
        path, query, body = build(binding, payload)
        headers = {"Accept": "text/event-stream"} if stream else {}
        headers.update(options.headers)
        if options.idempotency_key is not None:
            headers["Idempotency-Key"] = options.idempotency_key
        elif binding.needs_idempotency_key:
            headers["Idempotency-Key"] = str(uuid.uuid4())  # one key, reused by every retry
        timeout = self.timeout if options.timeout is None else options.timeout
        retries = self.max_retries if options.max_retries is None else options.max_retries
        retryable = not binding.needs_idempotency_key or "Idempotency-Key" in headers
        attempt = 0
        while True:
            try:
                request = self.http.build_request(
                    binding.verb,
                    path,
                    params=query,
                    json=body,
                    headers=headers,
                    timeout=httpx.Timeout(timeout, read=None) if stream else timeout,
                )
                response = self.http.send(request, stream=stream)
            except httpx.TransportError as exc:
                if attempt >= retries or not retryable:
                    kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "connection"
                    raise ClientError(kind, f"{kind} after {attempt + 1} tries: {exc}") from exc
                time.sleep(_backoff(attempt, None))
            else:
                if response.is_redirect:
                    return self._redirected(response, stream)
                if response.status_code not in RETRY_STATUSES or attempt >= retries:
                    return response
                response.close()
                time.sleep(_backoff(attempt, response.headers.get("retry-after")))
            attempt += 1

    def _redirected(self, response: httpx.Response, stream: bool) -> httpx.Response:
        """Follows redirects within the base URL's origin; refuses one to another origin
        (docs/sdk-helpers.md, "Credentials"): nothing is sent there."""
        for _ in range(MAX_REDIRECTS):
            target = response.next_request
            response.close()
            if target is None:
                raise AdapterError("a redirect without a usable Location")
            if _origin(target.url) != _origin(self.http.base_url):
                raise ClientError("cross_origin_redirect", f"redirect to {target.url} refused")
            response = self.http.send(target, stream=stream)
            if not response.is_redirect:
                return response
        raise AdapterError(f"more than {MAX_REDIRECTS} redirects")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port or DEFAULT_PORTS.get(url.scheme))


def _backoff(attempt: int, retry_after: str | None) -> float:
    """Retry-After when the server gives it, else exponential backoff with jitter."""
    if retry_after:
        try:
            return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER)
        except ValueError:
            pass
    delay: float = min(0.05 * 2.0**attempt, 2.0)
    return delay / 2 + random.random() * delay / 2


def unary(
    client: RestClient,
    call_id: str,
    binding: Binding,
    payload: dict[str, Any],
    options: CallOptions,
) -> Any:
    """The answer of a unary call."""
    response = client.send(binding, payload, stream=False, options=options)
    if response.status_code >= 400 and binding.op != "GetReadiness":
        return error_reply(call_id, response)
    return {"id": call_id, "outcome": "ok", "result": response.json()}


def _sse_reader(response: httpx.Response, out: Events) -> None:
    """Puts (event name, JSON) items on the queue (`broken` on a failure), then None."""
    event, data = "message", list[str]()
    try:
        for line in response.iter_lines():
            if line.startswith(":"):
                continue
            if not line:
                if data:
                    out.put((event, json.loads("\n".join(data))))
                event, data = "message", []
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
    except Exception as exc:  # closing the response at the deadline ends the read loop too
        out.put(("broken", str(exc)))
    finally:
        out.put(None)


def streaming(
    client: RestClient,
    call_id: str,
    binding: Binding,
    payload: dict[str, Any],
    *,
    spec: Any,
    options: CallOptions,
) -> Any:
    """Collects `take` messages of a server stream, or what came before the timeout."""
    take = int((spec or {}).get("take", 1))
    deadline = time.monotonic() + int((spec or {}).get("timeout_ms", 5000)) / 1000
    response = client.send(binding, payload, stream=True, options=options)
    if response.status_code >= 400:
        response.read()
        return error_reply(call_id, response)
    notify({"id": call_id, "notice": "stream_open"})
    events: Events = queue.Queue()
    threading.Thread(target=_sse_reader, args=(response, events), daemon=True).start()
    messages: list[Any] = []
    try:
        while len(messages) < take:
            try:
                item = events.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                break
            if item is None:
                break
            kind, value = item
            if kind == "error":
                return {"id": call_id, "outcome": "api_error", "error": _error(value, None)}
            if kind == "broken":
                raise AdapterError(f"stream broke: {value}")
            messages.append(value)
    finally:
        response.close()
    return {"id": call_id, "outcome": "ok", "result": {"messages": messages}}


def notify(line: dict[str, Any]) -> None:
    """Writes a notice line of the call in progress (docs/conformance.md)."""
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


class Adapter:
    """The read-eval-answer loop state: bindings and cached clients."""

    def __init__(self) -> None:
        self.bindings = load_bindings()
        self.clients: dict[str, RestClient] = {}

    def client(self, name: str, config: dict[str, Any]) -> RestClient:
        """The cached client of a name and config."""
        key = name + json.dumps(config, sort_keys=True)
        if key not in self.clients:
            self.clients[key] = RestClient(config)
        return self.clients[key]

    def handle(self, call: dict[str, Any]) -> dict[str, Any]:
        """Answers one call line."""
        call_id = str(call.get("id", ""))
        try:
            binding = self.bindings.get(str(call.get("op")))
            if binding is None:
                raise AdapterError(f"unknown op {call.get('op')!r}")
            client = self.client(str(call.get("client")), dict(call.get("client_config") or {}))
            payload = dict(call.get("input") or {})
            options = CallOptions.of(call.get("options"))
            if binding.streaming:
                reply: dict[str, Any] = streaming(
                    client, call_id, binding, payload, spec=call.get("stream"), options=options
                )
            else:
                reply = unary(client, call_id, binding, payload, options)
            return reply
        except ClientError as exc:
            error = {"kind": exc.kind, "native_type": "ClientError", "message": str(exc)}
            return {"id": call_id, "outcome": "client_error", "error": error}
        except AdapterError as exc:
            return {"id": call_id, "outcome": "adapter_error", "message": str(exc)}
        except Exception as exc:
            return {
                "id": call_id,
                "outcome": "adapter_error",
                "message": f"{type(exc).__name__}: {exc}",
            }


def main() -> int:
    """Reads call lines from stdin until `shutdown` or EOF; answers one line per call."""
    adapter = Adapter()
    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        if message.get("type") == "shutdown":
            break
        if message.get("type") == "call":
            sys.stdout.write(json.dumps(adapter.handle(message)) + "\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
