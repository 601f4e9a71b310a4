"""Adapter processes: NDJSON calls over stdin/stdout, logs on stderr, a pool per language.

An adapter answers one call at a time. The runner runs several adapter processes of a language
side by side: one per parallel worker, plus extra ones for a case's `async` steps.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# Environment variables an SDK might read credentials or targets from: never leak them in.
_SCRUBBED_PREFIXES = ("CONCORD_",)
_KEPT = ("CONCORD_TEST_",)
_EOF = object()


@dataclass(frozen=True)
class AdapterSpec:
    """How to start one language's adapter."""

    language: str
    command: tuple[str, ...]
    cwd: Path
    log_dir: Path
    lacks: tuple[tuple[str, str], ...] = ()  # (feature, reason): cases needing it are skipped
    stream_open_notice: bool = False  # the adapter writes a `stream_open` notice (see call)

    def missing(self, features: frozenset[str]) -> str:
        """Why a case needing `features` cannot run on this adapter; empty when it can."""
        reasons = [f"lacks {name}: {why}" for name, why in self.lacks if name in features]
        return "; ".join(reasons)


def adapter_error(call_id: str, message: str) -> dict[str, Any]:
    """An `adapter_error` reply made by the runner (the adapter failed to answer properly)."""
    return {"id": call_id, "outcome": "adapter_error", "message": message}


def clean_env() -> dict[str, str]:
    """The runner's environment without CONCORD_* settings (CONCORD_TEST_* stay)."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_SCRUBBED_PREFIXES) or k.startswith(_KEPT)
    }


class AdapterProcess:
    """One running adapter; `call` sends a line and waits for the reply with the same id."""

    def __init__(self, spec: AdapterSpec, number: int) -> None:
        self.spec = spec
        spec.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = spec.log_dir / f"adapter-{spec.language}-{number}.log"
        self._log: IO[bytes] = self.log_path.open("ab")
        try:
            self._proc = subprocess.Popen(
                list(spec.command),
                cwd=spec.cwd,
                env=clean_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._log,
            )
        except OSError as exc:
            self._log.close()
            raise RuntimeError(f"cannot start adapter {list(spec.command)}: {exc}") from exc
        self._lines: queue.Queue[object] = queue.Queue()
        self.calls = 0
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def alive(self) -> bool:
        """Whether the process still runs."""
        return self._proc.poll() is None

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for raw in self._proc.stdout:
            self._lines.put(raw.decode("utf-8", "replace"))
        self._lines.put(_EOF)

    def call(
        self,
        message: dict[str, Any],
        timeout: float,
        on_notice: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """Sends one call and returns the adapter's reply (or a runner-made adapter_error).
        Notice lines of the call (`{"id": …, "notice": "stream_open"}`, written before the
        reply) go to `on_notice`."""
        call_id = str(message.get("id", ""))
        self.calls += 1
        if not self._send(message):
            return adapter_error(call_id, f"adapter exited (code {self._proc.poll()})")
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self._lines.get(timeout=max(remaining, 0.001))
            except queue.Empty:
                self.kill()
                return adapter_error(call_id, f"no answer within {timeout:.1f}s (adapter killed)")
            if line is _EOF:
                return adapter_error(call_id, f"adapter exited (code {self._proc.wait()})")
            reply = self._parse(str(line), call_id)
            if reply is not None and "notice" in reply and "outcome" not in reply:
                if on_notice is not None:
                    on_notice(str(reply["notice"]))
                continue
            if reply is not None:
                return reply

    def _send(self, message: dict[str, Any]) -> bool:
        if not self.alive or self._proc.stdin is None:
            return False
        try:
            self._proc.stdin.write((json.dumps(message) + "\n").encode())
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return False
        return True

    def _parse(self, line: str, call_id: str) -> dict[str, Any] | None:
        """The reply of this call; None for a blank line or a stale reply of another call."""
        if not line.strip():
            return None
        try:
            reply = json.loads(line)
        except ValueError:
            return adapter_error(call_id, f"adapter wrote a line that is not JSON: {line[:200]!r}")
        if not isinstance(reply, dict):
            return adapter_error(call_id, f"adapter wrote a non-object line: {line[:200]!r}")
        if str(reply.get("id")) != call_id:
            return None
        return reply

    def shutdown(self, grace: float = 3.0) -> None:
        """Asks the adapter to stop, then kills it if it does not."""
        self._send({"type": "shutdown"})
        if self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        try:
            self._proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()
        self._log.close()

    def kill(self) -> None:
        """Stops the process at once."""
        if self.alive:
            self._proc.kill()
            self._proc.wait()


class AdapterPool:
    """The adapter processes of one language: idle ones are reused, dead ones replaced."""

    def __init__(self, spec: AdapterSpec) -> None:
        self.spec = spec
        self._idle: list[AdapterProcess] = []
        self._all: list[AdapterProcess] = []
        self._lock = threading.Lock()

    def acquire(self) -> AdapterProcess:
        """An idle live adapter, or a new one."""
        with self._lock:
            while self._idle:
                process = self._idle.pop()
                if process.alive:
                    return process
            process = AdapterProcess(self.spec, len(self._all) + 1)
            self._all.append(process)
            return process

    def release(self, process: AdapterProcess) -> None:
        """Returns an adapter for reuse (a dead one is dropped)."""
        with self._lock:
            if process.alive:
                self._idle.append(process)

    def close(self) -> None:
        """Shuts every adapter down."""
        with self._lock:
            processes, self._all, self._idle = self._all, [], []
        for process in processes:
            process.shutdown()

    @property
    def logs(self) -> list[Path]:
        """The stderr logs of every adapter started so far."""
        return [p.log_path for p in self._all]


class PoolSet:
    """The adapter pools of a run by language, each created on first use: a column's own
    pool, and the pools that clients of other languages (`language:` in a case) run on."""

    def __init__(self, specs: Mapping[str, AdapterSpec]) -> None:
        self.specs = dict(specs)
        self._pools: dict[str, AdapterPool] = {}
        self._lock = threading.Lock()

    def get(self, language: str) -> AdapterPool:
        """The pool of a language of adapters.yaml."""
        with self._lock:
            if language not in self._pools:
                if language not in self.specs:
                    raise LookupError(f"no adapter for language {language!r} in this run")
                self._pools[language] = AdapterPool(self.specs[language])
            return self._pools[language]

    def close(self) -> None:
        """Shuts every pool down."""
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()
