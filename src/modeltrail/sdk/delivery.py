"""How the client's writes reach the store: kept, sent in batches, or spooled.

Inside a run, writes are kept (``sdk/buffer.py``) and sent together in one batch request when a
step starts and when it ends (``buffer="step"``, the default), only when the run ends
(``buffer="run"``), or one request each (``buffer="off"``); always before a read that may need
them, and every ``buffer_size`` writes. Every request goes through ``Trail.send``: when the
server cannot be reached (or its database is away, 503), it is appended to the spool and sent
later, in order, on the next call after ``recheck_after`` seconds, at the end of a run, or by
``modeltrail sync``. Every create carries an id the client chose, so a replay never duplicates
anything. Pass ``on_unreachable="raise"`` (or set ``MODELTRAIL_ON_UNREACHABLE=raise``) to fail
instead.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import orjson

from modeltrail.domain import text
from modeltrail.errors import Conflict, ModeltrailError, ServerUnreachable, Unavailable
from modeltrail.sdk.artifacts import Artifact
from modeltrail.sdk.buffer import PLURAL, Write, WriteBuffer, operations
from modeltrail.sdk.connection import Connection, parsed
from modeltrail.sdk.recording import failure_annotations
from modeltrail.sdk.series import MetricBuffer
from modeltrail.sdk.spool import DrainResult, Entry, Outcome, Spool
from modeltrail.sdk.tracking import current_run

log = logging.getLogger("modeltrail.sdk")
API = "/api/v1"
OFFLINE_ERRORS = (ServerUnreachable, Unavailable)
BUFFERING = ("step", "run", "off")


class Delivery:
    """Sends requests to one store: writes kept for a batch, sent now, or spooled while the
    server is away; reads after the kept writes (the options: ``connect``)."""

    def __init__(
        self,
        target: str | None = None,
        *,
        on_unreachable: str | None = None,
        spool: str | os.PathLike[str] | None = None,
        recheck_after: float = 10.0,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.2,
        token: str | None = None,
        buffer: str | None = None,
        buffer_size: int = 1000,
        metrics_buffer: int = 50_000,
        metrics_seconds: float = 10.0,
        metrics_queue: int = 4,
    ) -> None:
        self.on_unreachable = on_unreachable or os.environ.get("MODELTRAIL_ON_UNREACHABLE", "spool")
        if self.on_unreachable not in {"spool", "raise"}:
            raise ValueError("on_unreachable must be 'spool' or 'raise'")
        self.buffering = buffer or os.environ.get("MODELTRAIL_BUFFER", "step")
        if self.buffering not in BUFFERING:
            raise ValueError("buffer must be 'step', 'run' or 'off'")
        if buffer_size < 1:
            raise ValueError("buffer_size must be at least 1")
        self.buffer_size = buffer_size
        self.pending = WriteBuffer()
        # Metric points, kept apart from the entity writes: many more, and sent in bulk by a
        # thread of their own, at most ``metrics_queue`` batches of ``metrics_buffer`` waiting.
        self.metrics = MetricBuffer(
            self.send_metrics,
            prepare=self.send_pending,
            max_points=metrics_buffer,
            max_seconds=metrics_seconds,
            max_batches=metrics_queue,
        )
        # Held while kept writes are taken and sent: a second thread's batch must not reach the
        # server before the batch it refers to (a step created in one, linked in the next).
        self._sending = threading.RLock()
        self.conn = Connection(
            target, timeout=timeout, retries=retries, backoff=backoff, token=token
        )
        self.target = self.conn.target
        self.spool = Spool(spool)
        self.recheck_after = recheck_after
        self._offline_until = 0.0
        # The annotations of each entity as this client last wrote them: an update replaces
        # them whole (``annotate``, and a step's end after a refused batch).
        self._annotations: dict[tuple[str, str], dict[str, str]] = {}

    # ------------------------------------------------------------------ transport

    @property
    def offline(self) -> bool:
        """True while the server is known to be away (writes go straight to the spool)."""
        return time.monotonic() < self._offline_until

    def _went_offline(self, exc: Exception) -> None:
        if not self.offline:
            log.warning(
                "modeltrail: %s; keeping metadata in %s until it is back", exc, self.spool.path
            )
        self._offline_until = time.monotonic() + self.recheck_after

    def write(
        self, write: Write, *, same_as: tuple[str, ...] = (), artifact: Artifact | None = None
    ) -> Any:
        """Make a write: inside a run it is kept for the next batch (unless buffering is off)
        and None is answered; else it is sent now and the server's answer is returned.
        ``same_as`` and ``artifact`` note a created artifact for ``store(reuse_equal=True)``."""
        if self.buffering == "off" or current_run() is None:
            answer = None
            for method, path, body in write.requests():
                answer = self.send(method, path, body)
            return answer
        self.pending.add(write, same_as=same_as, artifact=artifact)
        if len(self.pending) >= self.buffer_size:
            self.send_pending()
        return None

    def send_pending(self) -> None:
        """Send the kept writes now, in one batch request (one transaction).

        A batch the server refuses stored nothing; its writes are then sent one at a time, so
        that a bad write costs only itself, and the first refusal is raised."""
        with self._sending:
            writes = self.pending.take()
            if not writes:
                return
            try:
                self._deliver("POST", f"{API}/batch", {"operations": operations(writes)})
            except OFFLINE_ERRORS:  # on_unreachable="raise": keep them for the next try
                self.pending.put_back(writes)
                raise
            except ModeltrailError as refused:
                log.warning(
                    "modeltrail: a batch of %d writes was refused (%s); sending them one at a time",
                    len(writes),
                    refused.detail,
                )
                self._send_one_at_a_time(writes, refused)

    def _send_one_at_a_time(self, writes: list[Write], refused: ModeltrailError) -> None:
        first: ModeltrailError | None = None
        for write in writes:
            if first is not None:
                write = self._failed_end(write, first)
            for method, path, body in write.requests():
                try:
                    self._deliver(method, path, body)
                except OFFLINE_ERRORS:
                    raise
                except ModeltrailError as exc:
                    # Said later, away from the call that made the write: say which.
                    fields = "; ".join(
                        f"{e.get('pointer', '')}: {e.get('detail', '')}" for e in exc.errors[:3]
                    )
                    exc.detail = f"{method} {path}: {exc.detail}" + (
                        f" ({fields})" if fields else ""
                    )
                    exc.args = (exc.detail,)
                    log.error("modeltrail: %s", exc.detail)
                    first = first or exc
        if first is not None:
            raise first from refused

    def _failed_end(self, write: Write, refused: ModeltrailError) -> Write:
        """``write`` as it must be after an earlier write of its batch was refused: a run or step
        that ends SUCCESS failed, with the refusal as its error (SUCCESS would be final)."""
        if write.op != "update" or write.body.get("status") != "SUCCESS":
            return write
        notes = self._annotations.setdefault((PLURAL[write.entity], write.id), {})
        notes.update(failure_annotations(refused))
        body = {**write.body, "status": "FAILED", "annotations": dict(notes)}
        return Write(write.op, write.entity, write.id, body)

    def send(self, method: str, path: str, body: Any = None) -> Any:
        """Send a write now, after the kept ones. Returns the server's answer, or None if the
        write was spooled."""
        with self._sending:
            self.send_pending()
            return self._deliver(method, path, body)

    def send_metrics(self, run_id: str, body: dict[str, Any]) -> Any:
        """Append metric points (``MetricBuffer``, from its sender's thread). The writes that
        make their run and steps were sent before the points were handed over. The points'
        keys were checked as they were logged and the rest is numbers and ids: the body is
        encoded once, without a walk through its text."""
        return self._deliver("POST", f"{API}/runs/{run_id}/metrics", body, checked=True)

    def _deliver(self, method: str, path: str, body: Any, *, checked: bool = False) -> Any:
        if not checked:
            text.check_text(body, what=f"{method} {path}")  # before it is spooled, too
        # The entry's id is the batch's Idempotency-Key: the connection's retries and a later
        # replay from the spool send the same key, so a batch stored once is not refused after.
        entry = Entry.new(self.target, method, path, body)
        if self.on_unreachable == "spool" and (self.offline or not self._flush_spool()):
            self.spool.append(entry)
            return None
        try:
            if checked:
                response = self.conn.request(
                    method, path, content=orjson.dumps(body), headers=_key_of(entry)
                )
            else:
                response = self.conn.request(method, path, json=body, headers=_key_of(entry))
        except OFFLINE_ERRORS as exc:
            if self.on_unreachable == "raise":
                raise
            self._went_offline(exc)
            self.spool.append(entry)
            return None
        return parsed(response)

    def get(self, path: str, *, read_own_writes: bool = True, **params: Any) -> Any:
        """Read, after sending the kept writes (unless ``read_own_writes`` is False: the answer
        cannot depend on them). Returns None when the server is away (unless configured to
        raise)."""
        if read_own_writes:
            self.send_pending()
        if self.on_unreachable == "raise":
            return self.conn.get(path, **params)
        if self.offline or not self._flush_spool():
            return None
        try:
            return self.conn.get(path, **params)
        except OFFLINE_ERRORS as exc:
            self._went_offline(exc)
            return None

    def flush(self, *, force: bool = False) -> bool:
        """Send the kept writes and metric points, then what the spool holds for this store;
        True when nothing is left in the spool. Raises the error of metric points that could
        not be sent (see ``MetricBuffer.flush``)."""
        self.metrics.flush()
        self.send_pending()
        return self._flush_spool(force=force)

    def _flush_spool(self, *, force: bool = False) -> bool:
        if not self.spool.has_pending(self.target):
            return True
        if self.offline and not force:
            return False
        result = self.sync()
        return result.remaining == 0

    def sync(self) -> DrainResult:
        """Send the spooled writes for this store now, in order (``modeltrail sync``)."""

        def deliver(entry: Entry) -> str:
            try:
                self.conn.request(
                    entry.method, entry.path, json=entry.body, headers=_key_of(entry), retry=False
                )
            except OFFLINE_ERRORS as exc:
                self._went_offline(exc)
                return Outcome.STOPPED
            except Conflict:
                if entry.method == "POST" and not entry.path.endswith("/batch"):
                    # The entity is there already: sent before, and the answer was lost. (A
                    # batch sent twice is answered as a retry by its Idempotency-Key; its
                    # conflict is a real one.)
                    return Outcome.SENT
                log.error("modeltrail: spooled %s %s refused: conflict", entry.method, entry.path)
                return Outcome.REJECTED
            except ModeltrailError as exc:
                log.error(
                    "modeltrail: spooled %s %s refused: %s", entry.method, entry.path, exc.detail
                )
                return Outcome.REJECTED
            return Outcome.SENT

        result = self.spool.drain(self.target, deliver)
        if result.remaining == 0:
            self._offline_until = 0.0
        if result.sent:
            log.info("modeltrail: sent %d spooled write(s) to %s", result.sent, self.target)
        return result

    def close(self) -> None:
        """Send the kept metric points and writes, and close the connection. Raises the
        error of metric points that could not be sent, after the writes were sent."""
        try:
            try:
                self.metrics.close()
            finally:
                self.send_pending()
        finally:
            self.conn.close()


def _key_of(entry: Entry) -> dict[str, str] | None:
    """The Idempotency-Key header of a batch or of metric points (the server keeps no answers
    of other writes: their client-chosen ids make them idempotent)."""
    return {"Idempotency-Key": entry.id} if entry.path.endswith(("/batch", "/metrics")) else None
