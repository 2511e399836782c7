"""A thread that sends what it is handed, in order, with at most ``depth`` batches waiting.

The training loop hands a batch over and goes on; the HTTP request is made here. When the
server is slower than the loop, ``put`` waits for room rather than let batches pile up: memory
stays bounded however many points a run logs, and the loop slows to the server's pace.

A batch that cannot be sent (refused, or the server away with ``on_unreachable="raise"``) is
not forgotten: its error is kept, every later batch is set aside unsent (a dead server would
otherwise cost each of them its retries), and ``wait`` raises the error in the user's thread,
noting how many points were not sent; the sender then takes batches again.

A forked child starts with an empty sender: the parent's thread is not in the child, and the
parent sends what it handed over.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

log = logging.getLogger("modeltrail.sdk")


class Sized(Protocol):
    points: int


B = TypeVar("B", bound=Sized)


class Sender(Generic[B]):
    """Sends batches with ``send``, in the order they were handed over, in a thread of its own."""

    def __init__(self, send: Callable[[B], None], *, depth: int, name: str = "modeltrail-sender"):
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self.send = send
        self.depth = depth
        self.name = name
        self._reset()
        _alive.add(self)

    def _reset(self) -> None:
        """A sender with nothing handed over and no thread (new, or in a forked child)."""
        self._cond = threading.Condition(threading.Lock())
        self._waiting: deque[B] = deque()
        self._busy = 0  # handed over and not yet sent or set aside
        self._error: BaseException | None = None
        self._lost = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def put(self, batch: B) -> None:
        """Hand ``batch`` over; wait while ``depth`` batches are waiting already."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the metric sender is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()
            while len(self._waiting) >= self.depth:
                self._cond.wait()
            self._waiting.append(batch)
            self._busy += 1
            self._cond.notify_all()

    def wait(self) -> None:
        """Return once every batch handed over is sent; raise the error of the first that
        could not be, if one could not."""
        with self._cond:
            while self._busy:
                self._cond.wait()
            error, lost = self._error, self._lost
            self._error, self._lost = None, 0
        if error is not None:
            error.add_note(f"modeltrail: {lost:,} metric point(s) were not sent")
            raise error

    def close(self) -> None:
        """Send what was handed over, stop the thread, raise as ``wait`` does."""
        try:
            self.wait()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()
                thread = self._thread
            if thread is not None and thread is not threading.current_thread():
                thread.join()
            _alive.discard(self)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._closed:
                    self._cond.wait()
                if not self._waiting:
                    return  # closed, and nothing left
                batch = self._waiting.popleft()
                self._cond.notify_all()  # room for a waiting ``put``
                skip = self._error is not None
            lost = skip
            if not skip:
                try:
                    self.send(batch)
                except Exception as exc:  # noqa: BLE001 - raised in the user's thread
                    log.error("modeltrail: %d metric point(s) not sent: %s", batch.points, exc)
                    lost = True
                    with self._cond:
                        self._error = exc
            with self._cond:
                self._busy -= 1
                if lost:
                    self._lost += batch.points
                self._cond.notify_all()


_alive: weakref.WeakSet[Sender[Any]] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # The parent's threads are not in the child, and their locks may be held by them.
    for sender in list(_alive):
        sender._reset()


os.register_at_fork(after_in_child=_after_fork_in_child)

__all__ = ["Sender"]
