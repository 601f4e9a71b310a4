"""`concord events` against the live server."""

from __future__ import annotations

import json
import threading
import uuid

from concord import Concord, EventData

from tests.runner import Runner


def _append(client: Concord, stream: str, kind: str, n: int) -> None:
    client.events.append(
        stream, [EventData(event_id=str(uuid.uuid4()), type=kind, data={"n": n}, metadata={})]
    )


def test_append_read_info_delete(cli: Runner, unique: str) -> None:
    first = cli("-o", "json", "events", "append", unique, "-t", "created", "-d", '{"id": 1}')
    assert first.code == 0, first.err
    assert first.json()["revisions"] == [0]
    meta = cli(
        "-o", "json", "events", "append", unique, "-t", "paid", "-m", "src=cli", "--expect", "0"
    )
    assert meta.json()["revisions"] == [1]
    stale = cli("events", "append", unique, "-t", "late", "--expect", "0")
    assert stale.code == 6 and "WRONG_EXPECTED_REVISION" in stale.err

    events = cli("-o", "json", "events", "read", unique).json()
    assert [(e["revision"], e["type"]) for e in events] == [(0, "created"), (1, "paid")]
    assert events[0]["data"] == {"id": 1} and events[1]["metadata"] == {"src": "cli"}
    table = cli("events", "read", unique, "--backward", "-n", "1")
    assert "paid" in table.out and "created" not in table.out

    assert cli("-o", "json", "events", "info", unique).json()["current_revision"] == 1
    assert cli("events", "delete", unique).code == 0
    assert cli("-o", "json", "events", "info", unique).json()["deleted"] is True


def test_tail_shows_the_last_events(cli: Runner, client: Concord, unique: str) -> None:
    for n in range(5):
        _append(client, unique, "tick", n)
    result = cli("events", "tail", unique, "-n", "2")
    lines = result.out.splitlines()
    assert len(lines) == 2
    assert f"{unique}@3" in lines[0] and f"{unique}@4" in lines[1]
    assert cli("events", "tail", f"{unique}-none").out == ""


def test_tail_follow_streams_new_events_after_the_last_shown(
    cli: Runner, client: Concord, unique: str
) -> None:
    for n in range(3):
        _append(client, unique, "old", n)
    stop = threading.Event()

    def keep_appending() -> None:
        n = 100
        while not stop.is_set():
            _append(client, unique, "new", n)
            n += 1
            stop.wait(0.3)

    appender = threading.Thread(target=keep_appending)
    appender.start()
    try:
        result = cli("-o", "json", "events", "tail", unique, "-n", "2", "-f", "--count", "3")
    finally:
        stop.set()
        appender.join()
    assert result.code == 0, result.err
    events = [json.loads(line) for line in result.out.splitlines()]
    revisions = [e["revision"] for e in events]
    assert len(events) == 5
    assert revisions == list(range(revisions[0], revisions[0] + 5))  # no gap, no repeat
    assert revisions[0] >= 1


def test_tail_of_the_global_log_by_prefix(cli: Runner, client: Concord, unique: str) -> None:
    _append(client, f"{unique}-a", "x", 1)
    _append(client, f"{unique}-b", "y", 2)
    result = cli("-o", "json", "events", "tail", "--prefix", unique, "-n", "2")
    assert [json.loads(line)["stream"] for line in result.out.splitlines()] == [
        f"{unique}-a",
        f"{unique}-b",
    ]
