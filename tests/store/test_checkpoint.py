"""The SQLite log is checkpointed by a thread of its own, not by the commits."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

from modeltrail.domain.models import ExperimentCreate
from modeltrail.services.metadata import Metadata

THREAD = "modeltrail-wal-checkpoint"


def _checkpointers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD]


def _names_in_file_alone(db: Path, copy: Path) -> list[str]:
    """The experiments the database file holds without its log: what was checkpointed."""
    shutil.copyfile(db, copy)  # the log (-wal) is left behind
    with closing(sqlite3.connect(copy)) as conn:
        try:
            return [name for (name,) in conn.execute("SELECT name FROM experiments")]
        except sqlite3.OperationalError:  # not even the schema is there yet
            return []
        except sqlite3.DatabaseError:  # copied while the checkpoint was writing: look again
            return []


def test_a_commit_reaches_the_database_file_without_waiting_for_the_log_to_fill(
    tmp_path: Path,
) -> None:
    before = _checkpointers()  # of stores other tests left open
    db = tmp_path / "m.db"
    meta = Metadata.open(f"sqlite:///{db}")
    try:
        meta.create("experiment", ExperimentCreate(name="digits"))
        # One small commit is far below the commits' own threshold
        # (SQLITE_WAL_BACKSTOP_PAGES of log): only the checkpoint thread puts it into the file.
        deadline = time.monotonic() + 10
        while "digits" not in _names_in_file_alone(db, tmp_path / "copy.db"):
            assert time.monotonic() < deadline, "the commit never left the log"
            time.sleep(0.05)
        assert len(_checkpointers()) == len(before) + 1
    finally:
        meta.close()
    assert _checkpointers() == before
