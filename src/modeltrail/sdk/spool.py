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

    def _read(self) -> list[Entry]:
        if not self.path.exists():
            return []
        entries = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                with contextlib.suppress(ValueError, TypeError):
                    entries.append(Entry(**json.loads(line)))
        return entries

    def _write(self, entries: list[Entry]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("".join(e.line() for e in entries), encoding="utf-8")
        os.replace(tmp, self.path)

    def append(self, entry: Entry) -> None:
        with self._locked(), open(self.path, "a", encoding="utf-8") as f:
            f.write(entry.line())
            f.flush()
            os.fsync(f.fileno())

    def has_pending(self, target: str | None = None) -> bool:
        """Cheap when empty: a stat, no parsing."""
        try:
            if self.path.stat().st_size == 0:
                return False
        except FileNotFoundError:
            return False
        return target is None or any(e.target == target for e in self._read())

    def pending(self, target: str | None = None) -> list[Entry]:
        return [e for e in self._read() if target is None or e.target == target]

    def drain(self, target: str, send: Callable[[Entry], str]) -> DrainResult:
        """Send this target's entries in order until one cannot be sent yet.

        Entries of other targets stay where they are. The file is rewritten once at the end;
        if the process dies before that, the sent entries are sent again, which is harmless.
        """
        result = DrainResult()
        with self._locked():
            entries = self._read()
            keep: list[Entry] = []
            rejected: list[Entry] = []
            stopped = False
            for entry in entries:
                if stopped or entry.target != target:
                    keep.append(entry)
                    continue
                outcome = send(entry)
                if outcome == Outcome.SENT:
                    result.sent += 1
                elif outcome == Outcome.REJECTED:
                    rejected.append(entry)
                    result.rejected += 1
                else:
                    stopped = True
                    keep.append(entry)
            if result.sent or result.rejected:
                self._write(keep)
            if rejected:
                with open(self.rejected_path, "a", encoding="utf-8") as f:
                    f.writelines(e.line() for e in rejected)
            result.remaining = sum(1 for e in keep if e.target == target)
        return result


__all__ = ["DEFAULT_SPOOL", "DrainResult", "Entry", "Outcome", "Spool", "default_spool_path"]
