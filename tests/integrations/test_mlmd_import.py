"""``modeltrail import mlmd``: a store written by the real ``ml-metadata`` package (see
``tests/fixtures/mlmd/make_store.py``) imported on SQLite and on PostgreSQL, then read with
modeltrail's own lineage, trace and ``why``; imported again, it adds nothing."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli
from modeltrail.integrations.mlmd.importer import Summary, import_mlmd
from modeltrail.sdk.connection import Connection

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mlmd"
STORE = FIXTURES / "pipeline.db"
GROWN = FIXTURES / "pipeline-grown.db"


@pytest.fixture
def conn(empty_database_url: str) -> Iterator[Connection]:
    with Connection(empty_database_url) as c:
        yield c


def imported(conn: Connection, store: Path = STORE) -> Summary:
    return import_mlmd(conn, f"sqlite:///{store}")


def one(conn: Connection, plural: str, *filters: str) -> dict[str, Any]:
    items = conn.get(f"/api/v1/{plural}", filter=list(filters), limit=10)["items"]
    assert len(items) == 1, items
    return items[0]  # type: ignore[no-any-return]


def models(conn: Connection) -> list[dict[str, Any]]:
    page = conn.get("/api/v1/artifacts", filter=["kind:eq:mlmd.Model"], sort="createTime")
    return page["items"]  # type: ignore[no-any-return]


def test_pipeline_runs_become_runs_of_the_pipelines_experiment(conn: Connection) -> None:
    summary = imported(conn)
    assert summary.created == {
        "experiments": 1,
        "executables": 6,
        "pipelines": 1,
        "runs": 2,
        "artifacts": 18,
        "executions": 12,
    }
    assert summary.found["events"] == 34 and summary.ignored_events == 0
    experiment = one(conn, "experiments", "name:eq:taxi")
    pipeline = one(conn, "pipelines", "name:eq:taxi")
    runs = conn.get("/api/v1/runs", sort="createTime")["items"]
    assert [r["name"] for r in runs] == ["taxi-2024-02-01T00-00-00", "taxi-2024-03-01T00-00-00"]
    assert {(r["experiment"], r["pipeline"], r["status"]) for r in runs} == {
        (experiment["id"], pipeline["id"], "SUCCESS")
    }
    assert len(pipeline["executables"]) == 6
    trainer = one(
        conn, "executions", "name:eq:Trainer", f"run:eq:{runs[0]['id']}"
    )  # TFX's component id, the type's last part as kind, the type as executable
    assert trainer["kind"] == "Trainer" and trainer["status"] == "SUCCESS"
    executable = conn.get(f"/api/v1/executables/{trainer['executable']}")
    assert executable["name"] == "tfx.components.trainer.component.Trainer"
    # Properties are configuration; TFX's bookkeeping is annotations, with MLMD's ids.
    assert trainer["configuration"] == {
        "module_file": "gs://ml-pipelines/taxi/modules/model.py",
        "train_args": '{"num_steps": 1000}',
    }
    notes = trainer["annotations"]
    assert notes["mlmd_id"] == "4" and notes["mlmd_state"] == "COMPLETE"
    assert notes["mlmd_pipeline_run_id"] == "taxi-2024-02-01T00-00-00"
    assert json.loads(notes["mlmd_inputs"]) == {"examples": [4], "transform_graph": [3]}
    assert len(trainer["inputArtifacts"]) == 2 and len(trainer["outputArtifacts"]) == 2
    assert len(trainer["successors"]) == 2  # the Evaluator and the Pusher read its model


def test_artifact_types_become_registered_kinds(conn: Connection) -> None:
    summary = imported(conn)
    assert "mlmd.Examples" in summary.kinds and "mlmd.Model" in summary.kinds
    kind = conn.get("/api/v1/kinds/mlmd.Examples")
    assert kind["schema"]["properties"]["span"] == {"type": "integer"}
    assert kind["schema"]["properties"]["split_names"] == {"type": "string"}
    examples = conn.get("/api/v1/artifacts", filter=["name:eq:CsvExampleGen.examples"])["items"]
    assert examples[0]["attributes"]["span"] == 0
    assert examples[0]["attributes"]["split_names"] == '["train", "eval"]'
    evaluation = conn.get("/api/v1/artifacts", filter=["kind:eq:mlmd.ModelEvaluation"])["items"]
    custom = evaluation[0]["attributes"]["customProperties"]
    # A STRUCT custom property is read back as the JSON it holds.
    assert custom["metrics"] == {
        "accuracy": 0.75,
        "slices": ["all", "trip_miles>10"],
        "calibrated": True,
    }
    assert custom["accuracy"] == 0.75
    assert models(conn)[0]["attributes"]["customProperties"]["is_warm_start"] is False
    # Filters reach the imported properties like any kind's attributes.
    found = conn.get("/api/v1/artifacts", filter=["attributes.span:eq:0"], limit=100)
    assert len(found["items"]) == 4


def test_lineage_trace_and_why_answer_on_what_was_imported(conn: Connection) -> None:
    imported(conn)
    first, second = models(conn)
    lineage = conn.get(f"/api/v1/artifacts/{second['id']}/lineage", direction="upstream")
    names = {n.get("name") for n in lineage["nodes"]}
    # The model's upstream reaches the examples, and the raw data under them.
    assert {"CsvExampleGen.examples", "Transform.transformed_examples", "Importer.result"} <= names
    raw = next(n for n in lineage["nodes"] if n.get("name") == "Importer.result")
    assert raw["uri"] == "gs://raw-data/taxi/2024-02/"

    why = conn.get(f"/api/v1/artifacts/{second['id']}/diff", against=first["id"])
    root = why["differences"][0]
    assert root["category"] == "input"
    assert "'Importer.result' of step CsvExampleGen" in root["subject"]
    assert {"field": "uri", "before": "gs://raw-data/taxi/2024-01/",
            "after": "gs://raw-data/taxi/2024-02/"} in root["changes"]  # fmt: skip
    assert root["step"]["kind"] == "CsvExampleGen"
    underived = [d for d in why["differences"] if not d["derived"]]
    assert {d["category"] for d in underived} == {"input", "configuration"}

    experiment = one(conn, "experiments", "name:eq:taxi")
    trace = conn.get(f"/api/v1/experiments/{experiment['id']}/trace")
    assert [len(r["executions"]) for r in trace["runs"]] == [6, 6]


def test_a_second_import_adds_nothing(conn: Connection) -> None:
    imported(conn)
    before = {p: conn.get(f"/api/v1/{p}", count=True)["total"] for p in ("runs", "artifacts")}
    again = imported(conn)
    assert set(again.created.values()) == {0} and set(again.updated.values()) == {0}
    assert again.kinds == [] and again.edges == 0 and again.batches == 0
    assert sum(again.skipped.values()) == 40
    after = {p: conn.get(f"/api/v1/{p}", count=True)["total"] for p in ("runs", "artifacts")}
    assert after == before


def test_after_the_store_grew_only_the_new_is_added(conn: Connection) -> None:
    imported(conn)
    grown = imported(conn, GROWN)  # the same store with a third run
    assert grown.created == {
        "experiments": 0,
        "executables": 0,
        "pipelines": 0,
        "runs": 1,
        "artifacts": 9,
        "executions": 6,
    }
    assert sum(grown.skipped.values()) == 40
    runs = conn.get("/api/v1/runs", sort="createTime")["items"]
    assert len(runs) == 3 and len({r["experiment"] for r in runs}) == 1
    assert set(imported(conn, GROWN).created.values()) == {0}


def test_a_copy_of_the_store_is_recognised(conn: Connection, tmp_path: Path) -> None:
    imported(conn)
    copy = tmp_path / "moved.db"
    shutil.copyfile(STORE, copy)
    assert set(imported(conn, copy).created.values()) == {0}


def test_the_command_imports_says_what_it_did_and_can_dry_run(tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'mt.db'}"
    dry = run_cli("import", "mlmd", "--mlmd-url", f"sqlite:///{STORE}", "--dry-run", "--json",
                  url=target)  # fmt: skip
    plan = json.loads(dry.stdout)
    assert plan["dryRun"] is True and plan["created"]["runs"] == 2
    assert not (tmp_path / "mt.db").exists()  # a dry run makes no store

    done = run_cli("import", "mlmd", "--mlmd-url", str(STORE), url=target)
    assert "imported from" in done.stdout and "2 runs, 18 artifacts, 12 executions" in done.stdout
    again = run_cli("import", "mlmd", "--mlmd-url", str(STORE), "--json", url=target)
    assert set(json.loads(again.stdout)["created"].values()) == {0}
    lineage = run_cli("lineage", "Trainer.model", url=target)
    assert "CsvExampleGen.examples" in lineage.stdout

    needs_url = run_cli("import", "mlmd", url=target, check=False)
    assert needs_url.returncode == 2 and "--mlmd-url" in needs_url.stderr


# ---------------------------------------------------------------- a store caught mid-run


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[Connection]:
    with Connection(f"sqlite:///{tmp_path / 'mt.db'}") as c:
        yield c


def changed(tmp_path: Path, sql: str) -> Path:
    path = tmp_path / "changed.db"
    shutil.copyfile(STORE, path)
    con = sqlite3.connect(path)
    with con:
        con.executescript(sql)
    con.close()
    return path


def test_an_execution_imported_while_it_ran_gets_its_outputs_and_end(
    lite: Connection, tmp_path: Path
) -> None:
    # The second run's Trainer (execution 10) still running: its outputs (artifacts 14 and 15)
    # not published yet, its Evaluator and Pusher (11, 12) not started.
    running = changed(
        tmp_path,
        "UPDATE Execution SET last_known_state = 2 WHERE id = 10;"
        "DELETE FROM Event WHERE execution_id IN (11, 12) OR artifact_id >= 14;"
        "DELETE FROM Association WHERE execution_id IN (11, 12);"
        "DELETE FROM Attribution WHERE artifact_id >= 14;"
        "DELETE FROM ExecutionProperty WHERE execution_id IN (11, 12);"
        "DELETE FROM Execution WHERE id IN (11, 12);"
        "DELETE FROM ArtifactProperty WHERE artifact_id >= 14;"
        "DELETE FROM Artifact WHERE id >= 14;",
    )
    first = imported(lite, running)
    assert first.created["executions"] == 10 and first.created["artifacts"] == 13
    trainer = one(lite, "executions", "annotations.mlmd_id:eq:10")
    assert trainer["status"] == "RUNNING" and trainer["outputArtifacts"] == []
    run = lite.get(f"/api/v1/runs/{trainer['run']}")
    assert run["status"] == "RUNNING" and run["endTime"] is None

    finished = imported(lite)
    assert finished.created["executions"] == 2 and finished.created["artifacts"] == 5
    assert finished.created["runs"] == 0
    assert finished.updated == {**{k: 0 for k in finished.updated}, "runs": 1, "executions": 1}
    # The model and the model run; the Evaluator and the Pusher after the Trainer; the
    # Evaluator after CsvExampleGen too (it reads the examples).
    assert finished.edges == 2 + 2 + 1
    trainer = lite.get(f"/api/v1/executions/{trainer['id']}")
    assert trainer["status"] == "SUCCESS" and trainer["endTime"]
    assert len(trainer["outputArtifacts"]) == 2 and len(trainer["successors"]) == 2
    assert lite.get(f"/api/v1/runs/{trainer['run']}")["status"] == "SUCCESS"
    assert set(imported(lite).created.values()) == {0}


def test_a_type_that_gained_a_property_evolves_its_kind(lite: Connection, tmp_path: Path) -> None:
    imported(lite)
    grown = changed(tmp_path, "INSERT INTO TypeProperty VALUES (11, 'row_count', 1)")
    again = imported(lite, grown)
    assert again.kinds == ["mlmd.Examples"]
    kind = lite.get("/api/v1/kinds/mlmd.Examples")
    assert kind["version"] == 2 and kind["schema"]["properties"]["row_count"] == {"type": "integer"}


def test_executions_in_no_pipeline_run_get_a_run_of_their_own(
    lite: Connection, tmp_path: Path
) -> None:
    # The first Importer kept only in its pipeline context; a step in no context at all.
    store = changed(
        tmp_path,
        "DELETE FROM Association WHERE execution_id = 1 AND context_id = 2;"
        "DELETE FROM Association WHERE execution_id = 7;",
    )
    imported(lite, store)
    importer = one(lite, "executions", "annotations.mlmd_id:eq:1")
    run = lite.get(f"/api/v1/runs/{importer['run']}")
    assert run["name"] == "executions outside any pipeline run"
    assert lite.get(f"/api/v1/experiments/{run['experiment']}")["name"] == "taxi"
    stray = one(lite, "executions", "annotations.mlmd_id:eq:7")
    elsewhere = lite.get(f"/api/v1/runs/{stray['run']}")
    assert lite.get(f"/api/v1/experiments/{elsewhere['experiment']}")["name"] == "ML Metadata"


def test_a_kubeflow_pipelines_v2_run_is_laid_out_as_kubeflow_lays_it(lite: Connection) -> None:
    summary = imported(lite, FIXTURES / "kfp.db")
    assert summary.kinds == ["mlmd.system.Dataset", "mlmd.system.Metrics", "mlmd.system.Model"]
    run = one(lite, "runs", "name:eq:run-6c1f0a3e-2f7b-4d0e-9a51-7d2c9f1b8e40")
    # The run context's parent is the pipeline context: the run is of its experiment.
    assert lite.get(f"/api/v1/experiments/{run['experiment']}")["name"] == "iris"
    assert run["configuration"] == {"pipeline_root": "minio://mlpipeline/v2/artifacts"}
    train = one(lite, "executions", "name:eq:train")  # the task's name
    assert train["kind"] == "ContainerExecution"
    assert train["configuration"] == {"image": "python:3.11", "inputs": {"n_estimators": 100.0}}
    assert train["annotations"]["mlmd_task_name"] == "train"
    model = one(lite, "artifacts", "kind:eq:mlmd.system.Model")
    assert model["name"] == "train.model"
    lineage = lite.get(f"/api/v1/artifacts/{model['id']}/lineage", direction="upstream")
    assert "load-data.dataset" in {n.get("name") for n in lineage["nodes"]}
    metrics = one(lite, "artifacts", "kind:eq:mlmd.system.Metrics")
    assert metrics["attributes"]["customProperties"]["accuracy"] == 0.93
