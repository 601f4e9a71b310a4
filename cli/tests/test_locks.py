"""`concord locks` against the live server."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from concord import Concord

from tests.runner import Runner


def test_acquire_shows_the_grant_and_a_second_owner_conflicts(cli: Runner, unique: str) -> None:
    first = cli("-o", "json", "locks", "acquire", unique, "--owner", "w1", "--ttl", "1m")
    assert first.code == 0, first.err
    lock = first.json()
    assert lock["name"] == unique and lock["owner"] == "w1" and lock["fencing_token"] >= 1

    second = cli("-o", "json", "locks", "acquire", unique, "--owner", "w2")
    assert second.code == 6
    error = second.error()
    assert error["code"] == "LOCK_CONFLICT"
    assert error["request_id"].startswith("req_")
    assert error["http_status"] == 409


def test_conflict_in_table_mode_names_code_and_request_id(cli: Runner, unique: str) -> None:
    assert cli("locks", "acquire", unique, "--owner", "w1").code == 0
    result = cli("locks", "acquire", unique, "--owner", "w2")
    assert result.code == 6
    assert "LOCK_CONFLICT" in result.err
    assert "request id: req_" in result.err
    assert result.out == ""


def test_renew_release_get_list(cli: Runner, unique: str) -> None:
    token = cli("-o", "json", "locks", "acquire", unique, "--owner", "w1").json()["fencing_token"]
    renewed = cli(
        "-o",
        "json",
        "locks",
        "renew",
        unique,
        "--owner",
        "w1",
        "--token",
        str(token),
        "--ttl",
        "2m",
    )
    assert renewed.code == 0 and renewed.json()["ttl"] == "120s"

    listed = cli("locks", "list", "--prefix", unique)
    assert (
        listed.code == 0 and unique in listed.out and "w1" in listed.out and "TOKEN" in listed.out
    )
    assert cli("-o", "yaml", "locks", "get", unique).out.startswith(f"name: {unique}\n")

    wrong = cli("locks", "release", unique, "--owner", "w1", "--token", str(token + 100))
    assert wrong.code == 6 and "LOCK_NOT_HELD" in wrong.err
    assert cli("locks", "release", unique, "--owner", "w1", "--token", str(token)).code == 0
    missing = cli("locks", "get", unique)
    assert missing.code == 5 and "NOT_FOUND" in missing.err


def test_list_limit_and_empty(cli: Runner, unique: str) -> None:
    for i in range(3):
        cli("locks", "acquire", f"{unique}-{i}", "--owner", "w")
    assert len(cli("-o", "json", "locks", "list", "--prefix", unique, "-n", "2").json()) == 2
    assert cli("-o", "json", "locks", "list", "--prefix", f"{unique}-none").json() == []
    assert "(none)" in cli("locks", "list", "--prefix", f"{unique}-none").out


def test_acquire_waits_in_line(cli: Runner, client: Concord, unique: str) -> None:
    held = client.locks.acquire(unique, "w1", timedelta(minutes=1)).lock
    assert held is not None
    # Released a moment after the CLI starts waiting, or before: either way it must get it.
    releaser = threading.Timer(1.0, client.locks.release, (unique, "w1", held.fencing_token))
    releaser.start()
    result = cli("-o", "json", "locks", "acquire", unique, "--owner", "w2", "--wait", "120s")
    releaser.join()
    assert result.code == 0, result.err
    assert result.json()["fencing_token"] > held.fencing_token


def test_watch_prints_one_line_per_change(cli: Runner, client: Concord, unique: str) -> None:
    stop = threading.Event()

    def keep_changing() -> None:  # until the CLI has seen enough, whenever its watch opened
        while not stop.is_set():
            lock = client.locks.acquire(unique, "w1", timedelta(seconds=30)).lock
            assert lock is not None
            client.locks.release(unique, "w1", lock.fencing_token)
            stop.wait(0.3)

    changer = threading.Thread(target=keep_changing)
    changer.start()
    try:
        result = cli("-o", "json", "locks", "watch", "--prefix", unique, "--count", "3")
    finally:
        stop.set()
        changer.join()
    assert result.code == 0, result.err
    events = [json.loads(line) for line in result.out.splitlines() if line]
    assert len(events) == 3
    assert {e["type"] for e in events} <= {"ACQUIRED", "RELEASED"}
    assert {e["lock"]["name"] for e in events} == {unique}


def test_bad_duration_is_a_usage_error(cli: Runner, unique: str) -> None:
    result = cli("locks", "acquire", unique, "--ttl", "soon")
    assert result.code == 2
    assert "not a duration" in result.err
