"""`concord health`: liveness, version and each storage component; exit 7 when not ready."""

from __future__ import annotations

from pathlib import Path

from tests.runner import Runner
from tests.server import Live, free_port, started_server


def test_a_ready_server(cli: Runner) -> None:
    shown = cli("-o", "json", "health")
    assert shown.code == 0, shown.err
    ready = shown.json()["ready"]
    assert ready["status"] == "SERVING"
    assert {c["name"] for c in ready["components"]} >= {"locks", "events"}
    table = cli("health")
    assert table.code == 0 and "COMPONENT" in table.out and "locks" in table.out


def test_a_server_that_is_not_ready_shows_why_and_exits_7(tmp_path: Path) -> None:
    nobody = f"redis://127.0.0.1:{free_port()}"  # nothing listens: the locks never open
    with started_server({"CONCORD_LOCKS_URL": nobody}, probe="live") as live:
        runner = Runner(Live(live.base_url, live.api_key), tmp_path / "config.toml")
        table = runner("health")
        assert table.code == 7, table.err
        assert "COMPONENT" in table.out and "NOT_SERVING" in table.out
        shown = runner("-o", "json", "health")
        assert shown.code == 7
        ready = shown.json()["ready"]
        assert ready["status"] == "NOT_SERVING"
        (locks,) = [c for c in ready["components"] if c["name"] == "locks"]
        assert locks["status"] == "NOT_SERVING" and "cannot connect" in locks["message"]
