"""Log lines: those of one event-loop turn leave in one write, in order; none is lost."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading

from concord_server.logs import JsonFormatter, TurnBatchedHandler


class CountingStream(io.StringIO):
    """A text stream that counts its writes."""

    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def handler_on(stream: CountingStream) -> TurnBatchedHandler:
    handler = TurnBatchedHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    return handler


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("concord.test", logging.INFO, __file__, 1, message, None, None)


async def test_the_lines_of_one_loop_turn_leave_in_one_write() -> None:
    stream = CountingStream()
    handler = handler_on(stream)
    for n in range(3):
        handler.handle(record(f"line {n}"))
    assert stream.getvalue() == ""  # still this turn
    await asyncio.sleep(0)
    assert stream.getvalue() == "line 0\nline 1\nline 2\n"
    assert stream.writes == 1


def test_without_a_loop_each_line_is_written_at_once() -> None:
    stream = CountingStream()
    handler = handler_on(stream)
    handler.handle(record("first"))
    assert stream.getvalue() == "first\n"
    handler.handle(record("second"))
    assert stream.getvalue() == "first\nsecond\n"


async def test_a_line_from_another_thread_comes_after_the_pending_ones() -> None:
    stream = CountingStream()
    handler = handler_on(stream)
    handler.handle(record("on the loop"))
    thread = threading.Thread(target=handler.handle, args=(record("from a thread"),))
    thread.start()
    thread.join()  # blocks this turn: the loop's flush has not run
    assert stream.getvalue() == "on the loop\nfrom a thread\n"


def test_lines_pending_when_a_loop_stops_are_written_by_flush_or_the_next_loop() -> None:
    stream = CountingStream()
    handler = handler_on(stream)
    loop = asyncio.new_event_loop()
    loop.call_soon(handler.handle, record("a"))
    loop.call_soon(loop.stop)  # stops before the flush scheduled by "a" runs
    loop.run_forever()
    loop.close()
    assert stream.getvalue() == ""

    async def log_b() -> None:
        handler.handle(record("b"))
        await asyncio.sleep(0)

    asyncio.run(log_b())
    assert stream.getvalue() == "a\nb\n"
    handler.handle(record("c"))  # no loop now
    handler.flush()  # what logging.shutdown calls at exit
    assert stream.getvalue() == "a\nb\nc\n"


def test_a_json_line_carries_the_extras_and_falls_back_to_text_for_other_values() -> None:
    line = record("GET /v1/locks/{name} 200")
    line.request_id = "req_1"
    line.status = 200
    line.subject = object()  # not JSON: written as its text
    entry = json.loads(JsonFormatter().format(line))
    assert entry["message"] == "GET /v1/locks/{name} 200"
    assert (entry["request_id"], entry["status"], entry["level"]) == ("req_1", 200, "INFO")
    assert entry["subject"].startswith("<object object")
    assert "route" not in entry
