"""`concord cache` and `concord services` against the live server."""

from __future__ import annotations

import json
import threading

from concord import Concord

from tests.runner import Runner


def test_cache_set_get_compare_and_delete(cli: Runner, unique: str) -> None:
    first = cli("-o", "json", "cache", "set", unique, "k", '{"a": 1}', "--ttl", "1m")
    assert first.code == 0, first.err
    etag = first.json()["etag"]
    assert cli("cache", "get", unique, "k", "--value").out.strip() == '{\n  "a": 1\n}'
    assert (
        cli("-o", "json", "cache", "set", unique, "s", "plain text").json()["value"] == "plain text"
    )

    stale = cli("-o", "json", "cache", "set", unique, "k", "2", "--if-match", "not-the-etag")
    assert stale.code == 6 and stale.error()["code"] == "PRECONDITION_FAILED"
    assert cli("cache", "set", unique, "k", "2", "--if-match", etag).code == 0
    assert cli("cache", "set", unique, "k", "3", "--create-only").code == 6

    assert cli("-o", "json", "cache", "del", unique, "k").json() == {"deleted": True}
    assert cli("cache", "get", unique, "k").code == 5
    assert cli("-o", "json", "cache", "del", unique, "--prefix", "").json() == {"deleted_count": 1}
    assert cli("cache", "del", unique).code == 2


def test_cache_watch(cli: Runner, client: Concord, unique: str) -> None:
    stop = threading.Event()

    def keep_setting() -> None:
        while not stop.is_set():
            client.cache.set(unique, "k", 1)
            stop.wait(0.3)

    setter = threading.Thread(target=keep_setting)
    setter.start()
    try:
        result = cli("-o", "json", "cache", "watch", unique, "--count", "2")
    finally:
        stop.set()
        setter.join()
    assert [json.loads(line)["type"] for line in result.out.splitlines()] == ["SET", "SET"]


def test_services_register_list_watch_deregister(cli: Runner, client: Concord, unique: str) -> None:
    up = cli(
        "services",
        "register",
        unique,
        "i1",
        "--address",
        "10.0.0.1",
        "--port",
        "80",
        "--tag",
        "v1",
        "--ttl",
        "1m",
    )
    assert up.code == 0 and "10.0.0.1:80" in up.out
    cli(
        "services",
        "register",
        unique,
        "i2",
        "--address",
        "10.0.0.2",
        "--port",
        "81",
        "--status",
        "unhealthy",
    )

    summary = {s["name"]: s for s in cli("-o", "json", "services", "list").json()}
    assert summary[unique]["instance_count"] == 2 and summary[unique]["healthy_count"] == 1
    healthy = cli("-o", "json", "services", "list", unique).json()
    assert [i["instance_id"] for i in healthy] == ["i1"]
    every = cli("-o", "json", "services", "list", unique, "--include-unhealthy").json()
    assert {i["instance_id"] for i in every} == {"i1", "i2"}
    assert (
        cli(
            "services", "register", unique, "i3", "--address", "x", "--port", "1", "--status", "odd"
        ).code
        == 2
    )

    stop = threading.Event()

    def keep_beating() -> None:
        while not stop.is_set():
            client.discovery.heartbeat(unique, "i1")
            stop.wait(0.3)

    beater = threading.Thread(target=keep_beating)
    beater.start()
    try:
        watched = cli("-o", "json", "services", "watch", unique, "--count", "1")
    finally:
        stop.set()
        beater.join()
    assert json.loads(watched.out)["instance"]["service"] == unique

    assert cli("-o", "json", "services", "deregister", unique, "i2").json() == {
        "deregistered": True
    }
