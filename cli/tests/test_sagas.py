"""`concord sagas` against the live server, with an SDK worker running the steps."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from concord import Concord, NonRetryableTaskError, Task

from tests.runner import Runner
from tests.server import Live


def saga_file(path: Path, kind: str) -> Path:
    path.write_text(
        f"""
name: checkout
steps:
  - name: reserve
    action: {{task: {{task_type: {kind}.reserve}}}}
    compensation: {{task: {{task_type: {kind}.unreserve}}}}
  - name: charge
    action: {{task: {{task_type: {kind}.charge}}}}
    retry: {{max_attempts: 1}}
"""
    )
    return path


@contextmanager
def worker(live: Live, kind: str, fail_charge: bool) -> Iterator[None]:
    """An SDK worker for the saga's task types, in a thread, stopped afterwards.

    It has a client of its own, left open: a long poll still in flight after `stop()` ends
    on its own (on task types no other test uses)."""

    def handle(task: Task) -> dict[str, Any]:
        if task.task_type.endswith(".charge") and fail_charge:
            raise NonRetryableTaskError("card declined")
        return {"done": task.task_type}

    types = [f"{kind}.reserve", f"{kind}.unreserve", f"{kind}.charge"]
    client = Concord(base_url=live.base_url, api_key=live.api_key)
    running = client.sagas.worker(types, handle, concurrency=2, wait_timeout=timedelta(seconds=2))
    thread = threading.Thread(target=running.run)
    thread.start()
    try:
        yield
    finally:
        running.stop()
        thread.join(120)


def test_start_wait_follows_the_steps_to_completion(
    cli: Runner, unique: str, tmp_path: Path
) -> None:
    path = saga_file(tmp_path / "saga.yaml", unique)
    with worker(cli.live, unique, fail_charge=False):
        result = cli(
            "sagas", "start", "-f", str(path), "--id", unique, "--input", '{"order": 7}', "--wait"
        )
    assert result.code == 0, result.err
    out = result.out
    assert "step reserve: PENDING" in out and "step reserve: SUCCEEDED" in out
    assert "step charge: SUCCEEDED" in out
    assert out.index("step reserve: SUCCEEDED") < out.index("step charge: SUCCEEDED")
    assert f"saga {unique}: COMPLETED" in out
    assert "timeline" in out

    saga = cli("-o", "json", "sagas", "get", unique).json()
    assert saga["state"] == "COMPLETED" and saga["input"] == {"order": 7}
    listed = cli("-o", "json", "sagas", "list", "--state", "completed").json()
    assert unique in {s["saga_id"] for s in listed}


def test_failed_step_is_compensated_and_exit_code_says_so(
    cli: Runner, unique: str, tmp_path: Path
) -> None:
    path = saga_file(tmp_path / "saga.yaml", unique)
    with worker(cli.live, unique, fail_charge=True):
        result = cli("-o", "json", "sagas", "start", "-f", str(path), "--id", unique, "--wait")
    assert result.code == 11, result.err
    saga = result.json()
    assert saga["state"] == "COMPENSATED"
    steps = {s["name"]: s for s in saga["steps"]}
    assert steps["charge"]["state"] == "FAILED" and steps["reserve"]["state"] == "COMPENSATED"
    phases = [e["phase"] for e in steps["reserve"]["history"]]
    assert "COMPENSATION" in phases
    timeline = cli("sagas", "get", unique).out
    assert "compensation" in timeline and "card declined" in timeline


def test_cancel_and_wait_timeout(cli: Runner, unique: str, tmp_path: Path) -> None:
    path = saga_file(tmp_path / "saga.yaml", unique)  # no worker: it stays RUNNING
    timed_out = cli(
        "sagas", "start", "-f", str(path), "--id", unique, "--wait", "--wait-timeout", "1s"
    )
    assert timed_out.code == 12 and "still RUNNING" in timed_out.err
    cancelled = cli("-o", "json", "sagas", "cancel", unique, "--reason", "test").json()
    assert cancelled["cancel_requested"] is True


def test_bad_files(cli: Runner, tmp_path: Path) -> None:
    missing = cli("sagas", "start", "-f", str(tmp_path / "nope.yaml"))
    assert missing.code == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsteps: []\n")
    refused = cli("sagas", "start", "-f", str(bad))
    assert refused.code == 3 and "INVALID_ARGUMENT" in refused.err
