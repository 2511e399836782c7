"""Property-based fuzzing of the served OpenAPI document with schemathesis.

Bounded (a few examples per operation) so that it fits in CI; it must find no 5xx answer and
no response that breaks the documented schema, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from conftest import POSTGRES_ADMIN, ServerProcess, cli_env

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
MAX_EXAMPLES = 8


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fuzz.db'}"
        return
    name = f"modeltrail_fuzz_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.slow
@pytest.mark.skipif(
    not (SCHEMATHESIS.exists() or shutil.which("schemathesis")),
    reason="schemathesis is not installed (pip install -e '.[test]')",
)
def test_schemathesis_finds_no_server_errors_or_schema_violations(
    database_url: str, tmp_path: Path
) -> None:
    server = ServerProcess(database_url, cwd=tmp_path)
    try:
        result = subprocess.run(
            [
                str(SCHEMATHESIS) if SCHEMATHESIS.exists() else "schemathesis",
                "run",
                f"{server.url}/openapi.json",
                "--checks",
                "not_a_server_error,response_schema_conformance,content_type_conformance",
                "--phases",
                "coverage,fuzzing,stateful",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--workers",
                "1",
                "--seed",
                "20260101",
                "--request-timeout",
                "30",
                "--no-color",
            ],
            cwd=tmp_path,
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        server.stop()
    tail = result.stdout[-6000:]
    assert result.returncode == 0, f"{tail}\n--- server log ---\n{server.log.read_text()[-4000:]}"
    assert "Tested:" in result.stdout
