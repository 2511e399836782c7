"""The thesis's API in-process, on both databases: translation, and wrong payloads of every kind.

Every refusal is an ``application/problem+json`` with the pointer of each failing field, and
leaves nothing behind: no experiment, run, execution, executable or artifact half-written.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from starlette.testclient import TestClient
from tests.hooks import Recording

from modeltrail.domain import limits
from modeltrail.services.metadata import Metadata

V1 = "/v1/metadata"
API = "/api/v1"
PROBLEMS = "https://modeltrail.dev/problems/"
MISSING = "0f8f5a8e-0000-4000-8000-000000000000"


def counts(client: TestClient) -> dict[str, int]:
    """How many of each entity the store holds, read through the project's own API."""
    return {
        plural: client.get(f"{API}/{plural}", params={"count": True}).json()["total"]
        for plural in ("experiments", "runs", "pipelines", "executables", "executions", "artifacts")
    }


def problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == PROBLEMS + slug and body["status"] == status and body["detail"]
    return body


def pointers(body: dict[str, Any]) -> list[str]:
    return [e["pointer"] for e in body["errors"]]


@pytest.fixture
def run(client: TestClient) -> dict[str, Any]:
    exp = client.post(f"{V1}/experiments", json={"name": "handwriting", "version": "1"})
    assert exp.status_code == 201, exp.text
    created = client.post(
        f"{V1}/experiments/{exp.json()['id']}/runs", json={"name": "run 1", "version": "1"}
    )
    assert created.status_code == 201, created.text
    return created.json()


