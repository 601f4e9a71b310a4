#!/usr/bin/env python3
"""Reference conformance adapter ("graphql"): every call over the server's GraphQL API.

Like the `rest` adapter it is not an SDK: it states what each case looks like over GraphQL.
Operations are built from the committed schema (spec/graphql/schema.graphql) with the naming
rules of docs/graphql.md: RPC `AcquireLock` is the root field `acquireLock`, proto field
`fencing_token` is `fencingToken`; every field of the result type is selected. Queries and
mutations go over HTTP POST (a fresh `Idempotency-Key` per mutation, reused by its retries);
server streams are subscriptions over WebSocket (graphql-transport-ws, credentials in the
`connection_init` payload). Protocol: docs/conformance.md.
"""

from __future__ import annotations

import functools
import json
import random
import re
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
    get_named_type,
)
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI
from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = ROOT / "spec" / "graphql" / "schema.graphql"
OPENAPI = ROOT / "spec" / "openapi" / "openapi.yaml"
RAW_JSON = {"JSON", "JSONObject"}  # user data: keys stay as they are, nulls are values
RETRY_STATUSES = {408, 429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 30.0
MAX_SELECTION_DEPTH = 12
_UPPER = re.compile(r"(?<=[a-z0-9])([A-Z])")


class AdapterError(Exception):
    """The adapter could not make the call (never a pass)."""


class ClientError(Exception):
    """A client-side failure that a case may expect (`client_error`): a refused redirect."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ErrorRule:
    """What the catalogue says about one code."""

    http_status: int
    retryable: bool


def load_catalogue(openapi: Path = OPENAPI) -> dict[str, ErrorRule]:
    """The contract's error catalogue (`x-concord-error-codes` of the OpenAPI document)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~8x faster
    document = yaml.load(openapi.read_text(encoding="utf-8"), Loader=loader)
    return {
        str(e["code"]): ErrorRule(int(e["http_status"]), bool(e.get("retryable")))
        for e in document["x-concord-error-codes"]
    }


def camel(name: str) -> str:
    """`fencing_token` -> `fencingToken`."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake(name: str) -> str:
    """`fencingToken` -> `fencing_token`."""
    return _UPPER.sub(r"_\1", name).lower()


def to_graphql(value: Any, gql_type: Any) -> Any:
    """Contract JSON as a GraphQL input value of `gql_type` (keys renamed, JSON kept)."""
    named = get_named_type(gql_type)
    if value is None or isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return value
    inner = gql_type.of_type if isinstance(gql_type, GraphQLNonNull) else gql_type
    if isinstance(inner, GraphQLList) and isinstance(value, list):
        return [to_graphql(item, inner.of_type) for item in value]
    if isinstance(named, GraphQLInputObjectType) and isinstance(value, dict):
        out = {}
        for key, item in value.items():
            field = named.fields.get(camel(key))
            out[camel(key)] = to_graphql(item, field.type) if field is not None else item
        return out
    return value


def to_contract(value: Any, gql_type: Any) -> Any:
    """A GraphQL result value of `gql_type` as contract JSON (snake_case, absent for null)."""
    named = get_named_type(gql_type)
    if value is None or isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return value
    if isinstance(value, list):
        inner = gql_type.of_type if isinstance(gql_type, GraphQLNonNull) else gql_type
        return [to_contract(item, getattr(inner, "of_type", inner)) for item in value]
    assert isinstance(named, GraphQLObjectType) and isinstance(value, dict)
    out = {}
    for key, item in value.items():
        field_type = named.fields[key].type
        if item is None and get_named_type(field_type).name not in RAW_JSON:
            continue  # an absent field or an unset enum: contract JSON omits it
        out[snake(key)] = to_contract(item, field_type)
    return out


def selection(gql_type: Any, depth: int = 0) -> str:
    """Every field of an object type, recursively (`{ a b { c } }`)."""
    named = get_named_type(gql_type)
    if not isinstance(named, GraphQLObjectType):
        return ""
    if depth > MAX_SELECTION_DEPTH:
        raise AdapterError(f"{named.name} nests deeper than {MAX_SELECTION_DEPTH} levels")
    parts = [f"{name}{selection(field.type, depth + 1)}" for name, field in named.fields.items()]
    return " { " + " ".join(parts) + " }"


@dataclass(frozen=True)
class Operation:
    """One RPC as a GraphQL operation: its document, how to fill its variables and read it."""

    op: str
    kind: str  # query, mutation or subscription
    field: str
    schema: GraphQLSchema

    def root(self) -> GraphQLObjectType:
        """The root type the field lives in."""
        root = self.schema.get_type(self.kind.capitalize())
        assert isinstance(root, GraphQLObjectType)
        return root

    def build(self, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The document and variables of a call with the contract JSON `payload`."""
        field = self.root().fields[self.field]
        declared, passed, variables = [], [], {}
        if self.kind == "mutation":
            items = {"input": payload} if "input" in field.args and payload else {}
        else:
            items = {camel(k): v for k, v in payload.items() if v is not None}
        for name, value in items.items():
            argument = field.args.get(name)
            gql_type = str(argument.type) if argument is not None else "JSON"
            declared.append(f"${name}: {gql_type}")
            passed.append(f"{name}: ${name}")
            variables[name] = to_graphql(value, argument.type) if argument is not None else value
        head = f"{self.kind} {self.op}" + (f"({', '.join(declared)})" if declared else "")
        call = self.field + (f"({', '.join(passed)})" if passed else "")
        return f"{head} {{ {call}{selection(field.type)} }}", variables

    def result(self, data: Any) -> Any:
        """The contract JSON of the field's value (`{}` for an empty response)."""
        field = self.root().fields[self.field]
        if not isinstance(get_named_type(field.type), GraphQLObjectType):
            return {}
        return to_contract(data, field.type)


def load_operations(schema: GraphQLSchema) -> dict[str, Operation]:
    """Every root field of the schema by the RPC it stands for."""
    found: dict[str, Operation] = {}
    for kind in ("query", "mutation", "subscription"):
        root = schema.get_type(kind.capitalize())
        for name in root.fields if isinstance(root, GraphQLObjectType) else ():
            op = name[:1].upper() + name[1:]
            found[op] = Operation(op, kind, name, schema)
    return found


def api_error(call_id: str, error: dict[str, Any], catalogue: dict[str, ErrorRule]) -> Any:
    """The api_error answer of a GraphQL error (code, details and request id in extensions)."""
    extensions = error.get("extensions") or {}
    code = extensions.get("code")
    if not isinstance(code, str) or code not in catalogue:
        raise AdapterError(f"GraphQL error without a catalogue code: {json.dumps(error)[:300]}")
    return {
        "id": call_id,
        "outcome": "api_error",
        "error": {
            "code": code,
            "native_type": "".join(p.capitalize() for p in code.split("_")) + "Error",
            "http_status": catalogue[code].http_status,
            "request_id": extensions.get("request_id", ""),
            "details": extensions.get("details") or {},
            "message": error.get("message", ""),
        },
    }


class GraphqlClient:
    """One named client: credentials, headers, timeout and retry budget of its config."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
        self.credentials: dict[str, str] = {}
        if config.get("bearer_token"):
            self.credentials["Authorization"] = f"Bearer {config['bearer_token']}"
        elif config.get("api_key"):
            self.credentials["X-API-Key"] = str(config["api_key"])
        self.max_retries = int(config.get("max_retries", 2))
        self.timeout = int(config.get("timeout_ms", 10_000)) / 1000
        self.base_url = str(config["base_url"]).rstrip("/")
        self.http = httpx.Client(
            base_url=self.base_url,
            headers={**self.headers, **self.credentials},
            timeout=self.timeout,
        )

    def post(self, document: str, variables: dict[str, Any], retryable: Any) -> httpx.Response:
        """POSTs the operation with retries (connection errors, 408/429/5xx, retryable codes)."""
        headers = {"Idempotency-Key": str(uuid.uuid4())} if document.startswith("mutation") else {}
        body = {"query": document, "variables": variables}
        attempt = 0
        while True:
            try:
                response = self.http.post("/graphql", json=body, headers=headers)
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise AdapterError(f"transport error after {attempt + 1} tries: {exc}") from exc
                time.sleep(_backoff(attempt, None))
            else:
                if response.is_redirect:
                    self.refuse_redirect(response.headers.get("location"))
                again = response.status_code in RETRY_STATUSES or retryable(response)
                if not again or attempt >= self.max_retries:
                    return response
                time.sleep(_backoff(attempt, response.headers.get("retry-after")))
            attempt += 1

    def refuse_redirect(self, location: str | None) -> None:
        """Refuses a redirect (credentials never follow one): a `cross_origin_redirect` client
        error when it leads to another origin, else an adapter error (GraphQL has no reason to
        redirect within its own origin)."""
        base = httpx.URL(self.base_url)
        target = base.join(location or "")
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            raise ClientError("cross_origin_redirect", f"redirect to {target} refused")
        raise AdapterError(f"unexpected redirect to {target}")

    def subscribe(self) -> ClientConnection:
        """A graphql-transport-ws connection, initialised with this client's credentials."""
        url = "ws" + self.base_url.removeprefix("http") + "/graphql"
        base = httpx.URL(self.base_url)
        sock = socket.create_connection((base.host, base.port or 80), timeout=self.timeout)
        try:  # our own socket: websockets then follows no redirect
            ws = connect(
                url,
                sock=sock,
                subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                additional_headers=self.headers,
                open_timeout=self.timeout,
            )
        except (ValueError, InvalidURI) as exc:  # raised while judging the redirect it refuses
            refused = exc.__cause__ or exc.__context__
            if not isinstance(refused, InvalidStatus):
                raise
            self.refuse_redirect(refused.response.headers.get("Location"))
        ws.send(json.dumps({"type": "connection_init", "payload": self.credentials}))
        ack = json.loads(ws.recv(timeout=self.timeout))
        if ack.get("type") != "connection_ack":
            ws.close()
            raise AdapterError(f"expected connection_ack, got {ack}")
        return ws


def _backoff(attempt: int, retry_after: str | None) -> float:
    """Retry-After when the server gives it, else exponential backoff with jitter."""
    if retry_after:
        try:
            return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER)
        except ValueError:
            pass
    delay: float = min(0.05 * 2.0**attempt, 2.0)
    return delay / 2 + random.random() * delay / 2


