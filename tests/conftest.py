"""Fixtures by topic. Every store and API test runs on SQLite and on a real PostgreSQL.

PostgreSQL is reached at ``MODELTRAIL_TEST_POSTGRES`` (default: the local server on
127.0.0.1:5432, user postgres); each test process gets a database of its own, emptied between
tests, so parallel runs never share state. Where PostgreSQL does not answer, its tests are
skipped with the reason, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from modeltrail.server.app import create_app
from modeltrail.server.auth import AuthSettings
from modeltrail.services.kinds import register_builtin_kinds
from modeltrail.services.metadata import Metadata
from modeltrail.store.tables import Base

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
# MLflow's client (3.x) sends usage telemetry from a thread that sets and unsets an environment
# variable while requests copy the environment, a race that fails a request with a KeyError on
# its name; the tests' MLflow clients and the servers they start inherit this.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
POSTGRES_ADMIN = os.environ.get(
    "MODELTRAIL_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def fresh_postgres_database(purpose: str = "test") -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database of its own, dropped afterwards."""
    name = f"modeltrail_{purpose}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(
            f"PostgreSQL does not answer at {POSTGRES_ADMIN} ({exc.orig}); "
            "set MODELTRAIL_TEST_POSTGRES to one that does"
        )
    try:
        yield POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test process, dropped at the end."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of the test's own with nothing in it, not even a schema, on each database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_metadata(postgres_url: str) -> Iterator[Metadata]:
    meta = Metadata.open(postgres_url)
    yield meta
    meta.close()


def _empty(meta: Metadata) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with meta.db.engine.begin() as conn:
        if meta.db.dialect == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f"DELETE FROM {t}"))
    meta.call(register_builtin_kinds)


@pytest.fixture(params=["sqlite", "postgresql"])
def metadata(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Metadata]:
    """The store under test, on each database in turn, empty but for the built-in kinds."""
    if request.param == "sqlite":
        meta = Metadata.open(f"sqlite:///{tmp_path / 'store.db'}")
        yield meta
        meta.close()
    else:
        meta = request.getfixturevalue("postgres_metadata")
        _empty(meta)
        meta.strict_kinds = False
        # The file store is made on first use from the environment of the test that used it
        # first (MODELTRAIL_ARTIFACTS_ROOT): each test makes its own, as an SQLite store does.
        meta._files[0] = None
        yield meta


@pytest.fixture
def client(metadata: Metadata) -> Iterator[TestClient]:
    """The real application in-process, on the store under test."""
    with TestClient(create_app(metadata), base_url="http://testserver") as c:
        yield c


# The admin token of ``secured``'s application.
ADMIN = "admin-" + uuid.uuid4().hex


@pytest.fixture
def secured(metadata: Metadata) -> Iterator[TestClient]:
    """The application with access control on, ``ADMIN`` its admin token."""
    app = create_app(metadata, auth_settings=AuthSettings(enabled=True, admin_token=ADMIN))
    with TestClient(app, base_url="http://testserver") as c:
        yield c


def role_headers(c: TestClient, role: str) -> dict[str, str]:
    """The headers of a new token with ``role`` everywhere, made by ``secured``'s admin."""
    made = c.post(
        "/api/v1/tokens",
        json={"name": role, "role": role},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


def statements_of(client: TestClient, path: str, **params: object) -> tuple[Any, int]:
    """The answer of GET ``path`` (200 expected) and how many SQL statements it took."""
    db = client.app.state.metadata.db  # type: ignore[attr-defined]
    # Lists read on the read engine (SQLite's own read-only one, PostgreSQL's the same).
    engines = {id(e): e for e in (db.engine, db.read_engine)}.values()
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(path, params=params)  # type: ignore[arg-type]
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.text
    assert seen, "no statement was seen: the count listens on the wrong engine"
    return response.json(), len(seen)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


class ServerProcess:
    """A real ``modeltrail server`` process on a free loopback port."""

    def __init__(
        self,
        database_url: str,
        *args: str,
        cwd: Path,
        port: int | None = None,
        launcher: tuple[str, ...] = ("-m", "modeltrail"),
    ) -> None:
        """``launcher``: how Python starts the CLI (``-c CODE`` to set something up first)."""
        # A restart passes the port of the server it replaces, so that its clients find it.
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = cwd / f"server-{self.port}-{time.monotonic_ns()}.log"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                *launcher,
                "server",
                "--port",
                str(self.port),
                "--database-url",
                database_url,
                "--log-level",
                "warning",
                *args,
            ],
            cwd=cwd,
            env=cli_env(),
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 90) -> None:
        """Wait for /readyz. A server that fails exits and is reported at once; the wait is long
        only because a loaded machine (parallel workers, browsers) can take tens of seconds to
        import and start one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not become ready: {self.log.read_text()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A real server process on a fresh SQLite file."""
    proc = ServerProcess(f"sqlite:///{tmp_path / 'server.db'}", cwd=tmp_path)
    yield proc
    proc.stop()


def run_cli(
    *args: str, cwd: Path | None = None, url: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the ``modeltrail`` command as a user would, in a subprocess."""
    env = cli_env(COLUMNS="200", NO_COLOR="1", **({"MODELTRAIL_URL": url} if url else {}))
    result = subprocess.run(
        [sys.executable, "-m", "modeltrail", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"modeltrail {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        )
    return result


# ---------------------------------------------------------------- object storage


class S3Server:
    """moto's standalone S3-compatible server in a process of its own: the file store talks
    to it over HTTP with boto3, as it would to S3 (nothing of ours is mocked)."""

    access = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }

    def __init__(self, cwd: Path) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = cwd / "moto.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto exited: {self.log.read_text()}")
            try:
                httpx.get(self.endpoint + "/moto-api/", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("moto did not start")

    @property
    def env(self) -> dict[str, str]:
        """What a process needs to use this server as its S3."""
        return {**self.access, "AWS_ENDPOINT_URL_S3": self.endpoint}

    def client(self) -> object:
        import boto3

        return boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        ).client("s3", endpoint_url=self.endpoint)

    def bucket(self) -> str:
        name = f"mt-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)  # type: ignore[attr-defined]
        return name

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = S3Server(tmp_path_factory.mktemp("s3"))
    yield server
    server.stop()


@pytest.fixture(params=["local", "s3"])
def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    """A file store of the test's own: a local directory, then a bucket of a real
    S3-compatible server."""
    from modeltrail.store.files import LocalBlobStore
    from modeltrail.store.files.s3 import S3BlobStore

    if request.param == "local":
        return LocalBlobStore(tmp_path / "artifacts")
    server: S3Server = request.getfixturevalue("s3_server")
    return S3BlobStore(server.bucket(), "store", client=server.client())


@pytest.fixture
def file_metadata(metadata: Metadata, blob_store: object) -> Iterator[Metadata]:
    """The store under test (each database) with its files in ``blob_store`` (each kind)."""
    from modeltrail.services.files import FileService

    before = metadata._files[0]
    metadata._files[0] = FileService(blob_store)  # type: ignore[arg-type]
    yield metadata
    metadata._files[0] = before


@pytest.fixture
def file_client(file_metadata: Metadata) -> Iterator[TestClient]:
    with TestClient(create_app(file_metadata), base_url="http://testserver") as c:
        yield c
