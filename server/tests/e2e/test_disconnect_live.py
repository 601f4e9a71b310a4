"""A real server: a REST call whose client hangs up is cancelled, like a cancelled gRPC call,
so a lock waiter that left does not take the lock when it frees."""

from __future__ import annotations

import time

import httpx

from tests.e2e.live import LiveServer


def test_a_waiter_that_hangs_up_leaves_the_line(live_server: LiveServer) -> None:
    with live_server.client() as client:
        held = client.post("/v1/locks/left:acquire", json={"owner": "alice", "ttl": "60s"})
        assert held.status_code == 200, held.text
        token = held.json()["lock"]["fencing_token"]
        try:
            client.post(
                "/v1/locks/left:acquire",
                json={"owner": "bob", "ttl": "60s", "wait_timeout": "30s"},
                timeout=1.0,
            )
        except httpx.ReadTimeout:
            pass
        else:
            raise AssertionError("bob's wait should outlast his one-second client timeout")
        time.sleep(1.0)  # the server sees the hang-up long before the release below
        released = client.post(
            "/v1/locks/left:release", json={"owner": "alice", "fencing_token": token}
        )
        assert released.status_code == 200, released.text
        time.sleep(1.0)  # a waiter still in line would take the lock at once
        after = client.get("/v1/locks/left")
        assert after.status_code == 404, after.text
        carol = client.post("/v1/locks/left:acquire", json={"owner": "carol", "ttl": "30s"})
        assert carol.status_code == 200, carol.text
        assert carol.json()["lock"]["fencing_token"] > token