def add_execution(client: TestClient, run: dict[str, Any], **body: Any) -> dict[str, Any]:
    body = {"name": "train", "version": "1", "kind": "train", **body}
    response = client.post(f"{V1}/experiments/runs/{run['id']}/executions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


# ---------------------------------------------------------------- translation


def test_kind_attributes_are_flat_on_the_wire_and_kept_as_attributes(
    client: TestClient, run: dict
) -> None:
    execution = add_execution(client, run)
    model = client.post(
        f"{V1}/experiments/runs/executions/{execution['id']}/artifacts",
        json={
            "name": "cnn",
            "version": "1",
            "kind": "model",
            "framework": {"value1": "Tensorflow", "value2": "1.14"},
            "hyperParameters": {"learning-rate": "0.001"},
            "uri": "s3://m/cnn.pb",
        },
    )
    assert model.status_code == 201, model.text
    stored = client.get(f"{API}/artifacts/{model.json()['id']}").json()
    assert stored["attributes"] == {  # the Pair is the thesis's wire format only
        "framework": {"name": "Tensorflow", "version": "1.14"},
        "hyperParameters": {"learning-rate": "0.001"},
    }
    assert stored["uri"] == "s3://m/cnn.pb"
    # The reference of a metric is an artifact object on the wire and a relation in the store.
    metrics = client.post(
        f"{V1}/experiments/runs/executions/{execution['id']}/artifacts",
        json={
            "name": "accuracy",
            "version": "1",
            "kind": "metrics",
            "value": "0.91",
            "reference": model.json(),
        },
    ).json()
    assert metrics["reference"]["id"] == model.json()["id"]
    assert metrics["reference"]["framework"] == {"value1": "Tensorflow", "value2": "1.14"}
    assert (
        client.get(f"{API}/artifacts/{metrics['id']}").json()["attributes"]["reference"]
        == model.json()["id"]
    )
    referrers = client.get(
        f"{API}/artifacts", params={"filter": f"references:eq:{model.json()['id']}"}
    ).json()
    assert [a["id"] for a in referrers["items"]] == [metrics["id"]]


def test_embedded_objects_link_by_id_and_are_created_without(client: TestClient, run: dict) -> None:
    first = add_execution(
        client,
        run,
        name="prepare",
        kind="prepare",
        inputArtifacts=[{"name": "mnist", "version": "1", "kind": "dataset", "type": "Blob"}],
        executable={"name": "prepare.py", "version": "1", "uri": "git://p/prepare.py"},
    )
    dataset = first["inputArtifacts"][0]
    second = add_execution(
        client,
        run,
        inputArtifacts=[{"id": dataset["id"], "name": "ignored", "version": "9"}],
        executable={"id": first["executable"]["id"], "name": "x", "version": "9"},
    )
    assert second["inputArtifacts"] == [dataset]
    assert second["executable"] == first["executable"]
    # No executable sent: one derived from the execution's name and version, shared by repeats.
    third = add_execution(client, run, name="deploy", version="2", kind="deploy")
    fourth = add_execution(client, run, name="deploy", version="2", kind="deploy")
    assert (third["executable"]["name"], third["executable"]["version"]) == ("deploy", "2")
    assert fourth["executable"]["id"] == third["executable"]["id"]
    # A client id that is not stored yet is the id of the new entity.
    chosen = str(uuid.uuid4())
    fifth = add_execution(
        client,
        run,
        inputArtifacts=[{"id": chosen, "name": "new", "version": "1", "kind": "dataset"}],
    )
    assert fifth["inputArtifacts"][0]["id"] == chosen
    assert counts(client)["artifacts"] == 2 and counts(client)["executables"] == 3


def test_put_adds_relations_and_never_drops_them(client: TestClient, run: dict) -> None:
    prepare = add_execution(client, run, name="prepare", kind="prepare")
    train = add_execution(client, run)
    client.post(
        f"{V1}/experiments/runs/executions/{prepare['id']}/artifacts",
        json={"name": "d", "version": "1", "kind": "dataset"},
    )
    # The document read before the artifact was added, sent back with a new status:
    stale = {**prepare, "status": "SUCCESS", "successors": [train]}
    assert (
        client.put(f"{V1}/experiments/runs/executions/{prepare['id']}", json=stale).status_code
        == 200
    )
    now = client.get(f"{V1}/experiments/runs/executions/{prepare['id']}").json()
    assert now["status"] == "SUCCESS"
    assert [a["name"] for a in now["outputArtifacts"]] == ["d"]
    assert [s["id"] for s in now["successors"]] == [train["id"]]


def test_naive_date_times_are_utc(client: TestClient, run: dict) -> None:
    execution = add_execution(
        client,
        run,
        status="SUCCESS",  # only a finished execution has an end time
        startTime="2019-09-25T15:39:01.999",
        endTime="2019-09-25T16:00:00Z",
    )
    assert execution["startTime"] == "2019-09-25T15:39:01.999000+00:00"
    assert execution["endTime"] == "2019-09-25T16:00:00+00:00"


def test_workflow_joins_extra_starting_executions_to_the_first(
    client: TestClient, run: dict
) -> None:
    a = add_execution(
        client,
        run,
        name="a",
        kind="a",
        startTime="2020-01-01T00:00:00Z",
        outputArtifacts=[{"name": "x", "version": "1", "kind": "dataset"}],
    )
    b = add_execution(client, run, name="b", kind="b", startTime="2020-01-01T00:01:00Z")
    c = add_execution(
        client,
        run,
        name="c",
        kind="c",
        startTime="2020-01-01T00:02:00Z",
        inputArtifacts=[a["outputArtifacts"][0]],
    )
    d = add_execution(client, run, name="d", kind="d", startTime="2020-01-01T00:03:00Z")
    client.put(f"{V1}/experiments/runs/executions/{b['id']}", json={"successors": [d]})
    client.put(f"{V1}/experiments/runs/executions/{c['id']}", json={"successors": [d]})
    root = client.get(f"{V1}/experiments/run/{run['id']}/workflow").json()["root"]
    assert root["nodeId"] == a["id"]
    assert [n["nodeId"] for n in root["children"]] == [c["id"], b["id"]]
    # d follows both c and b, so it appears under each.
    assert [n["children"][0]["nodeId"] for n in root["children"]] == [d["id"], d["id"]]


# ---------------------------------------------------------------- wrong payloads


def test_missing_name_and_bad_status_are_reported_together(client: TestClient, run: dict) -> None:
    before = counts(client)
    response = client.post(
        f"{V1}/experiments/runs/{run['id']}/executions",
        json={
            "version": "1",
            "kind": "train",
            "status": "DONE",
            "inputArtifacts": [{"name": "mnist", "version": "1", "kind": "dataset"}],
        },
    )
    body = problem(response, 422, "invalid-input")
    assert pointers(body) == ["/name", "/status"]
    assert "RUNNING" in body["errors"][1]["detail"]
    assert counts(client) == before


BAD_BODIES = [
    ("/experiments", {"version": "1"}, ["/name"]),
    ("/experiments", {"name": "", "version": "1"}, ["/name"]),
    ("/experiments", {"name": "e", "version": "1", "annotations": {"k": 1}}, ["/annotations/k"]),
    ("RUNS", {"name": "r"}, ["/version"]),
    ("RUNS", {"name": "r", "version": "1", "status": "done"}, ["/status"]),
    (
        "RUNS",
        {"name": "r", "version": "1", "event": {"name": "e", "kind": "event"}},
        ["/event/version"],
    ),
    (
        "RUNS",
        {
            "name": "r",
            "version": "1",
            "pipeline": {"name": "p", "version": "1", "executables": [{"name": "x"}]},
        },
        ["/pipeline/executables/0/version"],
    ),
    ("EXECUTIONS", {"name": "t", "version": "1"}, ["/kind"]),
    (
        "EXECUTIONS",
        {"name": "t", "version": "1", "kind": "k", "startTime": "yesterday"},
        ["/startTime"],
    ),
    (
        "EXECUTIONS",
        {"name": "t", "version": "1", "kind": "k", "inputArtifacts": {"name": "a"}},
        ["/inputArtifacts"],
    ),
    (
        "EXECUTIONS",
        {"name": "t", "version": "1", "kind": "k", "inputArtifacts": ["not an object"]},
        ["/inputArtifacts/0"],
    ),
    (
        "EXECUTIONS",
        {"name": "t", "version": "1", "kind": "k", "successors": [{"id": MISSING, "name": "s"}]},
        ["/successors/0"],
    ),
    (
        "EXECUTIONS",
        {"name": "t", "version": "1", "kind": "k", "executable": {"name": "x.py"}},
        ["/executable/version"],
    ),
    (
        "EXECUTIONS",
        {
            "name": "t",
            "version": "1",
            "kind": "k",
            "inputArtifacts": [
                {"name": "ok", "version": "1", "kind": "dataset"},
                {"name": "m", "version": "1", "kind": "model", "framework": "Tensorflow"},
            ],
        },
        ["/inputArtifacts/1/framework"],
    ),
    (
        "ARTIFACTS",
        {"name": "a", "version": "1", "kind": "metrics", "reference": {"name": "no id"}},
        ["/reference/id"],
    ),
    (
        "ARTIFACTS",
        {"name": "a", "version": "1", "kind": "metrics", "reference": MISSING},
        ["/reference"],
    ),
    ("ARTIFACTS", {"name": "a", "version": "1", "kind": "bad kind!"}, ["/kind"]),
    ("ARTIFACTS", {"version": "1", "kind": "dataset"}, ["/name"]),
    ("ARTIFACTS", {"name": "a", "version": "1", "kind": "dataset", "type": 3}, ["/type"]),
]


def test_bad_bodies_are_422_with_pointers_and_write_nothing(client: TestClient, run: dict) -> None:
    execution = add_execution(client, run, name="host", kind="host")
    paths = {
        "RUNS": f"/experiments/{run_experiment(client, run)}/runs",
        "EXECUTIONS": f"/experiments/runs/{run['id']}/executions",
        "ARTIFACTS": f"/experiments/runs/executions/{execution['id']}/artifacts",
    }
    before = counts(client)
    for path, body, expected in BAD_BODIES:
        result = client.post(V1 + paths.get(path, path), json=body)
        assert result.status_code == 422, (path, body, result.text)
        assert result.headers["content-type"] == "application/problem+json"
        assert result.json()["type"].startswith(PROBLEMS)
        assert pointers(result.json()) == expected, (path, body)
    assert counts(client) == before


def run_experiment(client: TestClient, run: dict) -> str:
    return client.get(f"{API}/runs/{run['id']}").json()["experiment"]


EVERY_PATH_WITH_AN_ID = [
    ("GET", "/experiments/{id}"),
    ("PUT", "/experiments/{id}"),
    ("GET", "/experiments/{id}/runs"),
    ("POST", "/experiments/{id}/runs"),
    ("GET", "/experiments/{id}/artifacts"),
    ("GET", "/experiments/{id}/trace"),
    ("GET", "/experiments/runs/{id}"),
    ("PUT", "/experiments/runs/{id}"),
    ("GET", "/experiments/runs/{id}/executions"),
    ("POST", "/experiments/runs/{id}/executions"),
    ("GET", "/experiments/runs/{id}/artifacts"),
    ("GET", "/experiments/run/{id}/workflow"),
    ("GET", "/experiments/runs/executions/{id}"),
    ("PUT", "/experiments/runs/executions/{id}"),
    ("GET", "/experiments/runs/executions/{id}/artifacts"),
    ("POST", "/experiments/runs/executions/{id}/artifacts"),
    ("GET", "/experiments/runs/executions/artifacts/{id}"),
]


def test_unknown_ids_are_404_on_every_path(client: TestClient) -> None:
    assert len(EVERY_PATH_WITH_AN_ID) == 17
    for method, path in EVERY_PATH_WITH_AN_ID:
        for missing in (MISSING, "not-an-id"):
            body = {"name": "n", "version": "1", "kind": "dataset"} if method != "GET" else None
            response = client.request(method, V1 + path.format(id=missing), json=body)
            result = problem(response, 404, "not-found")
            assert missing in result["detail"], (method, path)
    assert counts(client) == dict.fromkeys(counts(client), 0)


def test_non_json_and_non_object_bodies_are_422(client: TestClient, run: dict) -> None:
    before = counts(client)
    url = f"{V1}/experiments/runs/{run['id']}/executions"
    broken = client.post(url, content=b"{name: train", headers={"content-type": "application/json"})
    error = problem(broken, 422, "validation")["errors"]
    assert error == [
        {
            "pointer": "/",
            "detail": "the body is not JSON: Expecting property name enclosed in double quotes",
        }
    ]
    not_object = problem(client.post(url, json=[{"name": "train"}]), 422, "validation")["errors"]
    assert not_object == [{"pointer": "/", "detail": "Input should be a valid dictionary"}]
    empty = problem(client.post(url), 422, "validation")["errors"]
    assert empty == [{"pointer": "/", "detail": "Field required"}]
    assert counts(client) == before


def test_a_huge_list_is_refused_before_anything_is_written(client: TestClient, run: dict) -> None:
    before = counts(client)
    huge = [
        {"name": f"d{i}", "version": "1", "kind": "dataset"} for i in range(limits.MAX_LIST + 1)
    ]
    response = client.post(
        f"{V1}/experiments/runs/{run['id']}/executions",
        json={"name": "t", "version": "1", "kind": "k", "inputArtifacts": huge},
    )
    body = problem(response, 422, "invalid-input")
    assert pointers(body) == ["/inputArtifacts"]
    assert str(limits.MAX_LIST) in body["errors"][0]["detail"]
    assert counts(client) == before


def test_put_refuses_another_id_and_another_executable(client: TestClient, run: dict) -> None:
    execution = add_execution(client, run)
    url = f"{V1}/experiments/runs/executions/{execution['id']}"
    other = problem(client.put(url, json={**execution, "id": MISSING}), 422, "invalid-input")
    assert pointers(other) == ["/id"]
    moved = problem(
        client.put(url, json={**execution, "executable": {"name": "other.py", "version": "1"}}),
        422,
        "invalid-input",
    )
    assert pointers(moved) == ["/executable"]
    assert counts(client)["executables"] == 1  # the executable the PUT named was not kept


def test_runs_and_executions_are_not_created_with_their_holder(
    client: TestClient, run: dict
) -> None:
    """Runs are added to an experiment, executions to a run, each through its own endpoint
    (thesis 7.2.1); listed in a create, they are refused, not dropped nor written unchecked."""
    before = counts(client)
    nested_run = {
        "name": "r",
        "version": "1",
        "executions": [{"name": "e\u0000", "version": "1", "kind": "k", "startTime": "never"}],
    }
    refused = client.post(
        f"{V1}/experiments", json={"name": "te2", "version": "1", "runs": [nested_run]}
    )
    body = problem(refused, 422, "invalid-input")
    assert pointers(body) == ["/runs"]
    assert "POST /v1/metadata/experiments/{experiment}/runs" in body["errors"][0]["detail"]
    runs_url = f"{V1}/experiments/{run_experiment(client, run)}/runs"
    nested_execution = {"name": "e", "version": "1", "kind": "k"}
    refused = client.post(
        runs_url, json={"name": "r", "version": "1", "executions": [nested_execution]}
    )
    body = problem(refused, 422, "invalid-input")
    assert pointers(body) == ["/executions"]
    assert "POST /v1/metadata/experiments/runs/{run}/executions" in body["errors"][0]["detail"]
    not_a_list = client.post(f"{V1}/experiments", json={"name": "e", "version": "1", "runs": {}})
    assert pointers(problem(not_a_list, 422, "invalid-input")) == ["/runs"]
    assert counts(client) == before
    # An empty list (what a created entity reads back with) holds nothing to drop.
    created = client.post(f"{V1}/experiments", json={"name": "e", "version": "1", "runs": []})
    assert created.status_code == 201, created.text
    created = client.post(runs_url, json={"name": "r", "version": "1", "executions": []})
    assert created.status_code == 201, created.text


def test_put_takes_back_the_runs_and_executions_it_read_and_refuses_others(
    client: TestClient, run: dict
) -> None:
    execution = add_execution(client, run)
    experiment_id = run_experiment(client, run)
    experiment_url = f"{V1}/experiments/{experiment_id}"
    run_url = f"{V1}/experiments/runs/{run['id']}"
    # A document read, changed and sent back: what it lists is the entity's own.
    read = client.get(experiment_url).json()
    assert [r["id"] for r in read["runs"]] == [run["id"]]
    changed = client.put(experiment_url, json={**read, "version": "2"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == "2"
    read = client.get(run_url).json()
    assert [e["id"] for e in read["executions"]] == [execution["id"]]
    changed = client.put(run_url, json={**read, "status": "SUCCESS"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "SUCCESS"

    other_run = client.post(
        f"{V1}/experiments/{experiment_id}/runs", json={"name": "other", "version": "1"}
    ).json()
    other_experiment = client.post(f"{V1}/experiments", json={"name": "x", "version": "1"}).json()
    before = counts(client)
    stored = client.get(experiment_url).json()
    new_run = {"name": "new", "version": "1", "createTime": "10000-01-01T00:00:00Z"}
    refused = client.put(experiment_url, json={"runs": [new_run, read, 3]})
    assert pointers(problem(refused, 422, "invalid-input")) == ["/runs/0", "/runs/2"]
    refused = client.put(experiment_url, json={"version": "3", "runs": [new_run, read]})
    assert pointers(problem(refused, 422, "invalid-input")) == ["/runs/0"]
    elsewhere = client.put(f"{V1}/experiments/{other_experiment['id']}", json={"runs": [read]})
    assert pointers(problem(elsewhere, 422, "invalid-input")) == ["/runs/0"]
    refused = client.put(
        run_url, json={"status": "FAILED", "executions": [execution, {"name": "n"}]}
    )
    assert pointers(problem(refused, 422, "invalid-input")) == ["/executions/1"]
    elsewhere = client.put(
        f"{V1}/experiments/runs/{other_run['id']}", json={"executions": [execution]}
    )
    assert pointers(problem(elsewhere, 422, "invalid-input")) == ["/executions/0"]
    assert counts(client) == before
    assert client.get(experiment_url).json() == stored
    assert client.get(run_url).json()["status"] == "SUCCESS"


OUT_OF_RANGE = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+00:01", "10000-01-01T00:00:00Z"]


@pytest.mark.parametrize("time", OUT_OF_RANGE)
def test_times_outside_the_years_1_to_9999_are_422_at_the_field(
    client: TestClient, run: dict, time: str
) -> None:
    execution = add_execution(client, run)
    experiment = run_experiment(client, run)
    writes = [
        ("POST", "/experiments", {"name": "e", "version": "1"}, "createTime"),
        ("PUT", f"/experiments/{experiment}", {}, "createTime"),
        ("POST", f"/experiments/{experiment}/runs", {"name": "r", "version": "1"}, "createTime"),
        ("PUT", f"/experiments/runs/{run['id']}", {}, "createTime"),
        (
            "POST",
            f"/experiments/runs/{run['id']}/executions",
            {"name": "e", "version": "1", "kind": "k"},
            "startTime",
        ),
        (
            "POST",
            f"/experiments/runs/{run['id']}/executions",
            {"name": "e", "version": "1", "kind": "k"},
            "endTime",
        ),
        ("PUT", f"/experiments/runs/executions/{execution['id']}", {}, "startTime"),
        ("PUT", f"/experiments/runs/executions/{execution['id']}", {}, "endTime"),
    ]
    before = counts(client)
    for method, path, body, field in writes:
        response = client.request(method, V1 + path, json={**body, field: time})
        assert response.status_code == 422, (method, path, field, response.text)
        assert pointers(problem(response, 422, "invalid-input")) == [f"/{field}"]
    assert counts(client) == before


def test_put_sends_back_create_time_but_does_not_change_it(client: TestClient, run: dict) -> None:
    experiment_url = f"{V1}/experiments/{run_experiment(client, run)}"
    run_url = f"{V1}/experiments/runs/{run['id']}"
    for url in (experiment_url, run_url):
        read = client.get(url).json()
        # The same time in another zone is the same time.
        created = datetime.fromisoformat(read["createTime"])
        elsewhere = created.astimezone(timezone(timedelta(hours=-5))).isoformat()
        same = client.put(url, json={**read, "createTime": elsewhere, "version": "9"})
        assert same.status_code == 200, same.text
        moved = client.put(url, json={**read, "createTime": "2019-09-25T15:39:01Z", "version": "8"})
        body = problem(moved, 422, "invalid-input")
        assert pointers(body) == ["/createTime"]
        assert read["createTime"] in body["errors"][0]["detail"]
        now = client.get(url).json()
        assert (now["createTime"], now["version"]) == (read["createTime"], "9")


def test_strict_kinds_refuse_unknown_kinds_on_the_thesis_api(
    client: TestClient, run: dict, metadata: Any
) -> None:
    metadata.strict_kinds = True
    try:
        before = counts(client)
        response = client.post(
            f"{V1}/experiments/runs/{run['id']}/executions",
            json={
                "name": "t",
                "version": "1",
                "kind": "k",
                "outputArtifacts": [
                    {"name": "v", "version": "1", "kind": "validation", "result": "valid"}
                ],
            },
        )
        assert pointers(problem(response, 422, "unknown-kind")) == ["/outputArtifacts/0/kind"]
        assert counts(client) == before
    finally:
        metadata.strict_kinds = False


def test_workflow_survives_successors_and_artifact_flow_that_disagree(
    client: TestClient, run: dict
) -> None:
    # B wrote y; A read y and names B as its successor: each relation alone is acyclic, together
    # they are a cycle. The later edge (B -> A by flow) gives way.
    b = add_execution(
        client,
        run,
        name="b",
        kind="b",
        startTime="2020-01-01T00:01:00Z",
        outputArtifacts=[{"name": "y", "version": "1", "kind": "dataset"}],
    )
    a = add_execution(
        client,
        run,
        name="a",
        kind="a",
        startTime="2020-01-01T00:00:00Z",
        inputArtifacts=[b["outputArtifacts"][0]],
        successors=[b],
    )
    response = client.get(f"{V1}/experiments/run/{run['id']}/workflow")
    assert response.status_code == 200, response.text
    root = response.json()["root"]
    assert root == {"nodeId": a["id"], "children": [{"nodeId": b["id"], "children": []}]}
    trace = client.get(f"{V1}/experiments/{run_experiment(client, run)}/trace").json()
    assert [t["name"] for t in trace["executionTypes"]] == ["a", "b"]


def test_plugins_see_the_thesis_apis_writes_as_the_projects(
    client: TestClient, run: dict, metadata: Metadata
) -> None:
    """An execution posted with its executable and artifacts embedded is four creates: each is
    enriched before it is stored and reported after the transaction committed; a write that
    fails reports nothing."""
    hooks = Recording()
    before = metadata.hooks
    metadata.hooks = hooks
    try:
        add_execution(
            client,
            run,
            executable={"name": "train.py", "version": "3", "uri": "git+https://x/p.git"},
            inputArtifacts=[{"name": "mnist", "version": "1", "kind": "dataset"}],
            outputArtifacts=[{"name": "cnn", "version": "1", "kind": "model"}],
        )
        created = {c[1] for c in hooks.calls if c[0] == "stored" and c[2] == "create"}
        assert created == {"executable", "artifact", "execution"}
        assert [c for c in hooks.calls if c[0] == "enrich" and c[1] == "artifact"] == [
            ("enrich", "artifact", "create")
        ] * 2
        exp = client.post(f"{V1}/experiments", json={"name": "enriched", "version": "1"}).json()
        assert exp["annotations"] == {"enriched": "yes"}
        hooks.calls.clear()
        bad = client.post(
            f"{V1}/experiments/runs/{run['id']}/executions",
            json={"name": "x", "version": "1", "kind": "k", "inputArtifacts": [{"name": ""}]},
        )
        assert bad.status_code == 422
        assert not [c for c in hooks.calls if c[0] == "stored"]
    finally:
        metadata.hooks = before


def test_an_output_that_is_also_an_input_points_at_the_artifact_sent(
    client: TestClient, run: dict
) -> None:
    step = add_execution(
        client, run, inputArtifacts=[{"name": "d", "version": "1", "kind": "dataset"}]
    )
    data = step["inputArtifacts"][0]
    response = client.post(f"{V1}/experiments/runs/executions/{step['id']}/artifacts", json=data)
    assert response.status_code == 422, response.text
    assert pointers(response.json()) == ["/"]
    now = client.get(f"{V1}/experiments/runs/executions/{step['id']}").json()
    assert now["outputArtifacts"] == []


# ---------------------------------------------------------------- the model kind's shapes

OLD_MODEL_SCHEMA = {
    "type": "object",
    "additionalProperties": True,
    "properties": {
        "type": {"type": "string"},
        "framework": {
            "type": "object",
            "properties": {"value1": {"type": "string"}, "value2": {"type": "string"}},
        },
        "hyperParameters": {"type": "object"},
        "inputSchema": {"type": "string"},
        "outputSchema": {"type": "string"},
    },
}


def test_a_models_framework_is_a_pair_only_in_the_thesis_api(
    client: TestClient, metadata: Metadata, run: dict[str, Any]
) -> None:
    """Natively a model has named fields and JSON; the thesis's clients still get its Pair and
    JSON text, both ways. A store made before keeps its data readable: the kind evolves."""
    from sqlalchemy import update

    from modeltrail.services.kinds import register_builtin_kinds
    from modeltrail.store.tables import KindRow

    # A store of the version before: the model kind had the Pair, and a model was stored so.
    def downgrade(session: Any) -> None:
        session.execute(
            update(KindRow).where(KindRow.name == "model").values(schema_=OLD_MODEL_SCHEMA)
        )

    metadata.call(downgrade)
    old = client.post(
        f"{API}/artifacts",
        json={
            "name": "legacy",
            "kind": "model",
            "attributes": {
                "framework": {"value1": "keras", "value2": "2.2"},
                "inputSchema": '{"shape": [28, 28]}',
            },
        },
    ).json()
    metadata.call(register_builtin_kinds)  # the next start
    kinds = client.get(f"{API}/kinds", params={"allVersions": True}).json()
    assert [k["version"] for k in kinds if k["name"] == "model"] == [1, 2]
    assert client.get(f"{API}/kinds/model").json()["version"] == 2
    stored = client.get(f"{API}/artifacts/{old['id']}")
    assert stored.status_code == 200 and stored.json()["attributes"] == old["attributes"]
    thesis_old = client.get(f"{V1}/experiments/runs/executions/artifacts/{old['id']}").json()
    assert thesis_old["framework"] == {"value1": "keras", "value2": "2.2"}
    assert thesis_old["inputSchema"] == '{"shape": [28, 28]}'
    # New data natively: named fields and real JSON, validated by the new version.
    native = client.post(
        f"{API}/artifacts",
        json={
            "name": "mlp",
            "kind": "model",
            "attributes": {
                "framework": {"name": "scikit-learn", "version": "1.9.1"},
                "inputSchema": {"n_features": 64},
            },
        },
    )
    assert native.status_code == 201, native.text
    assert native.json()["kindVersion"] == 2
    thesis = client.get(f"{V1}/experiments/runs/executions/artifacts/{native.json()['id']}").json()
    assert thesis["framework"] == {"value1": "scikit-learn", "value2": "1.9.1"}
    assert json.loads(thesis["inputSchema"]) == {"n_features": 64}
    # A thesis client's Pair and JSON text are stored natively as named fields and JSON.
    execution = add_execution(client, run)
    posted = client.post(
        f"{V1}/experiments/runs/executions/{execution['id']}/artifacts",
        json={
            "name": "cnn",
            "version": "1",
            "kind": "model",
            "framework": {"value1": "Tensorflow", "value2": "1.14"},
            "inputSchema": '{"shape": [28, 28, 1]}',
            "outputSchema": "ten classes",
        },
    )
    assert posted.status_code in (200, 201), posted.text
    assert posted.json()["framework"] == {"value1": "Tensorflow", "value2": "1.14"}
    cnn = client.get(f"{API}/artifacts/{posted.json()['id']}").json()["attributes"]
    assert cnn["framework"] == {"name": "Tensorflow", "version": "1.14"}
    assert cnn["inputSchema"] == {"shape": [28, 28, 1]} and cnn["outputSchema"] == "ten classes"
