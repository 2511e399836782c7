"""The server killed (SIGKILL) while a dozen clients write: nothing acknowledged is lost.

Twelve writer processes (``http_writer.py``) send creates, edges and batches over HTTP with
ids of their own, each journaling what it sent and what was acknowledged. The server is
killed at a random moment; the database is then checked as the crash left it, the server is
restarted on the same database and port, the writers resend what was never answered, and the
database is checked again: every acknowledged write present exactly once, nothing that no
writer sent, no write (a batch included) stored in part, every reference resolving, and on
SQLite ``PRAGMA integrity_check`` ok.

``MODELTRAIL_CRASH_SECONDS`` sets how long the writers write (60 by default) and
``MODELTRAIL_CRASH_SEED`` the seed of the moment of the kill (printed when the test fails).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
import uuid
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from journals import ENTITY_TABLES, Stored, Writers, check

from conftest import ServerProcess

API = "/api/v1"
WRITERS = 12
SECONDS = float(os.environ.get("MODELTRAIL_CRASH_SECONDS", "60"))


def _integrity(url: str) -> None:
    if not url.startswith("sqlite"):
        return  # PostgreSQL: the references and counts of ``Stored`` are what is checked
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


@pytest.mark.slow
def test_sigkill_under_twelve_http_writers_loses_nothing_acknowledged(
    empty_database_url: str, tmp_path: Path
) -> None:
    seed = int(os.environ.get("MODELTRAIL_CRASH_SEED", random.randrange(1 << 32)))
    print(f"MODELTRAIL_CRASH_SEED={seed} MODELTRAIL_CRASH_SECONDS={SECONDS:g}")
    rng = random.Random(seed)
    server = ServerProcess(empty_database_url, cwd=tmp_path)
    restarted = writers = None
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            experiment = c.post(f"{API}/experiments", json={"name": "crash"}).json()["id"]
            executable = c.post(f"{API}/executables", json={"name": "step"}).json()["id"]
        setup = {uuid.UUID(experiment), uuid.UUID(executable)}
        config = {
            "mode": "crash",
            "url": server.url,
            "seed": seed,
            "duration": SECONDS,
            "experiment": experiment,
            "executable": executable,
        }
        writers = Writers(config, WRITERS, tmp_path)
        writers.started()
        time.sleep(SECONDS * rng.uniform(0.1, 0.6))
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(10)

        # The database as the crash left it (the writers wait for the server meanwhile).
        at_crash = check(writers.read(), Stored.read(empty_database_url), setup)
        _integrity(empty_database_url)
        assert at_crash["acknowledged"] >= WRITERS, at_crash

        time.sleep(rng.uniform(0, 1))
        restarted = ServerProcess(empty_database_url, cwd=tmp_path, port=server.port)
        writers.wait(timeout=SECONDS + 180)
        final = writers.read()
        stored = Stored.read(empty_database_url)
        counts = check(final, stored, setup)
        unanswered = [a for a in final.attempts if not a.acked]
        assert unanswered == [], unanswered[:5]
        # The writers went on after the restart: the crash fell in the middle of the writing.
        assert counts["attempted"] > at_crash["attempted"] + WRITERS, (at_crash, counts)
        _integrity(empty_database_url)
        # The restarted server answers from what is stored.
        with httpx.Client(base_url=restarted.url, timeout=30) as c:
            for table in ENTITY_TABLES:
                listed = c.get(f"{API}/{table}", params={"count": True, "limit": 1})
                assert listed.json()["total"] == len(stored.entities[table]), table
        print(f"at the crash: {at_crash}; at the end: {counts}")
    finally:
        if writers is not None:
            writers.kill()
        for proc in (restarted, server):
            if proc is not None and proc.proc.poll() is None:
                proc.stop()
