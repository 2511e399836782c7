"""Metric points kept on the client and sent in bulk: ``run.log_metrics({...}, step=epoch)``.

A training loop logs a point per key per step, thousands a second; a request each would cost
more than the training. The points are kept here, per series, as packed arrays (24 bytes a
point). When ``max_points`` are kept, or ``max_seconds`` passed since the last hand-over, they
are handed to a thread of their own (``sdk/sender.py``), which sends them as
``POST /api/v1/runs/{id}/metrics`` in the compact shape (parallel lists per key) while the loop
goes on. At most ``max_batches`` wait to be sent: past that, the call that logs waits for room,
so memory stays bounded however many points a run logs. ``flush`` (as a step or the run ends,
and before the client closes) hands over what is kept, waits until everything is sent, and
raises the error of a send that failed. Each request carries an Idempotency-Key, so that a
retry, or a replay from the spool, appends its points once.
"""

from __future__ import annotations

import atexit
import logging
import math
import operator
import os
import re
import threading
import time
import weakref
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from modeltrail.domain.series import KEY_PATTERN, MAX_KEY, MAX_POINTS, MAX_SERIES
from modeltrail.sdk.sender import Sender

# Sends one request's points of one run: ``Trail.send_metrics``, in the sender's thread.
Send = Callable[[str, dict[str, Any]], Any]

log = logging.getLogger("modeltrail.sdk")
_KEY = re.compile(KEY_PATTERN)
_INT64 = (-(2**63), 2**63 - 1)
_TEXT = {math.inf: "Infinity", -math.inf: "-Infinity"}


def _shown(value: float) -> float | str:
    if value != value:
        return "NaN"
    return _TEXT.get(value, value)


@dataclass
class _Kept:
    """The points of one series not sent yet, and its final point so far (greatest step)."""

    steps: array[int] = field(default_factory=lambda: array("q"))
    timestamps: array[int] = field(default_factory=lambda: array("q"))
    values: array[float] = field(default_factory=lambda: array("d"))
    artifact: str | None = None


@dataclass
class Batch:
    """Points handed over to be sent: (run, step, key) -> the series' points."""

    kept: dict[tuple[str, str | None, str], _Kept]
    points: int


@dataclass
class Final:
    step: int
    value: float
    artifact: str | None


