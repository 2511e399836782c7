"""The cyclic garbage collector, held off while a read builds its answer.

A large answer (the impact of a dataset that a thousand runs read, the trace of a thousand
runs) is hundreds of thousands of new dicts, lists and models: none of them garbage, none in
a cycle. CPython's collector starts a pass every 700 net allocations and walks the survivors
again and again as they move to its older generations, a large share of such a query's time.
So the server holds the collector off, in its own process, while a read builds its answer; it
runs as usual again once none of them is running. (The SDK never touches the collector of the
process it runs in.)

The switch is process-wide and reads run in several threads at once, so the hold is counted:
the first read in turns it off, the last one out turns it back on. Reads that keep
overlapping cannot starve it: a read that ends while the hold has lasted more than
``LONGEST_HOLD`` seconds collects what was allocated since (all of it is in the youngest
generation, as no pass ran). A collector the application turned off stays off.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

LONGEST_HOLD = 1.0  # seconds

_lock = threading.Lock()
_holders = 0
_since = 0.0
_was_enabled = False


@contextmanager
def held() -> Iterator[None]:
    """Keep the cyclic collector from running inside the block (see the module's text)."""
    global _holders, _since, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            _since = time.monotonic()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        collect = False
        with _lock:
            _holders -= 1
            if _holders == 0:
                if _was_enabled:
                    gc.enable()
            elif _was_enabled and time.monotonic() - _since > LONGEST_HOLD:
                _since = time.monotonic()
                collect = True
        if collect:
            gc.collect(0)