def _errors(response: httpx.Response) -> tuple[Any, list[dict[str, Any]]]:
    """The `data` and `errors` of a GraphQL response (AdapterError when it is not one)."""
    try:
        body = response.json()
    except ValueError as exc:
        raise AdapterError(f"HTTP {response.status_code}: not JSON: {response.text[:200]}") from exc
    if not isinstance(body, dict) or not ("data" in body or "errors" in body):
        raise AdapterError(f"HTTP {response.status_code}: not a GraphQL response: {body}")
    return body.get("data"), list(body.get("errors") or [])


class Adapter:
    """The read-eval-answer loop state: operations, catalogue and cached clients."""

    def __init__(self) -> None:
        self.operations = load_operations(build_schema(SCHEMA.read_text(encoding="utf-8")))
        self.clients: dict[str, GraphqlClient] = {}

    @functools.cached_property
    def catalogue(self) -> dict[str, ErrorRule]:
        """The error catalogue, read when the first error needs it."""
        return load_catalogue()

    def client(self, name: str, config: dict[str, Any]) -> GraphqlClient:
        """The cached client of a name and config."""
        key = name + json.dumps(config, sort_keys=True)
        if key not in self.clients:
            self.clients[key] = GraphqlClient(config)
        return self.clients[key]

    def retryable(self, response: httpx.Response) -> bool:
        """Whether a response failed with an error the catalogue calls retryable."""
        try:
            _, errors = _errors(response)
        except AdapterError:
            return False
        codes = [(e.get("extensions") or {}).get("code") for e in errors]
        return any(c in self.catalogue and self.catalogue[c].retryable for c in codes)

    def unary(self, client: GraphqlClient, call_id: str, op: Operation, payload: Any) -> Any:
        """The answer of a query or mutation."""
        document, variables = op.build(payload)
        response = client.post(document, variables, self.retryable)
        data, errors = _errors(response)
        if errors:
            return api_error(call_id, errors[0], self.catalogue)
        if not isinstance(data, dict) or op.field not in data:
            raise AdapterError(f"no {op.field} in the response data: {data}")
        return {"id": call_id, "outcome": "ok", "result": op.result(data[op.field])}

    def streaming(
        self, client: GraphqlClient, call_id: str, op: Operation, payload: Any, spec: Any
    ) -> Any:
        """Collects `take` messages of a subscription, or what came before the timeout."""
        take = int((spec or {}).get("take", 1))
        deadline = time.monotonic() + int((spec or {}).get("timeout_ms", 5000)) / 1000
        document, variables = op.build(payload)
        ws = client.subscribe()
        messages: list[Any] = []
        try:
            subscribe = {"query": document, "variables": variables}
            ws.send(json.dumps({"type": "subscribe", "id": "1", "payload": subscribe}))
            while len(messages) < take:
                try:
                    message = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.001)))
                except TimeoutError:
                    break
                if message.get("type") == "error":
                    return api_error(call_id, message["payload"][0], self.catalogue)
                if message.get("type") == "complete":
                    break
                if message.get("type") == "next":
                    if message["payload"].get("errors"):
                        return api_error(call_id, message["payload"]["errors"][0], self.catalogue)
                    messages.append(op.result(message["payload"]["data"][op.field]))
            ws.send(json.dumps({"type": "complete", "id": "1"}))
        except ConnectionClosed as exc:
            raise AdapterError(f"the WebSocket closed: {exc}") from exc
        finally:
            ws.close()
        return {"id": call_id, "outcome": "ok", "result": {"messages": messages}}

    def handle(self, call: dict[str, Any]) -> dict[str, Any]:
        """Answers one call line."""
        call_id = str(call.get("id", ""))
        try:
            op = self.operations.get(str(call.get("op")))
            if op is None:
                raise AdapterError(f"unknown op {call.get('op')!r}")
            client = self.client(str(call.get("client")), dict(call.get("client_config") or {}))
            payload = dict(call.get("input") or {})
            if op.kind == "subscription":
                reply: dict[str, Any] = self.streaming(
                    client, call_id, op, payload, call.get("stream")
                )
            else:
                reply = self.unary(client, call_id, op, payload)
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
