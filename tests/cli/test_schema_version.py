"""The server and an older database schema.

Only one migration exists yet, so "code newer than the database" is produced for real: the
command runs with a copy of the migrations plus one test-only revision after head, on a
database that the unmodified ``modeltrail db upgrade`` put at the real head.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from conftest import POSTGRES_ADMIN, ServerProcess, cli_env, free_port, run_cli
from modeltrail.store.database import MIGRATIONS, current_revision, head_revision
from modeltrail.store.database import create_db_engine as engine_for

HEAD = head_revision(create_engine("sqlite://"))

NEXT_REVISION = f'''"""test only: one revision after head"""

import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{HEAD}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("test_only_marker", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("test_only_marker")
'''

# The real command line, with the migrations it reads from swapped for the copy.
RUNNER = """
import sys
from pathlib import Path

import modeltrail.store.database as database

database.MIGRATIONS = Path(sys.argv[1])
sys.argv = ["modeltrail", *sys.argv[2:]]
from modeltrail.cli import main

main()
"""


@pytest.fixture
def newer_code(tmp_path: Path) -> list[str]:
    """The command prefix of a modeltrail whose schema head is one revision newer."""
    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "versions" / "9999_test_only.py").write_text(NEXT_REVISION)
    (tmp_path / "runner.py").write_text(RUNNER)
    return [sys.executable, str(tmp_path / "runner.py"), str(migrations)]


@pytest.fixture
def postgres_database() -> Iterator[str]:
    name = f"modeltrail_schema_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def revision_of(url: str) -> str | None:
    engine = engine_for(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def start(command: list[str], url: str, cwd: Path) -> subprocess.Popen[str]:
    port = free_port()
    proc = subprocess.Popen(
        [*command, "server", "--port", str(port), "--database-url", url, "--log-level", "warning"],
        cwd=cwd,
        env=cli_env(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    return proc


def test_server_refuses_an_older_postgresql_schema_and_names_the_fix(
    newer_code: list[str], postgres_database: str, tmp_path: Path
) -> None:
    upgraded = run_cli("db", "upgrade", "--database-url", postgres_database)
    assert f"empty -> {HEAD}" in upgraded.stdout

    refused = subprocess.run(
        [*newer_code, "server", "--port", str(free_port()), "--database-url", postgres_database],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2
    message = " ".join(refused.stderr.split())
    assert f"the database schema is at revision {HEAD}, this modeltrail needs 9999" in message
    assert "run `modeltrail db upgrade --url <database url>`" in message
    assert revision_of(postgres_database) == HEAD  # refused means untouched

    fixed = subprocess.run(
        [*newer_code, "db", "upgrade", "--database-url", postgres_database],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert fixed.returncode == 0, fixed.stderr
    assert revision_of(postgres_database) == "9999"
    server = start(newer_code, postgres_database, tmp_path)
    try:
        assert server.poll() is None, server.communicate()
    finally:
        server.terminate()
        server.wait(10)


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


def test_an_older_sqlite_file_is_upgraded_on_start(newer_code: list[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    run_cli("db", "upgrade", "--database-url", url)
    assert revision_of(url) == HEAD
    server = start(newer_code, url, tmp_path)
    try:
        assert server.poll() is None, server.communicate()
    finally:
        server.terminate()
        server.wait(10)
    assert revision_of(url) == "9999"
