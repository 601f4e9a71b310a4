"""What /proc says about server processes: their children and the TCP sockets they hold."""

from __future__ import annotations

import os
from pathlib import Path

LISTENING, ESTABLISHED = "0A", "01"  # TCP states as /proc/net/tcp writes them


def children(pid: int) -> list[int]:
    """The child processes of `pid`."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def socket_inodes(pid: int) -> set[str]:
    """Inodes of the sockets process `pid` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def tcp_inodes(port: int, state: str) -> set[str]:
    """Inodes of the server-side TCP sockets on local `port` in `state`, IPv4 and IPv6 (gRPC
    listens on an IPv6 socket that takes IPv4 too)."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(fields[9])
    return inodes
