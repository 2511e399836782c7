"""Experiment-scoped tokens: every lineage edge is authorised on both ends, and graph answers
leave out (redact) what the token may not read.

Two experiments, A and B, each with a run, a training execution reading a dataset and writing
a model. The tokens hold grants on A only; B's names must never reach them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from modeltrail.domain.errors import Forbidden
from modeltrail.domain.scope import Scope
from modeltrail.integrations.argo import translator as argo
from modeltrail.integrations.openlineage import translator as openlineage
from modeltrail.server.app import create_app
from modeltrail.server.auth import AuthSettings
from modeltrail.services.batch import run_batch
from modeltrail.services.metadata import Metadata
from modeltrail.store.tables import (
    ArtifactReferenceRow,
    ArtifactRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    ExecutionSuccessorRow,
    RunRow,
)

API = "/api/v1"
THESIS = "/v1/metadata"
ADMIN = "admin-" + uuid.uuid4().hex
SECRET = "secret-of-b"  # in every name and attribute of B's entities


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    c: TestClient
    meta: Metadata
    a: dict[str, str]  # experiment, run, execution, dataset, model of A
    b: dict[str, str]
    writer: dict[str, str]  # headers: writer on A only
    reader: dict[str, str]  # reader on A only
    admin: dict[str, str]

    def edge_count(self) -> int:
        with self.meta.db.session() as s:
            return sum(
                s.scalar(select(func.count()).select_from(t)) or 0
                for t in (
                    ExecutionInputRow,
                    ExecutionOutputRow,
                    ExecutionSuccessorRow,
                    ArtifactReferenceRow,
                    ArtifactRow,
                    ExecutionRow,
                    RunRow,
                )
            )


def _experiment(c: TestClient, admin: dict[str, str], tag: str) -> dict[str, str]:
    def post(path: str, body: dict[str, Any]) -> str:
        r = c.post(f"{API}/{path}", json=body, headers=admin)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    exp = post("experiments", {"name": f"exp-{tag}"})
    run = post("runs", {"experiment": exp, "name": f"run-{tag}"})
    exe = post("executables", {"name": f"train-{tag}"})
    data = post(
        "artifacts",
        {"name": f"data-{tag}", "kind": "dataset", "attributes": {"note": f"data-{tag}"}},
    )
    model = post(
        "artifacts",
        {"name": f"model-{tag}", "kind": "model", "attributes": {"note": f"model-{tag}"}},
    )
    execution = post(
        "executions",
        {
            "run": run,
            "executable": exe,
            "name": f"step-{tag}",
            "kind": "train",
            "inputArtifacts": [data],
            "outputArtifacts": [model],
        },
    )
    return {
        "experiment": exp,
        "run": run,
        "executable": exe,
        "execution": execution,
        "dataset": data,
        "model": model,
    }


@pytest.fixture
def world(metadata: Metadata) -> Iterator[World]:
    app = create_app(metadata, auth_settings=AuthSettings(enabled=True, admin_token=ADMIN))
    with TestClient(app, base_url="http://testserver") as c:
        admin = bearer(ADMIN)
        a = _experiment(c, admin, "a")
        b = _experiment(c, admin, SECRET)

        def token(role: str) -> dict[str, str]:
            r = c.post(
                f"{API}/tokens",
                json={"name": f"a-{role}", "experiments": {a["experiment"]: role}},
                headers=admin,
            )
            assert r.status_code == 201, r.text
            return bearer(r.json()["token"])

        yield World(c, metadata, a, b, token("writer"), token("reader"), admin)


def _forbidden(response: Any, pointer: str, entity: str) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/forbidden")
    assert any(e["pointer"] == pointer and entity in e["detail"] for e in body["errors"]), body


# ---------------------------------------------------------------- writes


def test_a_writer_cannot_make_b_s_model_an_output_of_its_execution(world: World) -> None:
    w, a, b = world, world.a, world.b
    before = w.edge_count()
    r = w.c.post(
        f"{API}/executions/{a['execution']}/outputs",
        json={"artifacts": [b["model"]]},
        headers=w.writer,
    )
    _forbidden(r, "/artifacts/0", b["model"])
    assert w.edge_count() == before
    upstream = w.c.get(f"{API}/artifacts/{b['model']}/lineage", headers=w.admin).json()
    assert a["execution"] not in {n["id"] for n in upstream["nodes"]}


def test_a_writer_cannot_make_b_s_execution_a_successor(world: World) -> None:
    w, a, b = world, world.a, world.b
    before = w.edge_count()
    r = w.c.post(
        f"{API}/executions/{a['execution']}/successors",
        json={"executions": [b["execution"]]},
        headers=w.writer,
    )
    _forbidden(r, "/executions/0", b["execution"])
    assert w.edge_count() == before


def test_a_writer_cannot_read_b_s_artifacts_as_inputs(world: World) -> None:
    w, a, b = world, world.a, world.b
    before = w.edge_count()
    r = w.c.post(
        f"{API}/executions/{a['execution']}/inputs",
        json={"artifacts": [a["dataset"], b["dataset"]]},
        headers=w.writer,
    )
    _forbidden(r, "/artifacts/1", b["dataset"])
    new = w.c.post(
        f"{API}/executions",
        json={
            "run": a["run"],
            "executable": a["executable"],
            "name": "s2",
            "kind": "eval",
            "inputArtifacts": [a["model"], b["model"]],
        },
        headers=w.writer,
    )
    _forbidden(new, "/inputArtifacts/1", b["model"])
    run = w.c.post(
        f"{API}/runs",
        json={"experiment": a["experiment"], "name": "r2", "event": b["dataset"]},
        headers=w.writer,
    )
    _forbidden(run, "/event", b["dataset"])
    patched = w.c.patch(f"{API}/runs/{a['run']}", json={"event": b["model"]}, headers=w.writer)
    _forbidden(patched, "/event", b["model"])
    reused = w.c.patch(
        f"{API}/executions/{a['execution']}", json={"reusedFrom": b["execution"]}, headers=w.writer
    )
    _forbidden(reused, "/reusedFrom", b["execution"])
    assert w.edge_count() == before


def test_a_writer_may_still_link_what_is_its_own(world: World) -> None:
    w, a = world, world.a
    r = w.c.post(
        f"{API}/executions",
        json={
            "run": a["run"],
            "executable": a["executable"],
            "name": "evaluate",
            "kind": "eval",
            "inputArtifacts": [a["model"], a["dataset"]],
        },
        headers=w.writer,
    )
    assert r.status_code == 201, r.text
    follow = w.c.post(
        f"{API}/executions/{a['execution']}/successors",
        json={"executions": [r.json()["id"]]},
        headers=w.writer,
    )
    assert follow.status_code == 200, follow.text
    made = w.c.post(
        f"{THESIS}/experiments/runs/executions/{r.json()['id']}/artifacts",
        json={"name": "report", "version": "1", "kind": "dataset"},
        headers=w.writer,
    )
    assert made.status_code == 201, made.text


def test_the_thesis_api_refuses_the_same_edges(world: World) -> None:
    w, a, b = world, world.a, world.b
    before = w.edge_count()
    put = f"{THESIS}/experiments/runs/executions/{a['execution']}"
    _forbidden(
        w.c.put(put, json={"outputArtifacts": [{"id": b["model"]}]}, headers=w.writer),
        "/outputArtifacts/1",
        b["model"],
    )
    _forbidden(
        w.c.put(put, json={"inputArtifacts": [{"id": b["dataset"]}]}, headers=w.writer),
        "/inputArtifacts/1",
        b["dataset"],
    )
    _forbidden(
        w.c.put(put, json={"successors": [{"id": b["execution"]}]}, headers=w.writer),
        "/successors/0",
        b["execution"],
    )
    _forbidden(
        w.c.post(
            f"{THESIS}/experiments/runs/executions/{a['execution']}/artifacts",
            json={"id": b["model"]},
            headers=w.writer,
        ),
        "/",
        b["model"],
    )
    _forbidden(
        w.c.put(
            f"{THESIS}/experiments/runs/{a['run']}",
            json={"event": {"id": b["model"]}},
            headers=w.writer,
        ),
        "/event",
        b["model"],
    )
    # A metrics artifact created in A that refers to B's model.
    _forbidden(
        w.c.post(
            f"{THESIS}/experiments/runs/executions/{a['execution']}/artifacts",
            json={
                "name": "m",
                "version": "1",
                "kind": "metrics",
                "value": 0.9,
                "reference": b["model"],
            },
            headers=w.writer,
        ),
        "/reference",  # the thesis's documents carry attributes at the top level
        b["model"],
    )
    assert w.edge_count() == before


def test_batch_openlineage_and_argo_need_a_global_writer(world: World) -> None:
    w, a, b = world, world.a, world.b
    before = w.edge_count()
    batch = w.c.post(
        f"{API}/batch",
        json={
            "operations": [
                {
                    "op": "link",
                    "entity": "execution",
                    "id": a["execution"],
                    "data": {"outputArtifacts": [b["model"]]},
                }
            ]
        },
        headers=w.writer,
    )
    assert batch.status_code == 403, batch.text
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2026-01-01T00:00:00Z",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "exp-a", "name": "j"},
        "outputs": [{"namespace": "s3://b", "name": "model"}],
        "producer": "https://example.com",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    assert w.c.post(f"{API}/lineage", json=event, headers=w.writer).status_code == 403
    assert w.c.post(f"{API}/lineage/batch", json=[event], headers=w.writer).status_code == 403
    argo = w.c.post(f"{API}/argo/workflows", json={"metadata": {"name": "wf"}}, headers=w.writer)
    assert argo.status_code == 403
    assert w.edge_count() == before


def test_imports_refuse_a_scoped_store_past_the_guard(metadata: Metadata) -> None:
    """The services refuse a scoped writer's batch and imports themselves, should a route ever
    let one through."""
    a = uuid.uuid4()
    scoped = metadata.scoped(Scope(readable=frozenset({a}), writable=frozenset({a})))
    with pytest.raises(Forbidden):
        run_batch(scoped, [])
    with pytest.raises(Forbidden):
        openlineage.ingest(scoped, {})
    with pytest.raises(Forbidden):
        argo.import_workflow(scoped, {})
    assert metadata.scoped(None) is metadata


def test_a_global_writer_still_links_across_experiments(world: World) -> None:
    w, a, b = world, world.a, world.b
    r = w.c.post(
        f"{API}/executions/{a['execution']}/successors",
        json={"executions": [b["execution"]]},
        headers=w.admin,
    )
    assert r.status_code == 200, r.text
    # ... and then a scoped writer of A may not undo it: the successor's lineage would change.
    patched = w.c.patch(
        f"{API}/executions/{a['execution']}", json={"successors": []}, headers=w.writer
    )
    _forbidden(patched, "/successors", b["execution"])
    assert w.c.delete(f"{API}/executions/{a['execution']}", headers=w.writer).status_code == 403


# ---------------------------------------------------------------- reads


def _no_secret(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert SECRET not in response.text, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def crossed(world: World) -> World:
    """A's execution reads B's model, B's step follows A's and reads A's dataset (linked by a
    global writer)."""
    w, a, b = world, world.a, world.b
    for execution, path, body in (
        (a["execution"], "inputs", {"artifacts": [b["model"]]}),
        (a["execution"], "successors", {"executions": [b["execution"]]}),
        (b["execution"], "inputs", {"artifacts": [a["dataset"]]}),
    ):
        r = w.c.post(f"{API}/executions/{execution}/{path}", json=body, headers=w.admin)
        assert r.status_code == 200, r.text
    return w


def _redacted_ids(body: Any) -> set[str]:
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            if v.get("redacted") is True:
                found.add(v["id"])
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(body)
    return found


def test_a_scoped_reader_s_graphs_redact_b(crossed: World) -> None:
    w, a, b = crossed, crossed.a, crossed.b
    for token in (w.reader, w.writer):
        for path in (
            f"{API}/executions/{a['execution']}/lineage?direction=upstream",
            f"{API}/runs/{a['run']}/dag",
            f"{API}/experiments/{a['experiment']}/trace",
            f"{API}/artifacts/{a['model']}/lineage",
            f"{API}/artifacts/{a['dataset']}/impact",
            f"{API}/artifacts/{a['dataset']}/lineage?direction=downstream",
        ):
            body = _no_secret(w.c.get(path, headers=token))
            assert body["redacted"] >= 1, (path, body)
            assert _redacted_ids(body) & {b["model"], b["execution"]}, (path, body)
        # The graph keeps its shape: the edges to the redacted nodes are still there.
        dag = w.c.get(f"{API}/runs/{a['run']}/dag", headers=token).json()
        assert {"source": b["model"], "target": a["execution"], "type": "input"} in dag["edges"]
        assert {"id": b["model"], "type": "artifact", "redacted": True} in dag["nodes"]
        diff = _no_secret(
            w.c.get(
                f"{API}/artifacts/{a['model']}/diff", params={"against": b["model"]}, headers=token
            )
        )
        assert diff["against"] == {"id": b["model"], "type": "artifact", "redacted": True}
        assert diff["redacted"] >= 1
        for path in (
            f"{THESIS}/experiments/runs/executions/{a['execution']}",
            f"{THESIS}/experiments/runs/{a['run']}/artifacts",
            f"{THESIS}/experiments/{a['experiment']}/artifacts",
            f"{THESIS}/experiments/{a['experiment']}/trace",
        ):
            _no_secret(w.c.get(path, headers=token))


def test_a_scoped_reader_s_history_and_cache_redact_b(crossed: World) -> None:
    w, a, b = crossed, crossed.a, crossed.b
    # B's model triggered A's run; B's step did the same work as one of A's (equal fingerprint).
    assert (
        w.c.patch(f"{API}/runs/{a['run']}", json={"event": b["model"]}, headers=w.admin).status_code
        == 200
    )
    history = _no_secret(w.c.get(f"{API}/experiments/{a['experiment']}/history", headers=w.reader))
    assert history["runs"][0]["trigger"] == {"id": b["model"], "redacted": True}
    assert history["redacted"] == 1
    done = w.c.patch(
        f"{API}/executions/{b['execution']}", json={"status": "SUCCESS"}, headers=w.admin
    )
    assert done.status_code == 200, done.text
    twin = w.c.post(
        f"{API}/executions",
        json={
            "run": a["run"],
            "executable": b["executable"],
            "name": "again",
            "kind": "train",
            "inputArtifacts": [b["dataset"], a["dataset"]],
        },
        headers=w.admin,
    ).json()
    hit = w.c.get(f"{API}/executions/{twin['id']}/cache", headers=w.reader)
    body = _no_secret(hit)
    assert body["execution"] == {"id": b["execution"], "type": "execution", "redacted": True}


def test_a_scoped_reader_lists_only_its_experiments(crossed: World) -> None:
    w, a = crossed, crossed.a
    expected = {
        "experiments": [a["experiment"]],
        "runs": [a["run"]],
        "executions": [a["execution"]],
        # B's model is an input of A's step but B wrote it: it stays B's.
        "artifacts": sorted([a["dataset"], a["model"]]),
    }
    for plural, ids in expected.items():
        page = _no_secret(w.c.get(f"{API}/{plural}", params={"count": True}, headers=w.reader))
        assert sorted(i["id"] for i in page["items"]) == ids, plural
        assert page["total"] == len(ids)
    named = w.c.get(
        f"{API}/artifacts", params={"filter": "name:prefix:model"}, headers=w.reader
    ).json()
    assert [i["id"] for i in named["items"]] == [a["model"]]
    for plural in ("executables", "pipelines", "kinds"):
        assert w.c.get(f"{API}/{plural}", headers=w.reader).status_code == 403, plural
    assert len(w.c.get(f"{API}/artifacts", headers=w.admin).json()["items"]) == 4


def test_a_scoped_reader_searches_only_its_experiments(crossed: World) -> None:
    w, a, b = crossed, crossed.a, crossed.b

    def search(text: str, headers: dict[str, str]) -> list[str]:
        r = w.c.get(f"{API}/search", params={"text": text, "limit": 100}, headers=headers)
        body = r.json() if headers is w.admin else _no_secret(r)
        return sorted(i["id"] for i in body["items"])

    assert search("secret", w.admin) != []
    for token in (w.reader, w.writer):
        assert search("secret", token) == []
        assert search(b["run"], token) == []
        assert search(b["run"][:8], token) == []
        # Its own experiment, run, step and artifacts (B's model it read stays B's); no
        # executables, which belong to no experiment.
        assert search("a", token) == sorted(
            [a["experiment"], a["run"], a["execution"], a["dataset"], a["model"]]
        )
    assert a["executable"] in search("a", w.admin)


def test_a_scoped_reader_cannot_read_b_s_artifacts_directly(crossed: World) -> None:
    w, a, b = crossed, crossed.a, crossed.b
    assert w.c.get(f"{API}/artifacts/{a['model']}", headers=w.reader).status_code == 200
    for path in (
        f"{API}/artifacts/{b['model']}",
        f"{API}/artifacts/{b['model']}/lineage",
        f"{API}/artifacts/{b['model']}/diff",
        f"{API}/artifacts/{uuid.uuid4()}",
        f"{THESIS}/experiments/runs/executions/artifacts/{b['model']}",
        f"{API}/executions/{b['execution']}/lineage",
        f"{API}/runs/{b['run']}/dag",
    ):
        r = w.c.get(path, headers=w.reader)
        assert r.status_code == 403, (path, r.text)
        assert SECRET not in r.text


def test_an_unscoped_token_sees_everything_as_before(crossed: World, metadata: Metadata) -> None:
    w, a = crossed, crossed.a
    r = w.c.post(f"{API}/tokens", json={"name": "all", "role": "reader"}, headers=w.admin)
    reader = bearer(r.json()["token"])
    for headers in (w.admin, reader):
        for path in (
            f"{API}/runs/{a['run']}/dag",
            f"{API}/executions/{a['execution']}/lineage",
            f"{API}/artifacts/{a['dataset']}/impact",
            f"{API}/experiments/{a['experiment']}/trace",
        ):
            body = w.c.get(path, headers=headers)
            assert body.status_code == 200
            assert SECRET in body.text and "redacted" not in body.json(), path
    # The same answers as the service gives without any token.
    from modeltrail.services.graph import dag

    plain = metadata.query(dag.run_dag, uuid.UUID(a["run"]))
    served = w.c.get(f"{API}/runs/{a['run']}/dag", headers=reader).json()
    assert served == json.loads(plain.model_dump_json(by_alias=True, exclude_none=True))


# ---------------------------------------------------------------- the registry and MLflow's API
# The registry shows a token with grants only the versions of its experiments and lets it
# change those (tests/registry/test_registry_scoped.py has the rules); MLflow's API names runs
# and experiments in its query and body, where the guard cannot read them: a token with grants
# only is refused there, whatever its grants, and writes nothing.


def _register(w: World, name: str, artifact: str) -> None:
    made = w.c.post(f"{API}/models", json={"name": name}, headers=w.admin)
    assert made.status_code == 201, made.text
    models = f"{API}/models/{name}"
    version = w.c.post(f"{models}/versions", json={"artifact": artifact}, headers=w.admin)
    assert version.status_code == 201, version.text
    moved = w.c.put(f"{models}/aliases/champion", json={"version": 1}, headers=w.admin)
    assert moved.status_code == 200, moved.text


def test_the_registry_shows_tokens_with_grants_only_their_experiments(world: World) -> None:
    w, a, b = world, world.a, world.b
    # B's model, under a name of its own: what must not reach A's tokens is what B's runs
    # made (names, attributes), not the name the request itself asks about.
    _register(w, "model-a", a["model"])
    _register(w, "model-b", b["model"])
    before = {
        name: w.c.get(f"{API}/models/{name}/history", headers=w.admin).json()
        for name in ("model-a", "model-b")
    }
    theirs = f"{API}/models/model-b"
    for token in (w.reader, w.writer):
        listed = w.c.get(f"{API}/models", headers=token)
        assert [m["name"] for m in listed.json()["items"]] == ["model-a"]
        for method, path, body, status in (
            ("GET", f"{API}/models/resolve?uri=models:/model-a@champion", None, 200),
            ("GET", f"{API}/models/model-a/versions/1", None, 200),
            ("GET", f"{API}/models/resolve?uri=models:/model-b@champion", None, 404),
            ("GET", theirs, None, 404),
            ("GET", f"{theirs}/versions", None, 404),
            ("GET", f"{theirs}/versions/1", None, 404),
            ("GET", f"{theirs}/aliases", None, 404),
            ("GET", f"{theirs}/history", None, 404),
            ("POST", f"{theirs}/versions", {"artifact": b["model"]}, 403),
            (
                "PUT",
                f"{theirs}/aliases/production",
                {"version": 1},
                403 if token is w.reader else 404,
            ),
            ("DELETE", f"{theirs}/aliases/champion", None, 403 if token is w.reader else 404),
            ("POST", f"{API}/models", {"name": "new-model"}, 403),
            ("PATCH", f"{API}/models/model-a", {"description": "changed"}, 403),
            ("DELETE", f"{API}/models/model-a", None, 403),
            ("DELETE", theirs, None, 403),
        ):
            r = w.c.request(method, path, json=body, headers=token)
            assert r.status_code == status, (method, path, r.text)
            answer = r.json()
            if isinstance(answer, dict):
                answer.pop("instance", None)  # the path the request named
            assert SECRET not in json.dumps(answer), (method, path)
    # Search answers a scoped token with its experiments' entities: no registered model.
    for token in (w.reader, w.writer):
        found = w.c.get(f"{API}/search", params={"text": "model"}, headers=token).json()
        assert found["items"] and {i["type"] for i in found["items"]} <= {"artifact", "execution"}
    for name, history in before.items():
        assert w.c.get(f"{API}/models/{name}/history", headers=w.admin).json() == history
    assert w.c.get(f"{API}/models/new-model", headers=w.admin).status_code == 404
    assert w.c.get(f"{theirs}/versions", headers=w.admin).json()["items"][0]["version"] == 1


MLFLOW = "/api/2.0/mlflow"


def _mlflow_calls(ids: dict[str, str]) -> list[tuple[str, str, dict[str, Any]]]:
    """Reads and writes of MLflow's client on one experiment and its run."""
    exp, run = ids["experiment"], uuid.UUID(ids["run"]).hex
    return [
        ("GET", f"{MLFLOW}/experiments/get", {"experiment_id": exp}),
        ("POST", f"{MLFLOW}/experiments/search", {}),
        ("GET", f"{MLFLOW}/runs/get", {"run_id": run}),
        ("POST", f"{MLFLOW}/runs/search", {"experiment_ids": [exp]}),
        ("GET", f"{MLFLOW}/metrics/get-history", {"run_id": run, "metric_key": "loss"}),
        ("GET", f"{MLFLOW}/artifacts/list", {"run_id": run}),
        ("GET", f"{MLFLOW}/registered-models/search", {}),
        (
            "POST",
            f"{MLFLOW}/model-versions/create",
            {"name": "made-by-a-scoped-token", "source": f"s3://models/{run}", "run_id": run},
        ),
        ("GET", f"{MLFLOW}-artifacts/artifacts", {"path": f"{exp}/{run}/artifacts"}),
        ("POST", f"{MLFLOW}/runs/create", {"experiment_id": exp, "run_name": "scoped"}),
        ("POST", f"{MLFLOW}/runs/set-tag", {"run_id": run, "key": "by", "value": "scoped"}),
        (
            "POST",
            f"{MLFLOW}/runs/log-metric",
            {"run_id": run, "key": "loss", "value": 1.0, "timestamp": 1, "step": 0},
        ),
        ("POST", f"{MLFLOW}/runs/update", {"run_id": run, "status": "FAILED"}),
        (
            "POST",
            f"{MLFLOW}/experiments/set-experiment-tag",
            {"experiment_id": exp, "key": "k", "value": "v"},
        ),
        ("POST", f"{MLFLOW}/experiments/delete", {"experiment_id": exp}),
        ("PUT", f"{MLFLOW}-artifacts/artifacts/{exp}/{run}/artifacts/f.txt", {}),
        (
            "POST",
            f"{MLFLOW}-artifacts/mpu/create/{exp}/{run}/artifacts",
            {"path": "big.bin", "num_parts": 2},
        ),
    ]


