"""`concord locks run`: hold while a command runs, token in the environment, exit code passed on."""

from __future__ import annotations

import time
from pathlib import Path

from concord import Concord, NotFoundError

from tests.runner import Runner

DEADLINE = 120.0


def test_command_sees_the_token_and_its_exit_code_is_forwarded(
    cli: Runner, client: Concord, unique: str, tmp_path: Path
) -> None:
    out = tmp_path / "seen"
    script = f'echo "$CONCORD_FENCING_TOKEN $CONCORD_LOCK_NAME" > {out}; exit 7'
    result = cli("locks", "run", unique, "--", "sh", "-c", script)
    assert result.code == 7, result.err
    token, name = out.read_text().split()
    assert name == unique and int(token) >= 1
    try:
        client.locks.get(unique)
        raise AssertionError("the lock was not released")
    except NotFoundError:
        pass


def test_token_env_name_and_missing_command(cli: Runner, unique: str, tmp_path: Path) -> None:
    out = tmp_path / "seen"
    ok = cli(
        "locks", "run", unique, "--token-env", "FENCE", "--", "sh", "-c", f'echo "$FENCE" > {out}'
    )
    assert ok.code == 0 and int(out.read_text()) >= 1
    missing = cli("locks", "run", unique, "--", "no-such-command-here")
    assert missing.code == 127 and "command not found" in missing.err


def test_held_lock_with_no_wait_fails_with_conflict(
    cli: Runner, client: Concord, unique: str
) -> None:
    from datetime import timedelta

    client.locks.acquire(unique, "someone", timedelta(minutes=1))
    result = cli("locks", "run", unique, "--wait", "0s", "--", "true")
    assert result.code == 6 and "LOCK_CONFLICT" in result.err


def _wait_for(path: Path, text: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while text not in (path.read_text() if path.exists() else ""):
        assert time.monotonic() < deadline, f"{text!r} never appeared in {path}"
        time.sleep(0.1)


def test_two_concurrent_runs_serialise_with_increasing_tokens(
    cli: Runner, client: Concord, unique: str, tmp_path: Path
) -> None:
    log, gate = tmp_path / "log", tmp_path / "gate"
    body = (
        f'echo "start $RUN $CONCORD_FENCING_TOKEN" >> {log}; '
        f"while [ ! -e {gate} ]; do sleep 0.1; done; "
        f'echo "end $RUN $CONCORD_FENCING_TOKEN" >> {log}; exit $CODE'
    )
    first = cli.spawn(
        "locks",
        "run",
        unique,
        "--ttl",
        "3s",
        "--",
        "sh",
        "-c",
        body,
        env={"RUN": "a", "CODE": "0"},
    )
    _wait_for(log, "start a")
    second = cli.spawn(
        "locks",
        "run",
        unique,
        "--ttl",
        "3s",
        "--",
        "sh",
        "-c",
        body,
        env={"RUN": "b", "CODE": "3"},
    )
    # While the first holds the lock (renewed across several TTLs), the second must not start.
    holder = client.locks.get(unique).lock
    assert holder is not None
    for _ in range(30):
        time.sleep(0.2)
        assert "start b" not in log.read_text()
        assert second.poll() is None, second.communicate()
    gate.touch()
    try:
        assert first.wait(DEADLINE) == 0, first.communicate()
        assert second.wait(DEADLINE) == 3, second.communicate()
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
        for proc in (first, second):
            proc.communicate()
    lines = [line.split() for line in log.read_text().splitlines()]
    assert [(word, run) for word, run, _ in lines] == [
        ("start", "a"),
        ("end", "a"),
        ("start", "b"),
        ("end", "b"),
    ]
    token_a, token_b = int(lines[0][2]), int(lines[2][2])
    assert token_b > token_a
    assert token_a == holder.fencing_token


def test_a_lost_hold_stops_the_command(
    cli: Runner, client: Concord, unique: str, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    body = f'echo "start $CONCORD_FENCING_TOKEN" >> {log}; exec sleep 600'
    proc = cli.spawn(
        "locks", "run", unique, "--ttl", "2s", "--kill-after", "5", "--", "sh", "-c", body
    )
    try:
        _wait_for(log, "start")
        token = int(log.read_text().split()[1])
        # Someone with the owner and token (an operator) releases it: the next renewal fails.
        owner = client.locks.get(unique).lock
        assert owner is not None
        client.locks.release(unique, owner.owner, token)
        code = proc.wait(DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate()
    assert code == 10, err
    assert "lost" in err


def test_sigterm_reaches_the_command(cli: Runner, unique: str, tmp_path: Path) -> None:
    log = tmp_path / "log"
    body = (
        f"trap 'echo got-term >> {log}; exit 143' TERM; echo ready >> {log}; "
        "while :; do sleep 0.1; done"
    )
    proc = cli.spawn("locks", "run", unique, "--", "sh", "-c", body)
    try:
        _wait_for(log, "ready")
        proc.terminate()
        code = proc.wait(DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert code == 143
    assert "got-term" in log.read_text()
