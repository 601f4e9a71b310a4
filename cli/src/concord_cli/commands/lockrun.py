"""`concord locks run NAME -- CMD...`: flock(1) for distributed locks.

Holds the lock (auto-renewed by the SDK's `locks.hold`) while CMD runs, hands CMD the fencing
token in an environment variable, releases on exit and exits with CMD's exit code. If the hold
is lost, CMD is terminated and the exit code is 10."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import FrameType
from typing import Annotated

import typer
from concord import Concord, HeldLock, LockConflictError, LockLostError, default_owner

from concord_cli.errors import CLIError, Exit
from concord_cli.parsing import duration
from concord_cli.state import state_of

MAX_WAIT = 300.0  # the contract's longest wait_timeout; longer waits ask again
FORWARDED = (signal.SIGTERM, signal.SIGHUP)


def _hold(
    client: Concord, name: str, owner: str, ttl: timedelta, wait: timedelta | None
) -> HeldLock:
    """Acquire the hold, waiting in line up to `wait` (forever without one)."""
    deadline = None if wait is None else time.monotonic() + wait.total_seconds()
    while True:
        left = MAX_WAIT if deadline is None else max(0.0, deadline - time.monotonic())
        chunk = timedelta(seconds=min(MAX_WAIT, left))
        hold = client.locks.hold(name, owner=owner, ttl=ttl, wait_timeout=chunk)
        try:
            return hold.__enter__()
        except LockConflictError:
            if deadline is not None and time.monotonic() >= deadline:
                raise


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start CMD; 127 when it does not exist, 126 when it cannot run (as shells do)."""
    try:
        return subprocess.Popen(command, env=env)
    except FileNotFoundError:
        raise CLIError(f"{command[0]}: command not found", 127) from None
    except PermissionError:
        raise CLIError(f"{command[0]}: permission denied", 126) from None


@contextmanager
def _forwarding(child: subprocess.Popen[bytes]) -> Iterator[None]:
    """SIGTERM and SIGHUP go on to CMD; SIGINT is left to the terminal, which sends it to both."""

    def forward(signum: int, frame: FrameType | None) -> None:
        child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _supervise(child: subprocess.Popen[bytes], held: HeldLock, grace: float) -> int | None:
    """Wait for CMD; None when the hold was lost first (CMD is then stopped)."""
    while child.poll() is None:
        if held.lost.wait(0.5):
            child.terminate()
            try:
                child.wait(grace)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            return None
    code = child.returncode
    return code if code >= 0 else 128 - code


def run(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Lock name.")],
    command: Annotated[
        list[str],
        typer.Argument(metavar="-- CMD [ARGS]...", help="The command and its arguments."),
    ],
    owner: Annotated[
        str | None, typer.Option("--owner", help="Holder identity (default: host-pid-random).")
    ] = None,
    ttl: Annotated[
        timedelta,
        typer.Option(
            "--ttl", parser=duration, show_default="30s", help="Lease, renewed every TTL/3."
        ),
    ] = timedelta(seconds=30),
    wait: Annotated[
        timedelta | None,
        typer.Option("--wait", parser=duration, help="Give up after waiting this long (exit 6)."),
    ] = None,
    token_env: Annotated[
        str, typer.Option("--token-env", help="Variable that carries the fencing token.")
    ] = "CONCORD_FENCING_TOKEN",
    kill_after: Annotated[
        float, typer.Option("--kill-after", help="Seconds between SIGTERM and SIGKILL when lost.")
    ] = 10.0,
) -> None:
    """Run CMD while holding lock NAME: wait in line (forever without --wait), renew while CMD
    runs, release when it ends, and exit with its exit code. CMD gets the fencing token in
    $CONCORD_FENCING_TOKEN, and CONCORD_LOCK_NAME / CONCORD_LOCK_OWNER. If the hold is lost,
    CMD gets SIGTERM and concord exits 10."""
    state = state_of(ctx)
    who = owner or default_owner()
    with state.waiting(f"waiting for lock {name}"):
        held = _hold(state.client(), name, who, ttl, wait)
    env = dict(os.environ, CONCORD_LOCK_NAME=name, CONCORD_LOCK_OWNER=who)
    env[token_env] = str(held.fencing_token)
    code: int | None = None
    try:
        child = _start(command, env)
        with _forwarding(child):
            code = _supervise(child, held, kill_after)
    finally:
        try:
            held.__exit__(None, None, None)
        except LockLostError:
            code = None
    if code is None:
        raise CLIError(f"lock {name!r} was lost while the command ran", Exit.LOCK_LOST)
    raise typer.Exit(code)
