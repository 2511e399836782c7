"""The outbox: writes the server could not take, kept in a local file until it can.

One JSON object a line, in the order the writes were made. Every write the SDK makes carries
an id chosen by the client (or is idempotent by nature: PATCH with values, attaching edges), so
sending a line twice changes nothing; that is what makes replaying after a crash safe. A lock
file keeps two processes of one pipeline from interleaving their appends and replays.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: a single process per spool is assumed
    fcntl = None  # type: ignore[assignment]

DEFAULT_SPOOL = ".modeltrail/spool.jsonl"


def default_spool_path() -> Path:
    return Path(os.environ.get("MODELTRAIL_SPOOL") or DEFAULT_SPOOL)


@dataclass(frozen=True)
class Entry:
    """One write that is still to be sent."""

    id: str
    target: str
    method: str
    path: str
    body: Any
    time: str

    @classmethod
    def new(cls, target: str, method: str, path: str, body: Any) -> Entry:
        return cls(str(uuid.uuid4()), target, method, path, body, datetime.now(UTC).isoformat())

    def line(self) -> str:
        return json.dumps(self.__dict__, separators=(",", ":"), default=str) + "\n"


class Outcome:
    SENT = "sent"  # the server took it (or already had it)
    REJECTED = "rejected"  # the server refuses it for good: set aside, never retried
    STOPPED = "stopped"  # the server is still unreachable: keep this and everything after it


@dataclass
class DrainResult:
    sent: int = 0
    rejected: int = 0
    remaining: int = 0


class Spool:
    """A file of pending writes, appended to and drained under a lock."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_spool_path()
        self.rejected_path = self.path.with_name(self.path.stem + ".rejected.jsonl")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(lock, fcntl.LOCK_UN)

    def _lines(self) -> Iterator[str]:
        """The file's lines one at a time: a spool that grew through a long outage holds
        batches of metric points, and is never read whole."""
        try:
            with open(self.path, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        yield line if line.endswith("\n") else line + "\n"
        except FileNotFoundError:
            return

    def _read(self) -> Iterator[Entry]:
        for line in self._lines():
            entry = _entry(line)
            if entry is not None:
                yield entry

    def append(self, entry: Entry) -> None:
        with self._locked(), open(self.path, "a", encoding="utf-8") as f:
            f.write(entry.line())
            f.flush()
            os.fsync(f.fileno())

    def has_pending(self, target: str | None = None) -> bool:
        """Cheap when empty: a stat, no parsing; otherwise the lines' targets only."""
        try:
            if self.path.stat().st_size == 0:
                return False
        except FileNotFoundError:
            return False
        return target is None or any(_target(line) == target for line in self._lines())

    def pending(self, target: str | None = None) -> list[Entry]:
        return [e for e in self._read() if target is None or e.target == target]

    def drain(self, target: str, send: Callable[[Entry], str]) -> DrainResult:
        """Send this target's entries in order until one cannot be sent yet.

        Entries of other targets stay where they are, as they were written. The lines kept
        go to a new file as they are read, which replaces the spool once at the end; if the
        process dies before that, the sent entries are sent again, which is harmless.
        """
        result = DrainResult()
        kept = self.path.with_name(self.path.name + ".tmp")
        with self._locked():
            rejected: list[str] = []
            stopped = False
            with open(kept, "w", encoding="utf-8") as out:
                for line in self._lines():
                    mine = _target(line) == target
                    if stopped or not mine:
                        out.write(line)
                        result.remaining += mine
                        continue
                    entry = _entry(line)
                    if entry is None:
                        continue  # not an entry: dropped, as a read always skipped it
                    outcome = send(entry)
                    if outcome == Outcome.SENT:
                        result.sent += 1
                    elif outcome == Outcome.REJECTED:
                        rejected.append(line)
                        result.rejected += 1
                    else:
                        stopped = True
                        out.write(line)
                        result.remaining += 1
            if result.sent or result.rejected:
                os.replace(kept, self.path)
            else:
                kept.unlink()
            if rejected:
                with open(self.rejected_path, "a", encoding="utf-8") as f:
                    f.writelines(rejected)
        return result


# A line as ``Entry.line`` writes it starts with its id and target: the target is read from
# there without parsing the body (megabytes of metric points).
_HEAD = re.compile(r'\{"id":"[^"\\]*","target":("(?:[^"\\]|\\.)*")')


def _target(line: str) -> str | None:
    head = _HEAD.match(line)
    if head is not None:
        return json.loads(head.group(1))  # type: ignore[no-any-return]
    entry = _entry(line)
    return None if entry is None else entry.target


def _entry(line: str) -> Entry | None:
    try:
        return Entry(**json.loads(line))
    except (ValueError, TypeError):
        return None


__all__ = ["DEFAULT_SPOOL", "DrainResult", "Entry", "Outcome", "Spool", "default_spool_path"]
