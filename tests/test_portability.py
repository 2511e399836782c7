"""Export and import: exact round trips between SQLite and PostgreSQL; PROV-JSON."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from starlette.testclient import TestClient

from conftest import run_cli
from modeltrail.domain.models import ExperimentCreate, RunCreate
from modeltrail.server.app import create_app
from modeltrail.services.metadata import Metadata
from modeltrail.store import portability

API = "/api/v1"


def fill(meta: Metadata, name: str = "digits") -> dict[str, dict]:
    with TestClient(create_app(meta)) as c:

        def post(path: str, body: dict) -> dict:
            r = c.post(f"{API}/{path}", json=body)
            assert r.status_code == 201, r.text
            return r.json()

        c.post(
            f"{API}/kinds",
            json={
                "name": "validation",
                "schema": {"type": "object", "properties": {"accuracy": {"type": "number"}}},
            },
        )
        c.post(
            f"{API}/kinds",
            json={
                "name": "validation",
                "schema": {
                    "type": "object",
                    "properties": {"accuracy": {"type": "number"}, "note": {"type": "string"}},
                },
            },
        )
        exp = post("experiments", {"name": name, "annotations": {"team": "ml"}})
        exe = post("executables", {"name": "train", "version": "3", "uri": "git://repo@abc"})
        pipe = post("pipelines", {"name": "p", "executables": [exe["id"]]})
        event = post(
            "artifacts",
            {"name": "push", "kind": "event", "createTime": "2024-01-02T03:04:05.123456Z"},
        )
        run = post(
            "runs",
            {
                "experiment": exp["id"],
                "name": "r1",
                "pipeline": pipe["id"],
                "event": event["id"],
                "configuration": {"lr": 0.001, "layers": [64, 32], "deep": {"x": None}},
            },
        )
        data = post(
            "artifacts",
            {"name": "mnist", "kind": "dataset", "uri": "s3://d", "attributes": {"rows": 70000}},
        )
        model = post("artifacts", {"name": "cnn", "kind": "model", "annotations": {"ü": "ñ"}})
        val = post(
            "artifacts",
            {"name": "v", "kind": "validation", "attributes": {"accuracy": 0.98, "note": "ok"}},
        )
        first = post(
            "executions",
            {
                "run": run["id"],
                "executable": exe["id"],
                "name": "train",
                "kind": "train",
                "status": "SUCCESS",
                "inputArtifacts": [data["id"]],
                "outputArtifacts": [model["id"]],
                "startTime": "2024-01-02T03:04:06Z",
            },
        )
        second = post(
            "executions",
            {
                "run": run["id"],
                "executable": exe["id"],
                "name": "eval",
                "kind": "eval",
                "inputArtifacts": [model["id"], data["id"]],
                "outputArtifacts": [val["id"]],
                "reusedFrom": first["id"],
            },
        )
        c.post(f"{API}/executions/{first['id']}/successors", json={"executions": [second["id"]]})
        metrics = c.post(
            f"{API}/runs/{run['id']}/metrics",
            json={
                "series": [
                    {
                        "key": "loss",
                        "execution": first["id"],
                        "artifact": model["id"],
                        "steps": [0, 1, 2],
                        "values": [0.9, "NaN", 0.2],
                    },
                    {"key": "grad norm", "steps": [0, 1], "values": [1.5, "Infinity"]},
                ]
            },
        )
        assert metrics.status_code == 200, metrics.text
        c.patch(
            f"{API}/runs/{run['id']}", json={"status": "SUCCESS", "endTime": "2024-01-02T04:00:00Z"}
        )
        other = post("experiments", {"name": name + "-other"})
        post("runs", {"experiment": other["id"], "name": "unrelated"})
    return {"experiment": exp, "run": run, "first": first, "second": second, "model": model}


def snapshot(meta: Metadata) -> dict[str, list[dict]]:
    out = {}
    with meta.session() as s:
        for table in portability.tables():
            rows = s.execute(select(table)).mappings().all()
            out[table.name] = sorted(
                (
                    json.loads(portability.dumps({"r": {str(k): v for k, v in r.items()}}))["r"]
                    for r in rows
                ),
                key=lambda r: json.dumps(r, sort_keys=True),
            )
    return out


@pytest.mark.parametrize("target_kind", ["sqlite", "postgresql"])
def test_export_import_round_trips_exactly_across_databases(
    metadata: Metadata, target_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    fill(metadata)
    file = tmp_path / "backup.ndjson"
    run_cli("export", "-o", str(file), url=metadata.db.url, cwd=tmp_path)
    lines = file.read_text().splitlines()
    assert json.loads(lines[0])["format"] == "modeltrail-ndjson"
    if target_kind == "sqlite":
        target = Metadata.open(f"sqlite:///{tmp_path / 'restored.db'}")
    else:
        if metadata.db.dialect == "postgresql":
            pytest.skip("PostgreSQL to the same PostgreSQL database is not a move")
        from conftest import _empty

        target = request.getfixturevalue("postgres_metadata")
        _empty(target)
    try:
        result = run_cli("import", str(file), url=target.db.url, cwd=tmp_path)
        assert "imported" in result.stdout
        assert snapshot(target) == snapshot(metadata)
        again = run_cli("import", str(file), url=target.db.url, cwd=tmp_path)
        assert "imported 0 rows" in again.stdout
        assert snapshot(target) == snapshot(metadata)
    finally:
        if target_kind == "sqlite":
            target.close()


def test_an_import_into_postgresql_leaves_its_tables_analysed(
    postgres_metadata: Metadata, tmp_path: Path
) -> None:
    """Queried right after a bulk import, PostgreSQL plans from statistics of the tables as
    they were before it, unless the import refreshes them."""
    from conftest import _empty

    source = Metadata.open(f"sqlite:///{tmp_path / 'source.db'}")
    try:
        fill(source)
    finally:
        source.close()
    file = tmp_path / "backup.ndjson"
    run_cli("export", "-o", str(file), url=f"sqlite:///{tmp_path / 'source.db'}", cwd=tmp_path)
    _empty(postgres_metadata)

    def analysed() -> dict[str, Any]:
        with postgres_metadata.session() as s:
            rows = s.execute(text("SELECT relname, last_analyze FROM pg_stat_user_tables"))
            return {name: at for name, at in rows}

    before = analysed()
    run_cli("import", str(file), url=postgres_metadata.db.url, cwd=tmp_path)
    after = analysed()
    fresh = {t for t, at in after.items() if at is not None and at != before.get(t)}
    assert {"experiments", "runs", "executions", "artifacts"} <= fresh, (before, after)


def test_export_of_one_experiment(metadata: Metadata, tmp_path: Path) -> None:
    ids = fill(metadata)
    records = [
        r
        for r in metadata.call(
            lambda s: list(
                portability.export_records(s, experiment=uuid.UUID(ids["experiment"]["id"]))
            )
        )
    ]
    tables = {r["table"] for r in records[1:]}
    assert {
        "experiments",
        "runs",
        "executions",
        "artifacts",
        "execution_inputs",
        "execution_outputs",
        "execution_successors",
        "kinds",
    } <= tables
    assert [r["row"]["name"] for r in records if r.get("table") == "experiments"] == ["digits"]
    assert [r["row"]["name"] for r in records if r.get("table") == "runs"] == ["r1"]
    target = Metadata.open(f"sqlite:///{tmp_path / 'one.db'}")
    stats = target.call(portability.import_records, (portability.dumps(r) for r in records[1:]))
    assert stats["executions"]["inserted"] == 2 and stats["artifacts"]["inserted"] == 4
    target.close()


def test_an_export_is_of_one_moment_and_holds_up_no_writer(metadata: Metadata) -> None:
    fill(metadata)
    with metadata.session("snapshot") as session:
        records = portability.export_records(session)
        read = [next(records), next(records)]  # the header and the first row: under way
        # A pipeline writes while the export runs. It is not held up (an export that held
        # SQLite's write lock made it wait, for as long as the export took)...
        late = metadata.create("experiment", ExperimentCreate(name="written-meanwhile"))[0]
        metadata.create("run", RunCreate(experiment=late.id, name="run-meanwhile"))
        read += list(records)
    # ... and the export is of the moment it began: neither that experiment nor its run,
    # though their tables were read after they were written.
    names = {r["row"].get("name") for r in read[1:]}
    assert {"digits", "r1"} <= names
    assert not names & {"written-meanwhile", "run-meanwhile"}


def test_prov_json(metadata: Metadata, tmp_path: Path) -> None:
    ids = fill(metadata)
    out = tmp_path / "prov.json"
    run_cli(
        "export",
        "--format",
        "prov-json",
        "-o",
        str(out),
        "--experiment",
        "digits",
        url=metadata.db.url,
        cwd=tmp_path,
    )
    doc = json.loads(out.read_text())
    first, second = f"execution:{ids['first']['id']}", f"execution:{ids['second']['id']}"
    assert doc["activity"][first]["prov:type"] == "mt:train"
    assert doc["entity"][f"artifact:{ids['model']['id']}"]["prov:type"] == "mt:model"
    assert {u["prov:entity"] for u in doc["used"].values() if u["prov:activity"] == second} == {
        f"artifact:{a}" for a in ids["second"]["inputArtifacts"]
    }
    assert [
        g["prov:activity"]
        for g in doc["wasGeneratedBy"].values()
        if g["prov:entity"] == f"artifact:{ids['model']['id']}"
    ] == [first]
    assert any(
        i["prov:informant"] == first and i["prov:informed"] == second
        for i in doc["wasInformedBy"].values()
    )
    run = f"run:{ids['run']['id']}"
    assert any(
        s.get("prov:trigger") == f"artifact:{ids['run']['event']}" and s["prov:activity"] == run
        for s in doc["wasStartedBy"].values()
    )
    # Every relation names declared nodes.
    nodes = set(doc["entity"]) | set(doc["activity"]) | set(doc.get("agent", {}))
    for relation in (
        "used",
        "wasGeneratedBy",
        "wasInformedBy",
        "wasStartedBy",
        "wasAssociatedWith",
    ):
        for rel in doc.get(relation, {}).values():
            assert all(
                v in nodes for k, v in rel.items() if k.startswith("prov:") and k != "prov:time"
            ), rel
    assert "unrelated" not in out.read_text()


def test_import_refuses_what_is_not_an_export(metadata: Metadata, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"hello": 1}\n')
    result = run_cli("import", str(bad), url=metadata.db.url, cwd=tmp_path, check=False)
    assert result.returncode == 1 and "not a modeltrail-ndjson export" in result.stderr