def _mlflow(w: World, method: str, path: str, sent: dict[str, Any], token: dict[str, str]) -> Any:
    if method == "GET":
        return w.c.get(path, params=sent, headers=token)
    return w.c.request(method, path, json=sent, headers=token)


def _is_read(method: str, path: str) -> bool:
    return method == "GET" or path.endswith("/search")


def _snapshot(w: World, ids: dict[str, str]) -> Any:
    run = uuid.UUID(ids["run"]).hex
    return (
        w.c.get(f"{MLFLOW}/runs/get", params={"run_id": run}, headers=w.admin).json(),
        w.c.get(
            f"{MLFLOW}/experiments/get",
            params={"experiment_id": ids["experiment"]},
            headers=w.admin,
        ).json(),
    )


def test_mlflow_s_api_hides_other_experiments_from_tokens_with_grants(world: World) -> None:
    """What a token may not read on MLflow's paths is as missing as what is not there; a write
    naming it writes nothing."""
    w = world
    before = _snapshot(w, w.b)
    for token in (w.reader, w.writer):
        for method, path, sent in _mlflow_calls(w.b):
            r = _mlflow(w, method, path, sent, token)
            assert SECRET not in r.text, (method, path, r.text)
            if path.endswith("/search"):
                assert r.status_code == 200, (method, path, r.text)
                assert not r.json().get("runs"), r.text
            else:
                assert r.status_code == 404, (method, path, r.text)
                assert r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", r.text
        # Another experiment's id or name answers as one never made.
        for param, name, unknown in (
            ("experiment_id", w.b["experiment"], str(uuid.uuid4())),
            ("experiment_name", f"exp-{SECRET}", "never-made"),
        ):
            path = f"{MLFLOW}/experiments/get" + ("-by-name" if "name" in param else "")
            hidden = w.c.get(path, params={param: name}, headers=token)
            absent = w.c.get(path, params={param: unknown}, headers=token)
            assert hidden.status_code == absent.status_code == 404
            assert hidden.json() == {k: v.replace(unknown, name) for k, v in absent.json().items()}
        found = w.c.post(f"{MLFLOW}/experiments/search", json={}, headers=token).json()
        assert [e["experiment_id"] for e in found["experiments"]] == [w.a["experiment"]]
        # A batch naming B's run writes nothing: no param, tag or metric.
        batch = {
            "run_id": uuid.UUID(w.b["run"]).hex,
            "params": [{"key": "p", "value": "1"}],
            "tags": [{"key": "t", "value": "1"}],
            "metrics": [{"key": "m", "value": 1.0, "timestamp": 1, "step": 0}],
        }
        r = w.c.post(f"{MLFLOW}/runs/log-batch", json=batch, headers=token)
        assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert _snapshot(w, w.b) == before


