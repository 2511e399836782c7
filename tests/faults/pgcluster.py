"""A private PostgreSQL cluster in a temporary directory, for tests that stop the database.

The shared server on 5432 is never touched: this one has its own data directory, port and
socket directory, and is stopped and removed by the test that started it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import free_port

BIN = Path(os.environ.get("MODELTRAIL_PG_BIN", "/usr/lib/postgresql/15/bin"))


def available() -> bool:
    return (BIN / "initdb").exists() and (BIN / "pg_ctl").exists()


class PrivateCluster:
    def __init__(self) -> None:
        # Its own directory under the system temp dir: the postgres user must be able to reach
        # it, which a pytest tmp_path of root's is not.
        root = Path(tempfile.mkdtemp(prefix="modeltrail-pg-"))
        self.root = root
        self.data = root / "pgdata"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        root.mkdir(parents=True, exist_ok=True)
        # initdb refuses to run as root: run the cluster as the postgres user then.
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self._run(
            BIN / "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def _run(self, *args: object) -> None:
        subprocess.run(
            [*self.prefix, *map(str, args)], check=True, capture_output=True, timeout=120
        )

    def start(self) -> None:
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c max_connections=200"
        )
        self._run(
            BIN / "pg_ctl",
            "-D",
            self.data,
            "-l",
            self.root / "pg.log",
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        self._run(BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        deadline = time.monotonic() + 10
        while (self.data / "postmaster.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)
