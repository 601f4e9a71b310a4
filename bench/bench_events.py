"""100-event appends to PostgreSQL through the server (REST and gRPC AppendToStream, and the
storage layer alone) next to raw asyncpg inserting the same rows, in alternating rounds of the
same run (medians reported), with one writer and with four.

The raw baseline is what an application writing its own table would do: per batch, one
`INSERT ... SELECT FROM unnest(...)` of the same columns, values and unique indexes as the event
log, each writer on a connection of its own (no pool), with positions from an identity column.
Every path sends the same pre-encoded events (bench/event_payloads.py: only the event ids change
between batches), the REST appends over a bare keep-alive HTTP/1.1 connection per writer, so that
the figures compare the paths rather than the bench's own cost of building requests.
The server adds what the contract asks for on top: the expected-revision check, the replay of a
retried batch, the gap-free global order (one head row serialises appends) and the change
notification.

Needs a PostgreSQL: CONCORD_TEST_POSTGRES_URL (`make bench` starts one) or --postgres-url.

    .venv/bin/python bench/bench_events.py [--seconds 4] [--rounds 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "bench"))

from concord_server._gen.concord.v1 import events_pb2
from concord_server.backends.connections import Connections
from concord_server.backends.postgres.events import PostgresEventLog, open_event_log
from concord_server.config import Settings
from concord_server.ports.events import Expectation, NewEvent
from tests.e2e.live import ADMIN_KEY, LiveServer

from benchrows import SERVER_ENV, Row, add_json_argument, write_rows
from event_payloads import BATCH, DATA, METADATA, TYPE, HttpConnection, Payloads

WRITERS = (1, 4)
GOAL = 0.7  # issue 14: a 100-event append through the server >= 0.7x raw asyncpg, one writer
Append = Callable[[int], Awaitable[None]]


async def batches_per_second(seconds: float, writers: int, append: Append) -> float:
    """Runs `append(writer)` in `writers` loops for `seconds`; returns batches per second."""
    deadline = time.perf_counter() + seconds
    counts = [0] * writers

    async def loop(w: int) -> None:
        while time.perf_counter() < deadline:
            await append(w)
            counts[w] += 1

    start = time.perf_counter()
    await asyncio.gather(*(loop(w) for w in range(writers)))
    return sum(counts) / (time.perf_counter() - start)


class Raw:
    """The baseline: asyncpg inserting the same rows into a table of the event log's shape."""

    def __init__(self, url: str, schema: str, payloads: Payloads) -> None:
        self._url, self._schema = url, f'"{schema}"'
        self._payloads = payloads
        self._table = f"{self._schema}.events"
        self._revisions: dict[int, int] = {}
        self._connections: dict[int, Any] = {}

    async def create(self) -> None:
        """The schema and table: the event log's columns, primary key and unique indexes."""
        conn = await self._connection(0)
        await conn.execute(f"CREATE SCHEMA {self._schema}")
        await conn.execute(
            f"CREATE TABLE {self._table} (position bigint GENERATED ALWAYS AS IDENTITY"
            " PRIMARY KEY, stream text NOT NULL, revision bigint NOT NULL,"
            " event_id text NOT NULL UNIQUE, type text NOT NULL, data jsonb,"
            " metadata jsonb NOT NULL, recorded_at timestamptz NOT NULL,"
            " UNIQUE (stream, revision))"
        )

    async def _connection(self, writer: int) -> Any:
        """The writer's own connection (opened on first use)."""
        if writer not in self._connections:
            self._connections[writer] = await asyncpg.connect(self._url)
        return self._connections[writer]

    async def close(self) -> None:
        """Closes the writers' connections."""
        for conn in self._connections.values():
            await conn.close()

    async def append(self, writer: int) -> None:
        """One batch in one statement (its own transaction)."""
        payloads = self._payloads
        base = self._revisions.get(writer, 0)
        self._revisions[writer] = base + BATCH
        conn = await self._connection(writer)
        await conn.execute(
            f"INSERT INTO {self._table} (stream, revision, event_id, type, data, metadata,"
            " recorded_at) SELECT $1, $2 + e.i - 1, e.id, e.type, e.data, e.metadata, $3"
            " FROM unnest($4::text[], $5::text[], $6::jsonb[], $7::jsonb[])"
            " WITH ORDINALITY AS e(id, type, data, metadata, i)",
            f"raw-{writer}",
            base,
            datetime.now(UTC),
            payloads.ids(),
            [TYPE] * BATCH,
            payloads.data_json,
            [payloads.metadata_json] * BATCH,
        )


