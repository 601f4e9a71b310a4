"""Python's cyclic garbage collector, set for a server that allocates much and keeps little.

CPython starts a young-generation collection after 700 net allocations of container objects.
A busy server reaches that every few requests, and the objects of the requests still in flight
survive each collection, are promoted, and make the older generations' collections run more
often and longer. Reference counting frees almost everything a request makes; the collector only
has cycles to find. Starting it after YOUNG_THRESHOLD allocations instead cut the CPU time per
REST lock request by about a tenth (bench/README.md, "The cyclic garbage collector"), and leaves
at most that many objects of cyclic garbage waiting (a megabyte or two).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000


def tune() -> None:
    """Collects the young generation after YOUNG_THRESHOLD net allocations; the older
    generations keep their thresholds (relative to the young one's collections)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
