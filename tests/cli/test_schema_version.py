"""The server and a database whose schema is older than the code.

The database is put at the revision before head by the real ``modeltrail db upgrade
--revision``; the real ``modeltrail server`` must then refuse a PostgreSQL database (naming
the command that fixes it) and may upgrade an SQLite file it opens.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from conftest import (
    ServerProcess,
    cli_env,
    free_port,
    fresh_postgres_database,
    run_cli,
)
from modeltrail.store.database import alembic_config, create_db_engine, current_revision

SCRIPTS = ScriptDirectory.from_config(alembic_config(create_engine("sqlite://")))
HEAD = SCRIPTS.get_current_head()
PREVIOUS = SCRIPTS.get_revision(HEAD).down_revision


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database of this test's own."""
    with fresh_postgres_database() as url:
        yield url


def revision_of(url: str) -> str | None:
    engine = create_db_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def test_there_is_an_older_revision_to_test_with() -> None:
    assert isinstance(PREVIOUS, str), "these tests need at least two migrations"


def test_server_refuses_an_older_postgresql_schema_and_names_the_fix(
    postgres_database: str, tmp_path: Path
) -> None:
    run_cli("db", "upgrade", "--database-url", postgres_database, "--revision", str(PREVIOUS))
    assert revision_of(postgres_database) == PREVIOUS

    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "modeltrail",
            "server",
            "--port",
            str(free_port()),
            "--database-url",
            postgres_database,
        ],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2
    message = " ".join(refused.stderr.split())
    assert f"the database schema is at revision {PREVIOUS}, this modeltrail needs {HEAD}" in message
    advice = re.search(r"run `modeltrail (db upgrade [^`]*)`", message)
    assert advice, message
    assert revision_of(postgres_database) == PREVIOUS  # refused means untouched

    # The command the message names, as a user would type it.
    typed = advice.group(1).replace("<database url>", postgres_database)
    fixed = run_cli(*shlex.split(typed))
    assert f"{PREVIOUS} -> {HEAD}" in fixed.stdout
    server = ServerProcess(postgres_database, cwd=tmp_path)
    try:
        assert httpx.get(f"{server.url}/api/v1/kinds/dataset").status_code == 200
    finally:
        server.stop()


def test_a_new_empty_postgresql_database_gets_its_schema_on_start(
    postgres_database: str, tmp_path: Path
) -> None:
    assert revision_of(postgres_database) is None
    server = ServerProcess(postgres_database, cwd=tmp_path)
    try:
        assert httpx.get(f"{server.url}/api/v1/kinds/dataset").status_code == 200
    finally:
        server.stop()
    assert revision_of(postgres_database) == HEAD


def test_an_older_sqlite_file_is_upgraded_on_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    run_cli("db", "upgrade", "--database-url", url, "--revision", str(PREVIOUS))
    assert revision_of(url) == PREVIOUS
    server = ServerProcess(url, cwd=tmp_path)
    server.stop()
    assert revision_of(url) == HEAD