def test_a_dataset_another_experiment_read_is_not_told_by_log_inputs(world: World) -> None:
    """MLflow's datasets are one artifact per name and digest, shared by every run that reads
    them. A token that may not read the shared one (B's run read it) logs the same dataset as
    if it were new: no refusal, none of B's content, B's artifact and lineage untouched."""
    w = world

    def log(token: dict[str, str], run: str, source: str) -> Any:
        dataset = {"name": "digits", "digest": "69f0bcdb", "source_type": "s3", "source": source}
        sent = {"run_id": uuid.UUID(run).hex, "datasets": [{"dataset": dataset}]}
        return w.c.post(f"{MLFLOW}/runs/log-inputs", json=sent, headers=token)

    assert log(w.admin, w.b["run"], f'{{"uri": "s3://{SECRET}/digits"}}').status_code == 200
    before = _snapshot(w, w.b)
    for attempt in range(2):  # and again, once A has a dataset of that name and digest
        logged = log(w.writer, w.a["run"], '{"uri": "s3://a/digits"}')
        assert logged.status_code == 200, (attempt, logged.text)
    run = w.c.get(
        f"{MLFLOW}/runs/get", params={"run_id": uuid.UUID(w.a["run"]).hex}, headers=w.writer
    ).json()["run"]
    [read] = run["inputs"]["dataset_inputs"]
    assert (read["dataset"]["name"], read["dataset"]["digest"]) == ("digits", "69f0bcdb")
    assert SECRET not in json.dumps(run)
    assert _snapshot(w, w.b) == before
    # An admin finds each run by the dataset, each reading its own copy.
    found = w.c.post(
        f"{MLFLOW}/runs/search",
        json={
            "experiment_ids": [w.a["experiment"], w.b["experiment"]],
            "filter": "datasets.digest = '69f0bcdb'",
        },
        headers=w.admin,
    ).json()
    assert len(found["runs"]) == 2


