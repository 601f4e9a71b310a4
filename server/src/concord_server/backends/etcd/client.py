"""A small etcd v3 client over the JSON gateway (httpx): KV, transactions, leases and watch."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from concord_server.backends import failures
from concord_server.backends.failures import as_contract_error
from concord_server.errors import ConcordError, ErrorCode

GRPC_NOT_FOUND = 5
GRPC_DEADLINE_EXCEEDED = 4
GRPC_UNAVAILABLE = 14
# etcd's answers that mean "not now": no leader, leader changed, request timed out, stopping.
RETRYABLE_CODES = frozenset({GRPC_DEADLINE_EXCEEDED, GRPC_UNAVAILABLE})
_TIMEOUT = httpx.Timeout(5.0)
_STREAM_TIMEOUT = httpx.Timeout(5.0, read=None)

Json = dict[str, Any]


def b64(data: str | bytes) -> str:
    """Base64 of a key or value, as the gateway wants it."""
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode()


def unb64(text: str) -> str:
    """The text of a base64 key or value."""
    return base64.b64decode(text).decode()


def prefix_end(prefix: str) -> bytes:
    """The first key after every key starting with `prefix` (range_end of a prefix range).

    UTF-8 text never contains the byte 0xFF, so the last byte can always be incremented.
    """
    raw = bytearray(prefix.encode())
    if not raw:
        return b"\0"
    raw[-1] += 1
    return bytes(raw)


@dataclass(frozen=True)
class KeyValue:
    """A stored key with its value, lease and revisions."""

    key: str
    value: str
    lease: int
    mod_revision: int

    @classmethod
    def parse(cls, raw: Json) -> KeyValue:
        """A KeyValue from the gateway's JSON."""
        return cls(
            key=unb64(raw["key"]),
            value=unb64(raw.get("value", "")),
            lease=int(raw.get("lease", 0)),
            mod_revision=int(raw.get("mod_revision", 0)),
        )


@dataclass(frozen=True)
class WatchEvent:
    """One watched change: a PUT or a DELETE, with the previous value when known."""

    kind: str
    kv: KeyValue
    prev: KeyValue | None


@dataclass(frozen=True)
class WatchBatch:
    """One watch response: its revision, events, and whether it opens or ends the watch."""

    revision: int
    events: list[WatchEvent]
    created: bool = False
    canceled: bool = False


