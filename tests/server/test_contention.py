"""Under contention: checking a token never waits for writers, and a database that cannot give
a connection in time is a 503 with ``Retry-After``, never a 500. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.testclient import TestClient

from modeltrail.server.app import create_app
from modeltrail.server.auth import AuthSettings
from modeltrail.services.metadata import Metadata
from modeltrail.store.database import Database, create_db_engine

API = "/api/v1"
ADMIN = "admin-" + uuid.uuid4().hex


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def secured_app(meta: Metadata) -> TestClient:
    app = create_app(meta, auth_settings=AuthSettings(enabled=True, admin_token=ADMIN))
    return TestClient(app, base_url="http://testserver")


class WriteLock:
    """What a long write holds: SQLite's write lock (a ``BEGIN IMMEDIATE`` left open), or on
    PostgreSQL the tables locked against every write (reads still go through)."""

    def __init__(self, meta: Metadata) -> None:
        self.meta = meta

    def __enter__(self) -> WriteLock:
        if self.meta.db.dialect == "sqlite":
            path = self.meta.db.engine.url.database
            self.sqlite = sqlite3.connect(path, isolation_level=None, timeout=0)
            self.sqlite.execute("BEGIN IMMEDIATE")
        else:
            self.pg = self.meta.db.engine.connect()
            self.pg.execute(text("LOCK TABLE api_tokens, experiments IN EXCLUSIVE MODE"))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.meta.db.dialect == "sqlite":
            self.sqlite.rollback()
            self.sqlite.close()
        else:
            self.pg.rollback()
            self.pg.close()


def test_checking_a_token_never_waits_for_a_writer(metadata: Metadata) -> None:
    with secured_app(metadata) as c:
        created = c.post(
            f"{API}/tokens", json={"name": "r", "role": "reader"}, headers=bearer(ADMIN)
        )
        reader = bearer(created.json()["token"])
        c.post(f"{API}/experiments", json={"name": "e"}, headers=bearer(ADMIN))
        answers: list[Any] = []

        def read() -> None:
            for _ in range(5):
                answers.append(c.get(f"{API}/experiments", headers=reader))
                answers.append(c.get(f"{API}/whoami", headers=reader))

        with WriteLock(metadata):
            reading = threading.Thread(target=read)
            reading.start()
            # The writer holds its lock for as long as it likes; the reader must not wait
            # for it (it used to wait on SQLite until the busy timeout, 30 s, then fail).
            reading.join(timeout=10)
            finished = not reading.is_alive()
        reading.join()
        assert finished, "a read with a token waited for the write lock"
        assert [a.status_code for a in answers] == [200] * 10, answers[-1].text
        assert answers[0].json()["items"][0]["name"] == "e"


@pytest.fixture
def tiny_pool(metadata: Metadata) -> Iterator[Metadata]:
    """The store under test behind a pool of two connections that gives up after 0.3 s."""
    engine = create_db_engine(metadata.db.url, pool_size=2, max_overflow=0, pool_timeout=0.3)
    meta = Metadata(Database(metadata.db.url, engine=engine))
    yield meta
    meta.close()


def _unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["type"].endswith("/unavailable")
    assert "QueuePool" not in response.text and "Traceback" not in response.text


def test_a_pool_that_times_out_answers_503_with_retry_after(tiny_pool: Metadata) -> None:
    with secured_app(tiny_pool) as c:
        writer = c.post(
            f"{API}/tokens", json={"name": "w", "role": "writer"}, headers=bearer(ADMIN)
        ).json()["token"]
        # Every connection of the pool busy elsewhere (on SQLite the log's checkpointer keeps
        # one of them).
        held = []
        while True:
            try:
                held.append(tiny_pool.db.engine.connect())
            except PoolTimeout:
                break
        try:
            _unavailable(c.post(f"{API}/experiments", json={"name": "e"}, headers=bearer(writer)))
            _unavailable(
                c.post(
                    f"{API}/batch",
                    json={
                        "operations": [
                            {"op": "create", "entity": "experiment", "body": {"name": "b"}}
                        ]
                    },
                    headers=bearer(writer),
                )
            )
            if tiny_pool.db.dialect == "postgresql":
                # Reads share the pool there: checking the token itself cannot get a connection.
                _unavailable(c.get(f"{API}/experiments", headers=bearer(writer)))
        finally:
            for connection in held:
                connection.close()
        # Once the connection is back, the same requests go through.
        created = c.post(f"{API}/experiments", json={"name": "e"}, headers=bearer(writer))
        assert created.status_code == 201, created.text
        assert c.get(f"{API}/experiments", headers=bearer(writer)).json()["items"]
