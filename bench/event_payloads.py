"""The 100-event batches of bench_events.py, encoded once per client's wire format: each batch
carries the same events and only the event ids change (unique, UUID-shaped, cheap to make), so
the rates compare the append paths rather than the cost of building payloads in the bench.
The JSON appends go out over a bare keep-alive HTTP/1.1 connection (wrk's role in the lock
benchmarks); the gRPC ones as pre-serialized bytes."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any

import orjson
from concord_server._gen.concord.v1 import events_pb2

BATCH = 100
TYPE = "OrderPlaced"
METADATA = {"correlation_id": "c-1"}
DATA = [{"order": i, "sku": "A-1", "qty": 2, "price": 9.5} for i in range(BATCH)]


class EventIds:
    """Unique event ids: one random UUID-shaped prefix per run and a counter."""

    def __init__(self) -> None:
        text = str(uuid.uuid4())
        self._prefix = text[: text.rindex("-") + 1]
        self._counter = itertools.count()

    def take(self) -> list[str]:
        """The ids of one batch."""
        return [f"{self._prefix}{n:012x}" for n in itertools.islice(self._counter, BATCH)]


def _json_tails() -> list[bytes]:
    """Each event's JSON object after its `{`, without the id."""
    return [orjson.dumps({"type": TYPE, "data": data, "metadata": METADATA})[1:] for data in DATA]


def _proto_tails() -> list[bytes]:
    """Each EventData message without its id (protobuf readers take fields in any order)."""
    return [
        events_pb2.EventData(type=TYPE, metadata=METADATA, data=_value(data)).SerializeToString()
        for data in DATA
    ]


def _value(data: dict[str, Any]) -> Any:
    value = events_pb2.EventData().data
    value.struct_value.update(data)
    return value


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


class Payloads:
    """One batch at a time in every form the bench sends."""

    def __init__(self) -> None:
        self._ids = EventIds()
        self._json, self._proto = _json_tails(), _proto_tails()
        self.data_json = [orjson.dumps(data).decode() for data in DATA]
        self.metadata_json = orjson.dumps(METADATA).decode()

    def ids(self) -> list[str]:
        """Fresh ids for one batch."""
        return self._ids.take()

    def rest_body(self) -> bytes:
        """The JSON body of POST /v1/streams/{stream}:append."""
        events = b",".join(
            b'{"event_id":"' + i.encode() + b'",' + tail
            for i, tail in zip(self.ids(), self._json, strict=True)
        )
        return b'{"events":[' + events + b"]}"

    def grpc_request(self, stream: str) -> bytes:
        """A serialized AppendToStreamRequest."""
        events = b"".join(
            _field(2, _field(1, i.encode()) + tail)
            for i, tail in zip(self.ids(), self._proto, strict=True)
        )
        return _field(1, stream.encode()) + events


class HttpConnection:
    """One keep-alive HTTP/1.1 connection sending JSON POSTs and reading each whole answer."""

    def __init__(self, host: str, port: int, api_key: str) -> None:
        self._address = (host, port)
        self._head = f"Host: {host}:{port}\r\nX-API-Key: {api_key}\r\n".encode()
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, body: bytes) -> None:
        """POSTs `body`; raises unless the answer is a 200."""
        if self._streams is None or self._streams[0].at_eof():  # closed while idle: reconnect
            self._streams = await asyncio.open_connection(*self._address)
        reader, writer = self._streams
        writer.write(
            b"POST "
            + path.encode()
            + b" HTTP/1.1\r\n"
            + self._head
            + b"Content-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        answer = await reader.readexactly(length)
        if head[9:12] != b"200":
            raise RuntimeError(f"append answered {head[9:12].decode()}: {answer[:300]!r}")

    async def close(self) -> None:
        """Closes the connection."""
        if self._streams is not None:
            self._streams[1].close()
            await self._streams[1].wait_closed()