class EtcdError(Exception):
    """An error answered by etcd, with its gRPC status code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def unavailable(what: str, exc: Exception) -> ConcordError:
    """The retryable UNAVAILABLE of an etcd that cannot serve now (no address in the message)."""
    error = as_contract_error(exc, what, "etcd")
    if error is not None and error.code is ErrorCode.UNAVAILABLE:
        return error
    return failures.unavailable(what, "etcd", failures.NOT_SERVING)


def op_put(key: str, value: str, lease: int = 0) -> Json:
    """A put operation of a transaction."""
    return {"request_put": {"key": b64(key), "value": b64(value), "lease": str(lease)}}


def op_delete(key: str) -> Json:
    """A delete operation of a transaction."""
    return {"request_delete_range": {"key": b64(key)}}


def cmp_mod_revision(key: str, revision: int) -> Json:
    """A comparison: the key was last modified at `revision` (0: the key does not exist)."""
    return {"key": b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": str(revision)}


class EtcdClient:
    """The calls the discovery registry needs, over one httpx client."""

    def __init__(
        self, endpoint: str, http: httpx.AsyncClient | None = None, what: str = "discovery"
    ) -> None:
        self.endpoint = endpoint
        self.what = what
        self._http = http or httpx.AsyncClient(base_url=endpoint, timeout=_TIMEOUT)

    async def _call(self, path: str, body: Json) -> Json:
        """POSTs one request; raises EtcdError for etcd errors, UNAVAILABLE when etcd cannot
        serve now (unreachable, starting, no leader, timed out)."""
        try:
            response = await self._http.post(path, json=body)
        except httpx.TransportError as exc:
            raise unavailable(self.what, exc) from exc
        try:
            data: Json = response.json()
        except ValueError as exc:
            if response.status_code >= 500:  # a gateway that is up before etcd itself
                raise unavailable(self.what, exc) from exc
            raise EtcdError(0, f"etcd answered {path} with invalid JSON") from exc
        if response.status_code != 200 or "error" in data:
            code = int(data.get("code", 0))
            error = EtcdError(code, str(data.get("message") or data.get("error")))
            if code in RETRYABLE_CODES:
                raise unavailable(self.what, error) from error
            raise error
        return data

    async def get(self, key: str) -> KeyValue | None:
        """The key's value, or None."""
        data = await self._call("/v3/kv/range", {"key": b64(key)})
        kvs = data.get("kvs", [])
        return KeyValue.parse(kvs[0]) if kvs else None

    async def get_prefix(self, prefix: str) -> tuple[list[KeyValue], int]:
        """Every key starting with `prefix` in key order, and the store revision read."""
        body = {"key": b64(prefix), "range_end": b64(prefix_end(prefix))}
        data = await self._call("/v3/kv/range", body)
        revision = int(data["header"]["revision"])
        return [KeyValue.parse(raw) for raw in data.get("kvs", [])], revision

    async def put(self, key: str, value: str, lease: int = 0) -> KeyValue | None:
        """Writes a key; returns its previous value."""
        body = {"key": b64(key), "value": b64(value), "lease": str(lease), "prev_kv": True}
        data = await self._call("/v3/kv/put", body)
        prev = data.get("prev_kv")
        return KeyValue.parse(prev) if prev else None

    async def txn(self, compare: Sequence[Json], success: Sequence[Json]) -> bool:
        """Runs `success` if every comparison holds; returns whether it did."""
        data = await self._call("/v3/kv/txn", {"compare": list(compare), "success": list(success)})
        return bool(data.get("succeeded", False))

    async def grant(self, ttl_seconds: int) -> int:
        """A new lease's id."""
        data = await self._call("/v3/lease/grant", {"TTL": str(ttl_seconds)})
        return int(data["ID"])

    async def keepalive(self, lease: int) -> int:
        """Renews a lease once; its new TTL in seconds, 0 when it no longer exists."""
        data = await self._call("/v3/lease/keepalive", {"ID": str(lease)})
        return int(data.get("result", {}).get("TTL", 0))

    async def revoke(self, lease: int) -> bool:
        """Revokes a lease (deleting its keys); False when it did not exist."""
        try:
            await self._call("/v3/lease/revoke", {"ID": str(lease)})
        except EtcdError as exc:
            if exc.code == GRPC_NOT_FOUND:
                return False
            raise
        return True

    async def status(self) -> None:
        """Raises when etcd does not answer."""
        await self._call("/v3/maintenance/status", {})

    async def watch(self, prefix: str, start_revision: int = 0) -> AsyncGenerator[WatchBatch, None]:
        """Streams the changes under `prefix` from `start_revision` (0: from now) until closed."""
        create = {
            "key": b64(prefix),
            "range_end": b64(prefix_end(prefix)),
            "prev_kv": True,
            "start_revision": str(start_revision),
        }
        request = {"create_request": create}
        try:
            async with self._http.stream(
                "POST", "/v3/watch", json=request, timeout=_STREAM_TIMEOUT
            ) as response:
                async for line in response.aiter_lines():
                    if line.strip():
                        yield _watch_batch(json.loads(line))
        except httpx.TransportError as exc:
            raise unavailable(self.what, exc) from exc

    async def close(self) -> None:
        """Closes the HTTP client."""
        await self._http.aclose()


def _watch_batch(message: Json) -> WatchBatch:
    """A WatchBatch from one line of the gateway's watch stream."""
    if "error" in message:
        error = message["error"]
        raise EtcdError(int(error.get("grpc_code", error.get("code", 0))), str(error))
    result = message.get("result", {})
    events = [
        WatchEvent(
            raw.get("type", "PUT"),
            KeyValue.parse(raw["kv"]),
            KeyValue.parse(raw["prev_kv"]) if raw.get("prev_kv") else None,
        )
        for raw in result.get("events", [])
    ]
    return WatchBatch(
        revision=int(result.get("header", {}).get("revision", 0)),
        events=events,
        created=bool(result.get("created", False)),
        canceled=bool(result.get("canceled")) or int(result.get("compact_revision", 0)) > 0,
    )
