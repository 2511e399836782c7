"""Timing and memory helpers shared by every driver (standard library + psutil only)."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], Any], samples: int, *, warmup: int = 2) -> dict[str, float]:
    """Median and 95th percentile of ``samples`` calls, in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "median": statistics.median(times),
        "p95": times[min(len(times) - 1, int(len(times) * 0.95))],
    }


def rate(entities: int, seconds: float, batch_times: list[float] | None = None) -> dict[str, float]:
    out = {"rate": entities / seconds, "entities": entities, "seconds": seconds}
    if batch_times:
        ms = sorted(t * 1000 for t in batch_times)
        out["median"] = statistics.median(ms)
        out["p95"] = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return out


def na(reason: str) -> dict[str, str]:
    return {"na": reason}


class PeakRss:
    """The peak resident set size of a process (and its children), sampled every 20 ms."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _rss(self) -> int:
        total = 0
        try:
            total = self.process.memory_info().rss
            for child in self.process.children(recursive=True):
                total += child.memory_info().rss
        except Exception:  # a worker may exit between listing and reading it
            pass
        return total

    def _loop(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> PeakRss:
        self.peak = self._rss()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def mib(self) -> float:
        return self.peak / 2**20
