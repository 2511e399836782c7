"""The search index is the database's: filled from existing rows by the migration that makes
it, and kept by triggers whatever writes the entities (plain SQL, an import). Both databases."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import insert, select, text

from modeltrail.services.metadata import Metadata
from modeltrail.services.search import search
from modeltrail.store import database, portability
from modeltrail.store.tables import (
    ArtifactRow,
    ExperimentRow,
    RegisteredModelRow,
    RunRow,
    SearchEntryRow,
)


def _names(meta: Metadata, words: str) -> list[tuple[str, str | None]]:
    return [(h.type, h.name) for h in meta.query(search, words).items]


def test_the_migration_indexes_what_the_store_held(empty_database_url: str) -> None:
    engine = database.create_db_engine(empty_database_url)
    database.upgrade(engine, "0010")
    exp, run, art = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    stamp = {"version": "1", "revision": 1}
    with engine.begin() as conn:
        conn.execute(
            insert(ExperimentRow.__table__),
            [{"id": exp, "name": "legacy", "annotations": {"team": "archive"}, **stamp}],
        )
        conn.execute(
            insert(RunRow.__table__),
            [{"id": run, "experiment_id": exp, "name": "old-run", "status": "SUCCESS",
              "configuration": {}, "annotations": {}, **stamp}],
        )  # fmt: skip
        conn.execute(
            insert(ArtifactRow.__table__),
            [{"id": art, "name": "scans", "kind": "dataset", "kind_version": 1,
              "uri": "s3://old/scans", "description": "archived scans", "attributes": {},
              "annotations": {}, "fingerprint": "f" * 64, **stamp}],
        )  # fmt: skip
        conn.execute(
            insert(RegisteredModelRow.__table__),
            [{"id": uuid.uuid4(), "name": "reader", "description": "reads archived scans",
              "tags": {"stage": "old"}, "last_version": 0}],
        )  # fmt: skip
    database.upgrade(engine)
    engine.dispose()
    meta = Metadata.open(empty_database_url)
    try:
        assert sorted(_names(meta, "archive")) == [
            ("artifact", "scans"),
            ("experiment", "legacy"),
            ("model", "reader"),
        ]
        assert _names(meta, "old run") == [("run", "old-run")]
        assert meta.query(search, str(art)).items[0].id == art
    finally:
        meta.close()


def test_an_import_and_plain_sql_are_indexed(metadata: Metadata, tmp_path: Path) -> None:
    source = Metadata.open(f"sqlite:///{tmp_path / 'source.db'}")
    try:
        exp = uuid.uuid4()
        with source.db.session() as s:
            s.add(ExperimentRow(id=exp, name="imported", version="1", annotations={}))
            run = RunRow(id=uuid.uuid4(), experiment_id=exp, name="carried", version="1")
            run.status, run.configuration, run.annotations = "RUNNING", {}, {"k": "over"}
            s.add(run)
        with source.db.session("read") as s:
            records = list(portability.export_records(s))
    finally:
        source.close()
    metadata.call(portability.import_records, (portability.dumps(r) for r in records[1:]))
    assert _names(metadata, "carried over") == [("run", "carried")]
    with metadata.db.session() as s:
        s.execute(text("UPDATE runs SET name = 'renamed'"))
    assert _names(metadata, "renamed") == [("run", "renamed")]
    assert _names(metadata, "carried") == []
    with metadata.db.session() as s:
        s.execute(text("DELETE FROM runs"))
        assert s.scalars(select(SearchEntryRow.type)).all() == ["experiment"]
