"""Pooled PostgreSQL connections the server closed: found before use after a pause."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from modeltrail.domain.errors import Unavailable
from modeltrail.domain.models import ExperimentCreate
from modeltrail.services.metadata import Metadata
from modeltrail.store import database

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
