"""OpenLineage out between real servers: a run recorded on server A, whose openlineage plugin
sends to server B's ``POST /api/v1/lineage``, comes back from B with the same lineage; a dead
endpoint costs A's writes nothing; the API key is sent and never logged."""

from __future__ import annotations

import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

import modeltrail as mt
from conftest import ServerProcess, free_port
from modeltrail.integrations.openlineage.events import EventBuilder, Settings
from modeltrail.store.tables import ArtifactRow

API = "/api/v1"
KEY = "ol-" + uuid.uuid4().hex


def _wait_sent(http: httpx.Client, count: int, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        [plugin] = http.get(f"{API}/plugins").json()["items"]
        status = plugin["status"]
        if status["sent"] >= count and status["queued"] == 0:
            return status
        time.sleep(0.1)
    raise AssertionError(f"{count} events were not sent: {status}")


def _dag(http: httpx.Client, run: str) -> dict[str, Any]:
    response = http.get(f"{API}/runs/{run}/dag")
    assert response.status_code == 200, response.text
    return response.json()


def _lineage(dag: dict[str, Any], identity: Any) -> set[tuple[str, str, tuple[str, ...]]]:
    """Each step's reads and writes: (the step's job, input or output, the dataset and its
    kind)."""
    nodes = {n["id"]: n for n in dag["nodes"]}
    out = set()
    for edge in dag["edges"]:
        if edge["type"] == "input":
            artifact, step = nodes[edge["source"]], nodes[edge["target"]]
        elif edge["type"] == "output":
            step, artifact = nodes[edge["source"]], nodes[edge["target"]]
        else:
            continue
        out.add((step["executable"]["name"], edge["type"], identity(artifact)))
    return out


def _named_on_a(node: dict[str, Any]) -> tuple[str, str, str]:
    row = ArtifactRow(
        name=node["name"],
        kind=node["kind"],
        uri=node.get("uri"),
        attributes=node.get("attributes") or {},
        annotations=node.get("annotations") or {},
    )
    return (*EventBuilder(Settings()).dataset_name(row), node["kind"])


def _named_on_b(node: dict[str, Any]) -> tuple[str, str, str]:
    return node["attributes"]["namespace"], node["attributes"]["name"], node["kind"]


def _record(url: str, tmp_path: Path) -> str:
    trail = mt.connect(url)
    with trail.run(experiment="handwriting", pipeline="digits", name="nightly") as run:
        with run.step("prepare", kind="preprocess") as step:
            step.input(mt.artifact("dataset", "raw", uri="s3://lake/raw/digits.csv"))
            features = step.output(mt.artifact("dataset", "features", version="2"))
        with run.step("train", kind="train") as step:
            step.input(features)
            model = step.output(mt.artifact("model", "digits-mlp", type="MLP"))
        with run.step("evaluate", kind="evaluate") as step:
            step.input(model)
            step.input(mt.artifact("dataset", "test", uri="file:///data/test.csv"))
            step.output(mt.metrics("accuracy", 0.93, of=model))
    return str(run.id)


@pytest.mark.slow
def test_a_run_comes_back_from_a_second_server_with_the_same_lineage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELTRAIL_OPENLINEAGE_API_KEY", KEY)  # B refuses events without it
    b = ServerProcess(f"sqlite:///{tmp_path / 'b.db'}", cwd=tmp_path)
    monkeypatch.setenv("MODELTRAIL_PLUGIN_OPENLINEAGE_URL", b.url)
    monkeypatch.setenv("MODELTRAIL_PLUGIN_OPENLINEAGE_API_KEY", KEY)
    a = ServerProcess(
        f"sqlite:///{tmp_path / 'a.db'}",
        "--plugin",
        "openlineage",
        "--log-level",
        "debug",
        cwd=tmp_path,
    )
    try:
        run_id = _record(a.url, tmp_path)
        with httpx.Client(base_url=a.url) as on_a, httpx.Client(base_url=b.url) as on_b:
            status = _wait_sent(on_a, 2 + 3 * 2)  # the run's START and end, each step's
            assert status["failed"] == 0 and status["dropped"] == 0
            assert KEY not in str(status)

            [run_b] = on_b.get(f"{API}/runs").json()["items"]
            assert run_b["annotations"]["openlineage.runId"] == run_id
            assert run_b["status"] == "SUCCESS"
            # The trigger the SDK recorded comes back as the run's trigger, cause and all.
            trigger_a = on_a.get(
                f"{API}/artifacts/{on_a.get(f'{API}/runs/{run_id}').json()['event']}"
            )
            trigger_b = on_b.get(f"{API}/artifacts/{run_b['event']}")
            assert trigger_b.json()["attributes"] == trigger_a.json()["attributes"]
            assert trigger_b.json()["attributes"]["cause"]
            [pipeline_b] = on_b.get(f"{API}/pipelines").json()["items"]
            assert pipeline_b["name"] == "digits" and run_b["pipeline"] == pipeline_b["id"]
            [experiment_b] = on_b.get(f"{API}/experiments").json()["items"]
            assert experiment_b["name"] == "handwriting"

            dag_a, dag_b = _dag(on_a, run_id), _dag(on_b, run_b["id"])
            lineage_a = _lineage(dag_a, _named_on_a)
            assert len(lineage_a) == 8  # the SDK's trigger, then the steps' own reads/writes
            kinds = {kind for _, _, (_, _, kind) in lineage_a}
            assert kinds == {"event", "dataset", "model", "metrics"}
            assert _lineage(dag_b, _named_on_b) == lineage_a

            def steps(dag: dict[str, Any]) -> dict[str, tuple[str, str]]:
                return {
                    n["executable"]["name"]: (n["kind"], n["status"])
                    for n in dag["nodes"]
                    if n["type"] == "execution"
                }

            # The same steps with the same kinds and statuses, and no more: the run's own
            # events are the run on B, not a step of it.
            steps_b = steps(dag_b)
            assert steps_b == steps(dag_a)
            assert len(steps_b) == 3
            # Every step's job is a job of the pipeline on B, and only those.
            executables_b = {
                e["id"]: e["name"] for e in on_b.get(f"{API}/executables").json()["items"]
            }
            assert {executables_b[x] for x in pipeline_b["executables"]} == set(steps_b)
            assert set(executables_b.values()) == set(steps_b)

            # The model registered on A and its alias set: B's model says so, and no run,
            # step or job is made on B for it (DatasetEvents).
            models = {"filter": "kind:eq:model"}
            [model_a] = on_a.get(f"{API}/artifacts", params=models).json()["items"]
            registered = on_a.post(
                f"{API}/models/digits/versions",
                params={"createModel": "true"},
                json={"artifact": model_a["id"]},
            )
            assert registered.status_code == 201, registered.text
            moved = on_a.put(f"{API}/models/digits/aliases/champion", json={"version": 1})
            assert moved.status_code == 200, moved.text
            status = _wait_sent(on_a, 2 + 3 * 2 + 2)
            assert status["failed"] == 0 and status["lastDelivery"]["eventType"] == "DATASET"
            [model_b] = on_b.get(f"{API}/artifacts", params=models).json()["items"]
            assert model_b["attributes"]["modeltrail_model"]["registeredVersions"] == [
                {"model": "digits", "version": 1, "aliases": ["champion"]}
            ]
            assert len(on_b.get(f"{API}/runs").json()["items"]) == 1
            assert _lineage(_dag(on_b, run_b["id"]), _named_on_b) == lineage_a
            assert set(executables_b.values()) == {
                e["name"] for e in on_b.get(f"{API}/executables").json()["items"]
            }

            # The alias removed and the version deleted on A: B's model is registered as
            # nothing, as on A.
            removed = on_a.delete(f"{API}/models/digits/aliases/champion")
            assert removed.status_code == 200, removed.text
            deleted = on_a.delete(f"{API}/models/digits/versions/1")
            assert deleted.status_code == 204, deleted.text
            status = _wait_sent(on_a, 2 + 3 * 2 + 4)
            assert status["failed"] == 0
            [model_b] = on_b.get(f"{API}/artifacts", params=models).json()["items"]
            assert model_b["attributes"]["modeltrail_model"]["registeredVersions"] == []
    finally:
        a.stop()
        b.stop()
    logs = a.log.read_text() + b.log.read_text()
    assert "openlineage" in a.log.read_text()  # the debug log speaks of the transport
    assert KEY not in logs


@pytest.mark.slow
def test_a_dead_endpoint_costs_the_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELTRAIL_PLUGIN_OPENLINEAGE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MODELTRAIL_PLUGIN_OPENLINEAGE_API_KEY", KEY)
    monkeypatch.setenv("MODELTRAIL_PLUGIN_OPENLINEAGE_QUEUE_SIZE", "20")
    monkeypatch.setenv("MODELTRAIL_PLUGIN_OPENLINEAGE_BACKOFF", "0.05")
    off = ServerProcess(f"sqlite:///{tmp_path / 'off.db'}", cwd=tmp_path)
    on = ServerProcess(f"sqlite:///{tmp_path / 'on.db'}", "--plugin", "openlineage", cwd=tmp_path)
    took: dict[str, list[float]] = {"off": [], "on": []}
    try:
        for label, server in (("off", off), ("on", on), ("off", off), ("on", on)):
            with httpx.Client(base_url=server.url) as http:
                experiment = http.post(f"{API}/experiments", json={"name": f"e-{uuid.uuid4()}"})
                assert experiment.status_code == 201
                for i in range(25):
                    t0 = time.perf_counter()
                    run = http.post(
                        f"{API}/runs", json={"experiment": experiment.json()["id"], "name": f"{i}"}
                    )
                    assert run.status_code == 201, run.text
                    done = http.patch(f"{API}/runs/{run.json()['id']}", json={"status": "SUCCESS"})
                    assert done.status_code == 200, done.text
                    took[label].append(time.perf_counter() - t0)
        with httpx.Client(base_url=on.url) as http:
            [plugin] = http.get(f"{API}/plugins").json()["items"]
            assert plugin["errors"] == 0
            assert plugin["status"]["dropped"] > 0 and plugin["status"]["sent"] == 0
            assert http.get(f"{API}/runs", params={"limit": 100}).json()["items"].__len__() == 50
    finally:
        on.stop()
        off.stop()
    # Loose: the machine is shared; a write waiting on a send would take a second or more.
    assert max(took["on"]) < 1.0, took["on"]
    assert statistics.median(took["on"]) < 3 * statistics.median(took["off"]) + 0.05, took
    assert "queue is full" in on.log.read_text()
