"""The conformance helper ops of the Python SDK (docs/conformance.md, "Helper operations").

`helper.HoldLock` runs a block inside `client.locks.hold(...)` (the asyncio hold when the case
asks the caller to cancel, since only asyncio can cancel a running block); `helper.RunWorker`
runs `client.sagas.worker(...)` with a handler scripted by the task's input. Only the SDK's
public API is used.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import concord


class BodyError(Exception):
    """The error a block raises when the case says `end: raise`."""


def duration(value: Any) -> timedelta:
    """A contract duration (`"1.5s"`) as a timedelta."""
    text = str(value)
    if not text.endswith("s"):
        raise ValueError(f"not a duration: {value!r}")
    return timedelta(seconds=float(text[:-1]))


def _hold_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "owner": data.get("owner"),
        "ttl": duration(data["ttl"]),
        "auto_renew": bool(data.get("auto_renew", True)),
    }
    if data.get("wait_timeout"):
        settings["wait_timeout"] = duration(data["wait_timeout"])
    return settings


def _cause(error: concord.LockLostError) -> dict[str, Any] | None:
    cause = error.cause
    if isinstance(cause, concord.ConcordAPIError):
        return {"code": cause.code}
    if cause is not None:
        return {"kind": "connection"}
    return None


def _still_held(client: concord.Concord, name: str, owner: str, token: int) -> bool:
    try:
        lock = client.locks.get(name).lock
    except concord.ConcordAPIError:
        return False
    return lock is not None and lock.owner == owner and lock.fencing_token == token


def hold_lock(
    client: concord.Concord, config: Mapping[str, Any], data: Mapping[str, Any]
) -> dict[str, Any]:
    """`helper.HoldLock` with the thread-based hold."""
    if data.get("end") == "cancel":
        return asyncio.run(_hold_cancelled(config, data))
    body_seconds = int(data.get("body_ms", 0)) / 1000
    result: dict[str, Any] = {"lost_signalled": False, "exit": "ok"}
    try:
        with client.locks.hold(str(data["name"]), **_hold_settings(data)) as lock:
            result["lock"] = lock.lock.to_dict()
            if data.get("end_on_lost"):
                lock.lost.wait(body_seconds)
            else:
                time.sleep(body_seconds)
            if lock.lost.is_set():
                result["lost_signalled"] = True
                token = lock.fencing_token
                result["held_when_lost"] = _still_held(client, lock.name, lock.owner, token)
            if data.get("end") == "raise":
                raise BodyError("the block failed")
    except concord.LockLostError as error:
        result.update(exit="lock_lost", lost_cause=_cause(error))
    except BodyError:
        result["exit"] = "body_error"
    return result


async def _hold_cancelled(config: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """The asyncio hold whose block the caller cancels after `body_ms`."""
    import clients  # next to this file, like helpers itself

    result: dict[str, Any] = {"lost_signalled": False, "exit": "ok"}
    entered = asyncio.Event()
    async with clients.async_client(config) as client:

        async def block() -> None:
            async with client.locks.hold(str(data["name"]), **_hold_settings(data)) as lock:
                result["lock"] = lock.lock.to_dict()
                entered.set()
                await asyncio.sleep(3600)  # until cancelled

        task = asyncio.create_task(block())
        waiter = asyncio.create_task(entered.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if task.done():
            task.result()  # the acquire failed: raise its error
        await asyncio.sleep(int(data.get("body_ms", 0)) / 1000)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            result["exit"] = "cancelled"
        except concord.LockLostError as error:
            result.update(exit="lock_lost", lost_cause=_cause(error))
    return result


class _Tally:
    """What the scripted handler saw, and when to stop the worker."""

    def __init__(self, data: Mapping[str, Any], stop: Callable[[], None]) -> None:
        self.mu = threading.Lock()
        self.started = self.finished = self.running = self.max_concurrent = 0
        self.tasks: list[dict[str, Any]] = []
        self.stop_after_started = data.get("stop_after_started")
        self.stop_after_finished = data.get("stop_after_finished")
        self.stop = stop

    def begin(self, task: concord.Task) -> None:
        with self.mu:
            self.started += 1
            self.running += 1
            self.max_concurrent = max(self.max_concurrent, self.running)
            self.tasks.append(
                {
                    "saga_id": task.saga_id,
                    "step_name": task.step_name,
                    "phase": str(task.phase),
                    "attempt": task.attempt,
                }
            )
            if self.stop_after_started is not None and self.started >= self.stop_after_started:
                self.stop()

    def end(self) -> None:
        with self.mu:
            self.running -= 1
            self.finished += 1
            if self.stop_after_finished is not None and self.finished >= self.stop_after_finished:
                self.stop()


def _scripted(tally: _Tally) -> Callable[[concord.Task], Any]:
    """The handler of docs/conformance.md: the task input's `script` entry for its attempt."""

    def handler(task: concord.Task) -> Any:
        tally.begin(task)
        try:
            script = (task.input or {}).get("script") if isinstance(task.input, dict) else None
            entry: dict[str, Any] = {}
            if isinstance(script, list) and script:
                entry = dict(script[min(task.attempt, len(script)) - 1])
            time.sleep(int(entry.get("sleep_ms", 0)) / 1000)
            if entry.get("fail"):
                if entry.get("non_retryable"):
                    raise concord.NonRetryableTaskError(str(entry["fail"]))
                raise RuntimeError(str(entry["fail"]))
            if "output" in entry:
                return entry["output"]
            return {"step": task.step_name, "attempt": task.attempt}
        finally:
            tally.end()

    return handler


def run_worker(client: concord.Concord, data: Mapping[str, Any]) -> dict[str, Any]:
    """`helper.RunWorker` with the thread-based worker."""
    settings: dict[str, Any] = {}
    for key in ("visibility_timeout", "wait_timeout", "shutdown_grace"):
        if data.get(key):
            settings[key] = duration(data[key])
    if data.get("concurrency"):
        settings["concurrency"] = int(data["concurrency"])
    holder: list[concord.SagaWorker] = []
    tally = _Tally(data, lambda: holder[0].stop())
    worker = client.sagas.worker(list(data["task_types"]), _scripted(tally), **settings)
    holder.append(worker)
    timer = threading.Timer(int(data.get("max_ms", 30000)) / 1000, worker.stop)
    timer.daemon = True
    timer.start()
    try:
        worker.run()
    finally:
        timer.cancel()
    with tally.mu:
        return {
            "started": tally.started,
            "finished": tally.finished,
            "max_concurrent": tally.max_concurrent,
            "tasks": list(tally.tasks),
        }
