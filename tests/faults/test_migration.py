"""A schema migration applied to a store filled by the previous release keeps every entity."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select
from starlette.testclient import TestClient

from conftest import run_cli
from modeltrail.server.app import create_app
from modeltrail.services.kinds import register_builtin_kinds
from modeltrail.services.metadata import Metadata
from modeltrail.store.database import Database, alembic_config, current_revision, upgrade
from modeltrail.store.tables import Base

PREVIOUS = "0001"  # the schema of the release before access control (0003 adds api_tokens)


def _fill(meta: Metadata) -> None:
    with TestClient(create_app(meta)) as c:
        exp = c.post("/api/v1/experiments", json={"name": "e", "annotations": {"a": "b"}}).json()
        exe = c.post("/api/v1/executables", json={"name": "train", "uri": "git://x"}).json()
        pipe = c.post("/api/v1/pipelines", json={"name": "p", "executables": [exe["id"]]}).json()
        event = c.post("/api/v1/artifacts", json={"name": "push", "kind": "event"}).json()
        run = c.post(
            "/api/v1/runs",
            json={
                "experiment": exp["id"],
                "name": "r",
                "pipeline": pipe["id"],
                "event": event["id"],
                "configuration": {"lr": 0.1},
            },
        ).json()
        data = c.post(
            "/api/v1/artifacts",
            json={"name": "mnist", "kind": "dataset", "attributes": {"size": 7}},
        ).json()
        model = c.post("/api/v1/artifacts", json={"name": "cnn", "kind": "model"}).json()
        first = c.post(
            "/api/v1/executions",
            json={
                "run": run["id"],
                "executable": exe["id"],
                "name": "s1",
                "kind": "train",
                "inputArtifacts": [data["id"]],
                "outputArtifacts": [model["id"]],
            },
        )
        assert first.status_code == 201, first.text
        second = c.post(
            "/api/v1/executions",
            json={
                "run": run["id"],
                "executable": exe["id"],
                "name": "s2",
                "kind": "eval",
                "inputArtifacts": [model["id"]],
            },
        ).json()
        c.post(
            f"/api/v1/executions/{first.json()['id']}/successors",
            json={"executions": [second["id"]]},
        )
        c.patch(f"/api/v1/experiments/{exp['id']}", json={"version": "2"})


def _snapshot(url: str, columns: dict[str, list[str]] | None = None) -> dict[str, list[tuple]]:
    """Every stored row, as the previous release's columns (`columns`) or as the store has them.

    Later migrations add tables that start empty and nullable columns the previous release
    never wrote; both are left out so that only what the previous release stored is compared.
    """
    engine = Database(url).engine
    out = {}
    with engine.connect() as conn:
        inspector = inspect(conn)
        names = set(inspector.get_table_names())
        for table in Base.metadata.sorted_tables:
            if table.name not in names or table.name == "api_tokens":
                continue
            stored = [c["name"] for c in inspector.get_columns(table.name)]
            wanted = columns.get(table.name, []) if columns is not None else stored
            rows = conn.execute(select(*(table.c[c] for c in wanted))).all() if wanted else []
            if rows:
                out[table.name] = sorted(tuple(map(repr, r)) for r in rows)
    engine.dispose()
    return out


def _columns(url: str) -> dict[str, list[str]]:
    engine = Database(url).engine
    inspector = inspect(engine)
    out = {t: [c["name"] for c in inspector.get_columns(t)] for t in inspector.get_table_names()}
    engine.dispose()
    return out


@pytest.mark.slow
def test_upgrade_from_the_previous_release_keeps_every_entity(
    empty_database_url: str, tmp_path: Path
) -> None:
    # Written by today's services, then taken down to the previous release's schema: the
    # store a user of that release has (the downgrade drops what later releases added).
    db = Database(empty_database_url)
    upgrade(db.engine, "heads")
    meta = Metadata(db)
    meta.call(register_builtin_kinds)
    _fill(meta)
    meta.close()
    engine = Database(empty_database_url).engine
    command.downgrade(alembic_config(engine), PREVIOUS)
    assert current_revision(engine) == PREVIOUS
    engine.dispose()
    previous = _columns(empty_database_url)
    assert "created_by_name" not in previous["runs"]
    before = _snapshot(empty_database_url)
    assert sum(len(v) for v in before.values()) > 15 and all(
        before[t] for t in ("runs", "executions")
    )

    run_cli(
        "db", "upgrade", "--database-url", empty_database_url, "--revision", "heads", cwd=tmp_path
    )
    engine = Database(empty_database_url).engine
    assert "api_tokens" in inspect(engine).get_table_names()
    assert current_revision(engine) != PREVIOUS
    engine.dispose()
    assert _snapshot(empty_database_url, previous) == before

    # Down to the previous release and up again: still nothing lost.
    engine = Database(empty_database_url).engine
    command.downgrade(alembic_config(engine), PREVIOUS)
    assert "api_tokens" not in inspect(engine).get_table_names()
    assert _snapshot(empty_database_url) == before
    upgrade(engine, "heads")
    engine.dispose()
    assert _snapshot(empty_database_url, previous) == before
    reopened = Metadata.open(empty_database_url)
    with TestClient(create_app(reopened)) as c:
        assert c.get("/api/v1/executions", params={"count": True}).json()["total"] == 2
    reopened.close()


def test_upgrade_gives_logged_models_made_outside_a_run_their_experiment(
    empty_database_url: str,
) -> None:
    """A store of the release before ``artifact_experiments``: the logged models MLflow's
    client made with an experiment and no run are of that experiment once upgraded."""
    from modeltrail.store.tables import ArtifactExperimentRow

    db = Database(empty_database_url)
    upgrade(db.engine, "heads")
    meta = Metadata(db)
    meta.call(register_builtin_kinds)
    with TestClient(create_app(meta)) as c:
        ml = "/api/2.0/mlflow"
        experiment = c.post(f"{ml}/experiments/create", json={"name": "e"}).json()
        made = c.post(
            f"{ml}/logged-models",
            json={"experiment_id": experiment["experiment_id"], "name": "m"},
        )
        assert made.status_code == 200, made.text
        c.post("/api/v1/artifacts", json={"name": "plain", "kind": "model"}).raise_for_status()
    meta.close()
    engine = Database(empty_database_url).engine
    command.downgrade(alembic_config(engine), "0012")
    upgrade(engine, "heads")
    with engine.connect() as conn:
        rows = conn.execute(
            select(ArtifactExperimentRow.artifact_id, ArtifactExperimentRow.experiment_id)
        ).all()
    engine.dispose()
    model = made.json()["model"]["info"]
    assert [(a.hex, str(e)) for a, e in rows] == [
        (model["model_id"].removeprefix("m-"), experiment["experiment_id"])
    ]