def store_append(log: PostgresEventLog, payloads: Payloads) -> Append:
    """The storage layer alone: PostgresEventLog.append of the same batch, in process."""

    async def append(writer: int) -> None:
        events = [
            NewEvent(i, TYPE, data, METADATA) for i, data in zip(payloads.ids(), DATA, strict=True)
        ]
        await log.append(f"store-{writer}", events, Expectation(), datetime.now(UTC))

    return append


def rest_append(connections: list[HttpConnection], payloads: Payloads) -> Append:
    """POST /v1/streams/{stream}:append with the batch, each writer on its own connection."""

    async def append(writer: int) -> None:
        await connections[writer].post(f"/v1/streams/rest-{writer}:append", payloads.rest_body())

    return append


def grpc_append(channel: grpc.aio.Channel, payloads: Payloads) -> Append:
    """EventService/AppendToStream with the batch (its bytes serialized by Payloads)."""
    rpc = channel.unary_unary(
        "/concord.v1.EventService/AppendToStream",
        response_deserializer=events_pb2.AppendToStreamResponse.FromString,
    )
    metadata = (("x-api-key", ADMIN_KEY),)

    async def append(writer: int) -> None:
        await rpc(payloads.grpc_request(f"grpc-{writer}"), metadata=metadata)

    return append


async def measure(args: argparse.Namespace, pg_url: str, server: LiveServer) -> dict[str, float]:
    """Medians of alternating rounds: raw, store, REST and gRPC, per writer count."""
    schema = "benchraw" + uuid.uuid4().hex[:6]
    connections = Connections()
    payloads = Payloads()
    raw = Raw(pg_url, schema, payloads)
    host, port = server.base_url.removeprefix("http://").rsplit(":", 1)
    http = [HttpConnection(host, int(port), ADMIN_KEY) for _ in range(max(WRITERS))]
    try:
        await raw.create()
        log = await open_event_log(f"{pg_url}?schema={schema}", Settings(), connections)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            kinds = {
                "raw": raw.append,
                "store": store_append(log, payloads),
                "rest": rest_append(http, payloads),
                "grpc": grpc_append(channel, payloads),
            }
            for append in kinds.values():  # warm-up: connections, prepared statements
                await batches_per_second(0.5, 1, append)
            samples: dict[str, list[float]] = {}
            for _round in range(args.rounds):
                for writers in WRITERS:
                    for kind, append in kinds.items():
                        rate = await batches_per_second(args.seconds, writers, append)
                        samples.setdefault(f"{kind}-{writers}", []).append(rate)
        return {key: statistics.median(values) for key, values in samples.items()}
    finally:
        await connections.close()
        await raw.close()
        for connection in http:
            await connection.close()
        await drop_schema(pg_url, schema)


def rows(rates: dict[str, float]) -> list[Row]:
    """One row per path and writer count, each against raw asyncpg with as many writers."""
    paths = {
        "store": "event log storage layer alone (PostgresEventLog.append, in process)",
        "rest": "REST append through the server",
        "grpc": "gRPC AppendToStream through the server",
    }
    out: list[Row] = []
    for writers in WRITERS:
        raw = rates[f"raw-{writers}"]
        baseline = f"raw asyncpg unnest INSERT of the same rows, {writers} writer(s)"
        for kind, what in paths.items():
            goal = GOAL if writers == 1 and kind != "store" else None
            name = f"100-event append on PostgreSQL, {what}, {writers} writer(s)"
            out.append(Row(name, rates[f"{kind}-{writers}"], "batches/s", baseline, raw, goal))
    return out


def main() -> None:
    """Starts a server whose event log is on PostgreSQL, measures, writes the rows."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres-url", default=os.environ.get("CONCORD_TEST_POSTGRES_URL", ""))
    add_json_argument(parser)
    args = parser.parse_args()
    if not args.postgres_url:
        write_rows(args.json, [], skipped="no PostgreSQL (CONCORD_TEST_POSTGRES_URL)")
        return
    schema = "benchev" + uuid.uuid4().hex[:6]
    env = dict(SERVER_ENV, CONCORD_EVENTS_URL=f"{args.postgres_url}?schema={schema}")
    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(Path(tmp), env_overrides=env).start()
        try:
            rates = asyncio.run(measure(args, args.postgres_url, server))
        finally:
            server.stop()
            asyncio.run(drop_schema(args.postgres_url, schema))
    write_rows(args.json, rows(rates))


async def drop_schema(url: str, schema: str) -> None:
    """Drops the server's event log schema."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