class MetricBuffer:
    """Points of any number of series, sent together by ``send`` (``Trail.send_metrics``) in
    a thread of its own. ``prepare`` runs in the caller's thread before points are handed
    over (``Trail.send_pending``: the writes that make their run and steps go first)."""

    def __init__(
        self,
        send: Send,
        *,
        prepare: Callable[[], Any] | None = None,
        max_points: int = 50_000,
        max_seconds: float = 10.0,
        max_batches: int = 4,
    ):
        if not 1 <= max_points <= MAX_POINTS:
            raise ValueError(f"max_points must be 1 to {MAX_POINTS}")
        if max_batches < 1:
            raise ValueError("max_batches must be at least 1")
        self.send = send
        self.prepare = prepare
        self.max_points = max_points
        self.max_seconds = max_seconds
        self.sender: Sender[Batch] = Sender(
            self._send_batch, depth=max_batches, name="modeltrail-metrics"
        )
        self._kept: dict[tuple[str, str | None, str], _Kept] = {}
        self._size = 0
        self._last_send = time.monotonic()
        self._keys: set[str] = set()
        # (run, step) -> key -> the final point logged so far: the step's summary artifacts.
        self.finals: dict[tuple[str, str | None], dict[str, Final]] = {}
        self._lock = threading.RLock()
        _buffers.add(self)

    def _forget_in_child(self) -> None:
        # The parent sends the points it kept; a forked child that sent them too would
        # append them twice. Its lock may have been held by another of the parent's threads.
        self._lock = threading.RLock()
        self._kept, self._size = {}, 0

    def _check_key(self, key: Any) -> str:
        if key in self._keys:
            return key  # type: ignore[no-any-return]
        if not isinstance(key, str) or not _KEY.match(key):
            raise ValueError(
                f"{str(key)[:60]!r} is not a metric key: letters, digits, spaces and _ . - /, "
                f"at most {MAX_KEY} characters"
            )
        self._keys.add(key)
        return key

    def add(
        self,
        run: str,
        execution: str | None,
        values: Mapping[str, Any],
        *,
        step: int,
        timestamp: int | None = None,
        artifact: str | None = None,
    ) -> None:
        """Keep one point per key of ``values`` at ``step``. Raises ``TypeError`` for a step
        that is not an integer or a value that is not a number, ``ValueError`` for a key that
        cannot name a series: at the call that made the mistake, not at a later send."""
        if isinstance(step, bool):
            raise TypeError("step must be an integer, not a bool")
        step = operator.index(step)
        if not _INT64[0] <= step <= _INT64[1]:
            raise ValueError("step must fit in 64 bits")
        now = time.time_ns() // 1_000_000
        timestamp = now if timestamp is None else operator.index(timestamp)
        numbers = []
        for key, value in values.items():
            if isinstance(value, bool | str | bytes) or value is None:
                raise TypeError(f"the value of {key!r} must be a number, not {value!r}")
            numbers.append((self._check_key(key), float(value)))
        with self._lock:
            finals = self.finals.setdefault((run, execution), {})
            for key, number in numbers:
                kept = self._kept.get((run, execution, key))
                if kept is None:
                    kept = self._kept[(run, execution, key)] = _Kept(artifact=artifact)
                elif artifact is not None:
                    kept.artifact = artifact
                kept.steps.append(step)
                kept.timestamps.append(timestamp)
                kept.values.append(number)
                final = finals.get(key)
                if final is None or step >= final.step:
                    about = artifact if artifact is not None or final is None else final.artifact
                    finals[key] = Final(step, number, about)
            self._size += len(numbers)
            due = self._size >= self.max_points or (
                time.monotonic() - self._last_send >= self.max_seconds
            )
        if due:
            self._hand_over()

    def take_finals(self, run: str, execution: str | None) -> dict[str, Final]:
        with self._lock:
            return self.finals.pop((run, execution), {})

    def _hand_over(self) -> None:
        """Hand the kept points to the sender (waiting for room if it has none)."""
        if not self._kept:
            return
        if self.prepare is not None:
            self.prepare()  # raises in the caller's thread, and the points stay kept
        with self._lock:
            kept, self._kept = self._kept, {}
            size, self._size = self._size, 0
            self._last_send = time.monotonic()
        if kept:
            self.sender.put(Batch(kept, size))

    def flush(self) -> None:
        """Send every kept point now and wait until every point handed over is sent. Raises
        the error of a send that failed since the last flush (the points not sent are noted)."""
        self._hand_over()
        self.sender.wait()

    def close(self) -> None:
        """Flush, then stop the sender's thread."""
        self._hand_over()
        self.sender.close()

    def _send_batch(self, batch: Batch) -> None:
        """One request per run (several for more than a request may hold)."""
        by_run: dict[str, list[dict[str, Any]]] = {}
        for (run, execution, key), points in batch.kept.items():
            values: list[Any] = points.values.tolist()
            if not math.isfinite(sum(values)):
                values = [_shown(v) for v in values]
            series: dict[str, Any] = {
                "key": key,
                "steps": points.steps.tolist(),
                "values": values,
                "timestamps": points.timestamps.tolist(),
            }
            if execution is not None:
                series["execution"] = execution
            if points.artifact is not None:
                series["artifact"] = points.artifact
            by_run.setdefault(run, []).append(series)
        for run, series_list in by_run.items():
            body: list[dict[str, Any]] = []
            size = 0
            for series in series_list:
                full = size + len(series["steps"]) > MAX_POINTS or len(body) == MAX_SERIES
                if full and body:
                    self.send(run, {"series": body})
                    body, size = [], 0
                body.append(series)
                size += len(series["steps"])
            if body:
                self.send(run, {"series": body})


_buffers: weakref.WeakSet[MetricBuffer] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for buffer in list(_buffers):
        buffer._forget_in_child()


def _at_exit() -> None:
    """Send what the clients still keep when the program ends without closing them."""
    for buffer in list(_buffers):
        try:
            buffer.close()
        except Exception as exc:  # noqa: BLE001 - nobody is left to raise to
            log.error("modeltrail: metric points not sent at exit: %s", exc)


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)

__all__ = ["Batch", "Final", "MetricBuffer"]