def test_mlflow_s_api_gives_tokens_with_grants_their_experiments(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A reader on A reads A through MLflow's client and changes nothing; a writer on A logs to
    A; neither creates an experiment (it would belong to no grant)."""
    w = world
    monkeypatch.setenv("MODELTRAIL_ARTIFACTS_ROOT", str(tmp_path / "files"))  # for PostgreSQL
    before = _snapshot(w, w.a)
    for method, path, sent in _mlflow_calls(w.a):
        r = _mlflow(w, method, path, sent, w.reader)
        if not _is_read(method, path):
            assert r.status_code == 403, (method, path, r.text)
            assert r.json()["error_code"] == "PERMISSION_DENIED", r.text
        else:
            assert r.status_code == 200, (method, path, r.text)
    assert _snapshot(w, w.a) == before
    searched = w.c.post(
        f"{MLFLOW}/runs/search",
        json={"experiment_ids": [w.a["experiment"], w.b["experiment"]]},
        headers=w.reader,
    ).json()
    assert [r["info"]["run_id"] for r in searched["runs"]] == [uuid.UUID(w.a["run"]).hex]
    for method, path, sent in _mlflow_calls(w.a):
        r = _mlflow(w, method, path, sent, w.writer)
        assert r.status_code == 200, (method, path, r.text)
    assert _snapshot(w, w.a) != before
    for token in (w.reader, w.writer):
        r = w.c.post(f"{MLFLOW}/experiments/create", json={"name": "mine"}, headers=token)
        assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED"


def test_mlflow_s_api_gives_a_global_reader_its_grants_too(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A global reader with a writer grant on A reads A and B through MLflow, writes A only."""
    w = world
    monkeypatch.setenv("MODELTRAIL_ARTIFACTS_ROOT", str(tmp_path / "files"))  # for PostgreSQL
    made = w.c.post(
        f"{API}/tokens",
        json={"name": "mixed", "role": "reader", "experiments": {w.a["experiment"]: "writer"}},
        headers=w.admin,
    )
    mixed = bearer(made.json()["token"])
    before = _snapshot(w, w.b)
    for ids in (w.b, w.a):
        for method, path, sent in _mlflow_calls(ids):
            r = _mlflow(w, method, path, sent, mixed)
            if _is_read(method, path) or ids is w.a:
                assert r.status_code == 200, (method, path, r.text)
            else:
                assert r.status_code == 403, (method, path, r.text)
                assert r.json()["error_code"] == "PERMISSION_DENIED", r.text
    assert _snapshot(w, w.b) == before
    runs = w.c.post(f"{MLFLOW}/runs/search", json={"experiment_ids": [w.a["experiment"]]})
    assert runs.status_code == 401


def test_a_scoped_list_names_only_what_the_token_reads(world: World) -> None:
    w, a, b = world, world.a, world.b
    # A's run was triggered by B's model (set by a global writer): its name is B's secret
    r = w.c.patch(f"{API}/runs/{a['run']}", json={"event": b["model"]}, headers=w.admin)
    assert r.status_code == 200, r.text
    for token in (w.reader, w.writer):
        runs = _no_secret(w.c.get(f"{API}/runs", headers=token))
        assert runs["names"] == {
            a["experiment"]: w.c.get(f"{API}/experiments/{a['experiment']}", headers=token).json()[
                "name"
            ]
        }
        executions = _no_secret(w.c.get(f"{API}/executions", headers=token))
        assert list(executions["names"]) == [a["run"]]
    admin = w.c.get(f"{API}/runs", headers=w.admin).json()
    assert admin["names"][b["model"]].startswith(SECRET) or SECRET in admin["names"][b["model"]]


def test_a_scoped_list_names_no_filtered_id_the_token_cannot_read(world: World) -> None:
    w, a, b = world, world.a, world.b
    for token in (w.reader, w.writer):
        for plural, f in (
            ("runs", f"experiment:in:{a['experiment']},{b['experiment']}"),
            ("executions", f"run:eq:{b['run']}"),
            ("artifacts", f"producedBy:eq:{b['execution']}"),
        ):
            answer = _no_secret(w.c.get(f"{API}/{plural}", params={"filter": f}, headers=token))
            assert b["experiment"] not in answer["names"] and b["run"] not in answer["names"]
            assert b["execution"] not in answer["names"]
        runs = w.c.get(
            f"{API}/runs", params={"filter": f"experiment:eq:{a['experiment']}"}, headers=token
        ).json()
        assert runs["names"] == {a["experiment"]: "exp-a"}


def test_a_scoped_list_asks_for_no_names_it_may_not_list(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The names of pipelines and executables (which belong to no experiment) are skipped
    before their query is built: a scoped page is not read through a refusal."""
    from modeltrail.services import access

    refused: list[Any] = []
    readable_rows = access.readable_rows

    def spied(session: Any, row_type: Any, query: Any) -> Any:
        try:
            return readable_rows(session, row_type, query)
        except Forbidden:
            refused.append(row_type)
            raise

    monkeypatch.setattr(access, "readable_rows", spied)
    for path in ("runs", "executions"):
        listed = _no_secret(world.c.get(f"{API}/{path}", headers=world.reader))
        assert listed["items"] and listed["names"]
    assert refused == []
