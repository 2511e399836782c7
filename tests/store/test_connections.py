"""Pooled PostgreSQL connections: found closed before use after a pause; reads outside a
transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from modeltrail.domain.errors import Unavailable
from modeltrail.domain.models import ExperimentCreate
from modeltrail.services.metadata import Metadata
from modeltrail.store import database
from modeltrail.store.tables import ExperimentRow

NAME = f"modeltrail-pool-{uuid.uuid4().hex[:8]}"  # the connections to end, and no others


@pytest.fixture
def store(postgres_url: str) -> Iterator[Metadata]:
    meta = Metadata.open(f"{postgres_url}?application_name={NAME}")
    yield meta
    meta.close()


def _close_pooled_connections(meta: Metadata) -> int:
    """What a server restart does to the pool's connections: end them on the server."""
    admin = create_engine(meta.db.url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            ended = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": NAME},
            )
            return len(ended.all())
    finally:
        admin.dispose()


def _create(meta: Metadata) -> uuid.UUID:
    return meta.create("experiment", ExperimentCreate(name=f"e-{uuid.uuid4().hex[:6]}"))[0].id


def test_a_connection_closed_while_idle_is_replaced_before_use(
    store: Metadata, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _create(store)
    monkeypatch.setattr(database, "PING_AFTER_IDLE", 0.0)
    assert _close_pooled_connections(store) >= 1
    # The ping finds the closed connection, and the pool gives a new one: nothing fails.
    second = _create(store)
    assert store.read("experiment", first).id == first
    assert store.read("experiment", second).id == second


def test_a_connection_closed_within_the_idle_time_fails_one_request_only(
    store: Metadata, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _create(store)
    monkeypatch.setattr(database, "PING_AFTER_IDLE", 3600.0)
    assert _close_pooled_connections(store) >= 1
    with pytest.raises(Unavailable):  # a 503: "try again shortly"
        _create(store)
    # The failure replaced the pool; the next request, and what was stored, are fine.
    assert store.read("experiment", first).id == first
    assert store.read("experiment", _create(store))


def _status_after_a_statement(session: Session) -> psycopg.pq.TransactionStatus:
    session.execute(select(ExperimentRow.id).limit(1)).all()
    return session.connection().connection.dbapi_connection.info.transaction_status  # type: ignore[union-attr]


def test_reads_hold_no_transaction_open_and_writes_do(store: Metadata) -> None:
    _create(store)
    # A read's statements each see their own snapshot (READ COMMITTED) either way; outside
    # a transaction they do without a BEGIN and a COMMIT, two round trips per request.
    assert store.query(_status_after_a_statement) == psycopg.pq.TransactionStatus.IDLE
    # A write's statements commit or roll back together.
    assert store.call(_status_after_a_statement) == psycopg.pq.TransactionStatus.INTRANS
