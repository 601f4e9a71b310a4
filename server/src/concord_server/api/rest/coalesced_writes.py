"""A transport that joins the writes of one event-loop turn into one: uvicorn writes a response's
head and its body separately, which on a keep-alive connection is two `send` system calls and
often two TCP segments per response; joined, a response leaves in one."""

from __future__ import annotations

import asyncio
from typing import Any


class CoalescedWrites:
    """Wraps a transport: writes are buffered until the loop's next turn, then sent at once.
    Everything else (reading, flow control, extra info) is the wrapped transport's; closing
    sends what is buffered first, and aborting drops it as the wrapped transport would."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Buffers `data`; the first write of a turn schedules the flush."""
        if not data:
            return
        if not self._pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        """Buffers each chunk in order."""
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Sends what is buffered, in one write."""
        pending, self._pending = self._pending, []
        if pending:
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def get_write_buffer_size(self) -> int:
        """What the wrapped transport holds plus what waits here."""
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def close(self) -> None:
        """Sends what is buffered, then closes."""
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        """Sends what is buffered, then half-closes."""
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        """Closes at once, dropping what is buffered."""
        self._pending = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
