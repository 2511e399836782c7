"""MLflow import (and model-registry push) against a real ``mlflow server`` started here."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from conftest import _empty, free_port, run_cli
from modeltrail.integrations.mlflow.importer import MlflowClient, derived_id
from modeltrail.plugins.manager import PluginManager
from modeltrail.sdk.connection import Connection
from modeltrail.server.app import create_app
from modeltrail.services.metadata import Metadata, NoHooks

pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
pytestmark = pytest.mark.slow


class MlflowServer:
    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.root = root
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        self.log = (root / "mlflow.log").open("w")
        # A session of its own: the server's workers are stopped with it, as a group.
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--backend-store-uri",
                f"sqlite:///{root / 'mlflow.db'}",
                "--default-artifact-root",
                str(root / "artifacts"),
                "--workers",
                "1",
            ],
            cwd=root,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"mlflow server exited: {(root / 'mlflow.log').read_text()[-2000:]}"
                )
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError("mlflow server did not start in 150 s")

    def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/api/2.0/mlflow/{path}", json=body, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    server = MlflowServer(tmp_path_factory.mktemp("mlflow"))
    yield server
    server.stop()


def _history(ml: MlflowServer) -> dict[str, str]:
    """Two runs of a 'digits' experiment as the MLflow client logs them (REST calls)."""
    exp = ml.call(
        "experiments/create", {"name": "digits", "tags": [{"key": "team", "value": "vision"}]}
    )
    ids = {"experiment": exp["experiment_id"]}
    t0 = 1714528800000
    for name, c, accuracy, status in (
        ("svm-1", "1.0", 0.97, "FINISHED"),
        ("svm-2", "10.0", 0.41, "FAILED"),
    ):
        run = ml.call(
            "runs/create",
            {
                "experiment_id": exp["experiment_id"],
                "run_name": name,
                "start_time": t0,
                "tags": [
                    {"key": "mlflow.source.name", "value": "train.py"},
                    {"key": "mlflow.source.git.commit", "value": "abc123"},
                ],
            },
        )
        run_id = run["run"]["info"]["run_id"]
        ids[name] = run_id
        ml.call(
            "runs/log-batch",
            {
                "run_id": run_id,
                "params": [{"key": "C", "value": c}],
                "metrics": [
                    {"key": "accuracy", "value": accuracy, "timestamp": t0 + 5000, "step": 3}
                ],
                "tags": [{"key": "owner", "value": "ada"}],
            },
        )
        ml.call(
            "runs/log-inputs",
            {
                "run_id": run_id,
                "datasets": [
                    {
                        "tags": [{"key": "mlflow.data.context", "value": "training"}],
                        "dataset": {
                            "name": "digits",
                            "digest": "69f0bcdb",
                            "source_type": "s3",
                            "source": json.dumps({"uri": "s3://data/digits.csv"}),
                            "schema": json.dumps(
                                {"mlflow_colspec": [{"name": "label", "type": "long"}]}
                            ),
                            "profile": json.dumps({"num_rows": 200}),
                        },
                    }
                ],
            },
        )
        if status == "FINISHED":
            model = ml.call(
                "logged-models",
                {
                    "experiment_id": exp["experiment_id"],
                    "name": "svm",
                    "source_run_id": run_id,
                    "model_type": "sklearn",
                    "params": [{"key": "C", "value": c}],
                },
            )
            ids["model"] = model["model"]["info"]["model_id"]
        ml.call("runs/update", {"run_id": run_id, "status": status, "end_time": t0 + 60000})
        t0 += 120000
    return ids


def test_import_history_idempotently(mlflow_server: MlflowServer, tmp_path: Path) -> None:
    ids = _history(mlflow_server)
    db = f"sqlite:///{tmp_path / 'store.db'}"
    first = json.loads(
        run_cli(
            "import",
            "mlflow",
            "--tracking-uri",
            mlflow_server.url,
            "--experiment",
            "digits",
            "--url",
            db,
            "--json",
            cwd=tmp_path,
        ).stdout
    )
    assert first == {"experiments": 1, "runs": 2, "datasets": 2, "models": 1, "metrics": 2}
    src = mlflow_server.url
    with Connection(db) as conn:
        experiment = conn.get(
            f"/api/v1/experiments/{derived_id(src, 'experiment', ids['experiment'])}"
        )
        assert experiment["name"] == "digits" and experiment["annotations"]["team"] == "vision"
        run = conn.get(f"/api/v1/runs/{derived_id(src, 'run', ids['svm-1'])}")
        assert run["status"] == "SUCCESS" and run["configuration"] == {"C": "1.0"}
        assert run["createTime"].startswith("2024-05-01T02:00:00") and run["endTime"].startswith(
            "2024-05-01T02:01:00"
        )
        assert (
            run["annotations"]["owner"] == "ada"
            and run["annotations"]["mlflow.runId"] == ids["svm-1"]
        )
        failed = conn.get(f"/api/v1/runs/{derived_id(src, 'run', ids['svm-2'])}")
        assert failed["status"] == "FAILED"
        execution = conn.get(f"/api/v1/executions/{derived_id(src, 'execution', ids['svm-1'])}")
        executable = conn.get(f"/api/v1/executables/{execution['executable']}")
        assert (executable["name"], executable["version"]) == ("train.py", "abc123")
        [dataset] = [conn.get(f"/api/v1/artifacts/{a}") for a in execution["inputArtifacts"]]
        assert (dataset["name"], dataset["version"], dataset["uri"]) == (
            "digits",
            "69f0bcdb",
            "s3://data/digits.csv",
        )
        assert dataset["attributes"]["profile"] == {"num_rows": 200}
        assert dataset["annotations"] == {"mlflow.data.context": "training"}
        # MLflow's API of this store answers the imported run with the dataset it read, and
        # finds it by the dataset's context, as a run logged through that API.
        mlflow_api = "/api/2.0/mlflow"
        got = conn.get(f"{mlflow_api}/runs/get", run_id=uuid.UUID(run["id"]).hex)["run"]
        [read] = got["inputs"]["dataset_inputs"]
        assert (read["dataset"]["name"], read["dataset"]["digest"]) == ("digits", "69f0bcdb")
        assert read["tags"] == [{"key": "mlflow.data.context", "value": "training"}]
        digits = conn.get(f"{mlflow_api}/experiments/get-by-name", experiment_name="digits")
        both = {uuid.UUID(derived_id(src, "run", ids[n])).hex for n in ("svm-1", "svm-2")}
        for clause, expected in [
            ("datasets.context = 'training'", both),
            ("datasets.name = 'digits'", both),
            ("datasets.digest = '69f0bcdb'", both),
            ("datasets.context = 'evaluation'", set()),
        ]:
            found = conn.post(
                f"{mlflow_api}/runs/search",
                {"experiment_ids": [digits["experiment"]["experiment_id"]], "filter": clause},
            )
            assert {r["info"]["run_id"] for r in found.get("runs", [])} == expected, clause
        outputs = {
            a["kind"]: a
            for a in (conn.get(f"/api/v1/artifacts/{o}") for o in execution["outputArtifacts"])
        }
        model, metric = outputs["model"], outputs["metrics"]
        assert model["id"] == derived_id(src, "model", ids["model"]) and model["name"] == "svm"
        assert model["annotations"]["mlflow.sourceRunId"] == ids["svm-1"]
        assert model["attributes"]["hyperParameters"] == {"C": "1.0"}
        assert metric["name"] == "accuracy" and metric["attributes"]["value"] == 0.97
        assert (
            metric["attributes"]["reference"] == model["id"] and metric["attributes"]["step"] == 3
        )

    mlflow_server.call("runs/set-tag", {"run_id": ids["svm-2"], "key": "note", "value": "diverged"})
    again = json.loads(
        run_cli(
            "import",
            "mlflow",
            "--tracking-uri",
            mlflow_server.url,
            "--url",
            db,
            "--json",
            cwd=tmp_path,
        ).stdout
    )
    assert again["runs"] == 2  # only 'digits' holds runs (MLflow's Default experiment is empty)
    with Connection(db) as conn:
        assert conn.get("/api/v1/runs", count=True)["total"] == 2
        assert (
            conn.get("/api/v1/artifacts", count=True)["total"] == 4
        )  # the dataset once, model, 2 metrics
        failed = conn.get(f"/api/v1/runs/{derived_id(src, 'run', ids['svm-2'])}")
        assert failed["annotations"]["note"] == "diverged"


MINUTE = 60_000


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_imported_history_keeps_mlflows_times_and_names(
    mlflow_server: MlflowServer, tmp_path: Path, request: pytest.FixtureRequest, store: str
) -> None:
    """Three runs logged minutes apart with the mlflow package; their models made in the
    reverse order (as a backfill would) but dated in MLflow's store. The import keeps every
    time, so the second model's change is told forwards; models take their registered name
    and version, or their run's name instead of MLflow's default 'model'."""
    import sqlite3

    from mlflow.tracking import MlflowClient

    ml = MlflowClient(tracking_uri=mlflow_server.url)
    experiment = f"times-{uuid.uuid4().hex[:8]}"
    exp = ml.create_experiment(experiment)
    t0 = 1714528800000
    runs = []
    for i, c in enumerate(["1.0", "0.1", "0.01"]):
        start = t0 + i * 10 * MINUTE
        run = ml.create_run(exp, start_time=start, run_name=f"svm-{i}")
        ml.log_param(run.info.run_id, "C", c)
        ml.log_metric(run.info.run_id, "accuracy", 0.9 - i / 10, timestamp=start + MINUTE)
        ml.set_terminated(run.info.run_id, end_time=start + 5 * MINUTE)
        runs.append((run.info.run_id, start, c))
    models = {}
    for run_id, _, c in reversed(runs):  # made newest first
        model = ml.create_logged_model(
            exp, name="model", source_run_id=run_id, params={"C": c}, model_type="sklearn"
        )
        models[run_id] = model.model_id
    registered = f"digits-svm-{uuid.uuid4().hex[:6]}"
    ml.create_registered_model(registered)
    for run_id, _, _ in runs[:2]:  # registered oldest first: versions 1 and 2
        ml.create_model_version(
            registered, f"models:/{models[run_id]}", run_id=run_id, model_id=models[run_id]
        )
    with sqlite3.connect(mlflow_server.root / "mlflow.db") as db:
        for run_id, start, _ in runs:
            db.execute(
                "UPDATE logged_models SET creation_timestamp_ms = ? WHERE model_id = ?",
                (start + 4 * MINUTE, models[run_id]),
            )
    if store == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        _empty(request.getfixturevalue("postgres_metadata"))
        url = request.getfixturevalue("postgres_url")
    run_cli(
        "import",
        "mlflow",
        "--tracking-uri",
        mlflow_server.url,
        "--experiment",
        experiment,
        "--url",
        url,
        cwd=tmp_path,
    )
    src = mlflow_server.url

    def at(ms: int) -> datetime:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)

    def time_of(value: str) -> datetime:
        return datetime.fromisoformat(value)

    with Connection(url) as conn:
        imported = [
            conn.get(f"/api/v1/artifacts/{derived_id(src, 'model', models[r])}") for r, _, _ in runs
        ]
        assert [(m["name"], m["version"]) for m in imported] == [
            (registered, "1"),
            (registered, "2"),
            ("svm-2", models[runs[2][0]]),
        ]
        for model, (run_id, start, _) in zip(imported, runs, strict=True):
            assert time_of(model["createTime"]) == at(start + 4 * MINUTE)
            metric = conn.get(f"/api/v1/artifacts/{derived_id(src, 'metric', run_id, 'accuracy')}")
            assert time_of(metric["createTime"]) == at(start + MINUTE)
            run = conn.get(f"/api/v1/runs/{derived_id(src, 'run', run_id)}")
            assert time_of(run["createTime"]) == at(start)
            assert time_of(run["endTime"]) == at(start + 5 * MINUTE)
        listed = conn.get(
            "/api/v1/artifacts", filter=["kind:eq:model"], sort="-createTime", limit=10
        )["items"]
        assert [m["id"] for m in listed] == [m["id"] for m in reversed(imported)]
    why = json.loads(run_cli("why", imported[1]["id"], "--json", url=url).stdout)
    assert why["against"]["id"] == imported[0]["id"]
    changes = [
        (c.get("before"), c.get("after"))
        for d in why["differences"]
        for c in d["changes"]
        if c["field"].split(".")[-1] == "C"
    ]
    assert changes and set(changes) == {("1.0", "0.1")}, why


def test_the_importer_reads_every_page_of_a_runs_registered_versions(
    mlflow_server: MlflowServer,
) -> None:
    from mlflow.tracking import MlflowClient as Client

    ml = Client(tracking_uri=mlflow_server.url)
    run = ml.create_run(ml.create_experiment(f"paged-{uuid.uuid4().hex[:8]}")).info.run_id
    name = f"paged-{uuid.uuid4().hex[:8]}"
    ml.create_registered_model(name)
    for i in range(5):
        ml.create_model_version(name, f"s3://m/{name}-{i}", run_id=run)
    source = MlflowClient(mlflow_server.url)
    try:
        paged = source.registered_versions(run, page_size=2)
    finally:
        source.close()
    assert sorted(int(v["version"]) for v in paged) == [1, 2, 3, 4, 5]


def test_registry_push_on_success(mlflow_server: MlflowServer, metadata: Metadata) -> None:
    hooks = PluginManager(
        ["mlflow-registry"],
        {
            "mlflow-registry": {
                "tracking_uri": mlflow_server.url,
                "public_url": "http://modeltrail.example",
            }
        },
    )
    metadata.hooks = hooks
    hooks.start(metadata)
    name = f"digits-svm-{uuid.uuid4().hex[:6]}"  # the registry outlives the per-test stores
    try:
        with TestClient(create_app(metadata)) as client:

            def post(plural: str, body: dict[str, Any]) -> dict[str, Any]:
                response = client.post(f"/api/v1/{plural}", json=body)
                assert response.status_code == 201, response.text
                return response.json()

            experiment = post("experiments", {"name": "digits"})
            run = post("runs", {"experiment": experiment["id"], "name": "nightly-7"})
            model = post(
                "artifacts", {"name": name, "kind": "model", "uri": "s3://models/svm-7.pkl"}
            )
            post(
                "executions",
                {
                    "run": run["id"],
                    "executable": post("executables", {"name": "train"})["id"],
                    "name": "train",
                    "kind": "train",
                    "outputArtifacts": [model["id"]],
                },
            )
            client.patch(f"/api/v1/runs/{run['id']}", json={"status": "SUCCESS"})
            client.patch(
                f"/api/v1/runs/{run['id']}", json={"annotations": {"again": "yes"}}
            )  # no new version
            deadline = time.monotonic() + 30
            versions: list[dict[str, Any]] = []
            while time.monotonic() < deadline and not versions:
                found = httpx.get(
                    f"{mlflow_server.url}/api/2.0/mlflow/model-versions/search",
                    params={"filter": f"name='{name}'"},
                ).json()
                versions = found.get("model_versions", [])
                time.sleep(0.2)
            time.sleep(1)
            status = client.get("/api/v1/plugins").json()["items"][0]
    finally:
        hooks.stop()
        metadata.hooks = NoHooks()
    [version] = httpx.get(
        f"{mlflow_server.url}/api/2.0/mlflow/model-versions/search",
        params={"filter": f"name='{name}'"},
    ).json()["model_versions"]
    assert version["source"] == "s3://models/svm-7.pkl" and version["version"] == "1"
    tags = {t["key"]: t["value"] for t in version["tags"]}
    assert tags["modeltrail.artifact"] == model["id"] and tags["modeltrail.run"] == run["id"]
    assert (
        f"http://modeltrail.example/api/v1/artifacts/{model['id']}/lineage"
        in version["description"]
    )
    assert status["status"]["pushed"] == 1 and status["errors"] == 0


def test_registry_aliases_are_mirrored(mlflow_server: MlflowServer, metadata: Metadata) -> None:
    hooks = PluginManager(
        ["mlflow-registry"], {"mlflow-registry": {"tracking_uri": mlflow_server.url}}
    )
    metadata.hooks = hooks
    hooks.start(metadata)
    name = f"digits-{uuid.uuid4().hex[:6]}"  # the registry outlives the per-test stores
    alias_url = f"{mlflow_server.url}/api/2.0/mlflow/registered-models/alias"

    def mirrored(version: str | None, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        found = None
        while time.monotonic() < deadline:
            answer = httpx.get(alias_url, params={"name": name, "alias": "production"})
            found = answer.json().get("model_version", {}).get("version")
            if found == version:
                return
            time.sleep(0.2)
        raise AssertionError(f"production is at {found} in MLflow, not {version}")

    try:
        with TestClient(create_app(metadata)) as client:
            artifacts = []
            for i in range(2):
                model = client.post(
                    "/api/v1/artifacts", json={"name": "clf", "kind": "model", "uri": f"s3://m/{i}"}
                ).json()
                artifacts.append(model["id"])
                client.post(
                    f"/api/v1/models/{name}/versions",
                    json={"artifact": model["id"]},
                    params={"createModel": "true"},
                ).raise_for_status()
            url = f"/api/v1/models/{name}/aliases/production"
            client.put(url, json={"version": 2}).raise_for_status()
            mirrored("2")
            client.put(url, json={"version": 1, "reason": "roll back"}).raise_for_status()
            mirrored("1")
            client.delete(url).raise_for_status()
            mirrored(None)
            status = client.get("/api/v1/plugins").json()["items"][0]
    finally:
        hooks.stop()
        metadata.hooks = NoHooks()
    versions = httpx.get(
        f"{mlflow_server.url}/api/2.0/mlflow/model-versions/search",
        params={"filter": f"name='{name}'"},
    ).json()["model_versions"]
    by_artifact = {
        {t["key"]: t["value"] for t in v["tags"]}["modeltrail.artifact"]: v["version"]
        for v in versions
    }
    assert by_artifact == {artifacts[0]: "1", artifacts[1]: "2"}
    assert status["errors"] == 0, status
