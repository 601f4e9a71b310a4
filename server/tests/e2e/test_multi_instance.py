"""Two server processes on the same engines: mutual exclusion and one fencing order."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import engine_url, isolated
from tests.e2e.live import LiveServer

pytestmark = pytest.mark.slow


def _engines(lock_engine: str) -> dict[str, str]:
    pg = isolated(engine_url("postgres"), "postgres")
    locks = isolated(engine_url(lock_engine), lock_engine)
    return {
        "CONCORD_LOCKS_URL": locks,
        "CONCORD_EVENTS_URL": pg,
        "CONCORD_SAGAS_URL": pg,
        "CONCORD_RBAC_URL": pg,
    }


@pytest.fixture(params=["redis", "postgres"])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two servers sharing one lock engine (Redis or PostgreSQL) and one PostgreSQL."""
    env = _engines(request.param)
    a = LiveServer(tmp_path / "a", env_overrides=env).start()
    try:
        b = LiveServer(tmp_path / "b", env_overrides=env).start()
        try:
            yield a, b
        finally:
            b.stop()
    finally:
        a.stop()


def _acquire(client: httpx.Client, owner: str) -> int | None:
    r = client.post("/v1/locks/shared:acquire", json={"owner": owner, "ttl": "30s"})
    if r.status_code == 409:
        assert r.json()["code"] == "LOCK_CONFLICT"
        return None
    r.raise_for_status()
    return int(r.json()["lock"]["fencing_token"])


def test_only_one_instance_wins_a_contended_lock(pair: tuple[LiveServer, LiveServer]) -> None:
    clients = [s.client() for s in pair]
    jobs = [(clients[i % 2], f"owner-{i}") for i in range(20)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        tokens = list(pool.map(lambda job: _acquire(*job), jobs))
    for c in clients:
        c.close()
    assert len([t for t in tokens if t is not None]) == 1, tokens


def test_fencing_tokens_increase_across_instances(pair: tuple[LiveServer, LiveServer]) -> None:
    clients = [s.client() for s in pair]
    seen: list[int] = []
    for round_ in range(10):
        client = clients[round_ % 2]
        token = _acquire(client, f"owner-{round_}")
        assert token is not None
        seen.append(token)
        release = {"owner": f"owner-{round_}", "fencing_token": token}
        client.post("/v1/locks/shared:release", json=release).raise_for_status()
    for c in clients:
        c.close()
    assert seen == sorted(seen) and len(set(seen)) == len(seen), seen


def test_global_log_has_no_gaps_under_appends_from_both(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    import uuid

    clients = [s.client() for s in pair]

    def append(i: int) -> None:
        event = {"event_id": str(uuid.uuid4()), "type": "Tick", "data": {"i": i}}
        r = clients[i % 2].post(f"/v1/streams/s{i % 5}:append", json={"events": [event]})
        r.raise_for_status()

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(append, range(60)))
    positions: list[int] = []
    token = ""
    while True:
        params: dict[str, str | int] = {"page_size": 100}
        if token:
            params["page_token"] = token
        page = clients[0].get("/v1/events", params=params).raise_for_status().json()
        positions += [e["position"] for e in page["events"]]
        token = page.get("next_page_token", "")
        if not token:
            break
    for c in clients:
        c.close()
    assert positions == list(range(positions[0], positions[0] + 60)), positions
