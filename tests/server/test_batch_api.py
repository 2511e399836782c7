"""POST /api/v1/batch: a whole run in one request and one transaction, on both databases."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient
from tests.hooks import Recording

from modeltrail.domain import limits
from modeltrail.services.metadata import Metadata

API = "/api/v1"


def ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def whole_run() -> tuple[list[dict[str, Any]], dict[str, str]]:
    exp, run, exe, data, model, metric, step = ids(7)
    ops = [
        {"op": "create", "entity": "experiment", "id": exp, "body": {"name": "digits"}},
        {"op": "create", "entity": "run", "body": {"id": run, "experiment": exp, "name": "run 1"}},
        {
            "op": "create",
            "entity": "executable",
            "id": exe,
            "body": {"name": "train.py", "version": "3"},
        },
        {
            "op": "create",
            "entity": "artifact",
            "id": data,
            "body": {"name": "digits", "kind": "dataset", "attributes": {"type": "Blob"}},
        },
        {
            "op": "create",
            "entity": "artifact",
            "id": model,
            "body": {"name": "svm", "kind": "model", "attributes": {"type": "SVM"}},
        },
        {
            "op": "create",
            "entity": "artifact",
            "id": metric,
            "body": {
                "name": "accuracy",
                "kind": "metrics",
                "attributes": {"reference": model, "value": 0.97},
            },
        },
        {
            "op": "create",
            "entity": "execution",
            "id": step,
            "body": {
                "run": run,
                "executable": exe,
                "name": "train",
                "kind": "train",
                "inputArtifacts": [data],
                "outputArtifacts": [model, metric],
            },
        },
        {"op": "update", "entity": "run", "id": run, "body": {"status": "SUCCESS"}},
    ]
    return ops, {"experiment": exp, "run": run, "data": data, "model": model, "step": step}


def count(client: TestClient, plural: str) -> int:
    return client.get(f"{API}/{plural}", params={"count": True}).json()["total"]


def test_a_whole_run_is_stored_in_one_request_with_edges_between_its_own_entities(
    client: TestClient,
) -> None:
    ops, named = whole_run()
    response = client.post(f"{API}/batch", json={"operations": ops})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["created"] for r in results] == [True] * 7 + [False]
    assert results[1]["id"] == named["run"] and results[6]["id"] == named["step"]
    step = client.get(f"{API}/executions/{named['step']}").json()
    assert step["inputArtifacts"] == [named["data"]]
    assert step["outputArtifacts"][0] == named["model"]
    run = client.get(f"{API}/runs/{named['run']}").json()
    assert run["status"] == "SUCCESS" and run["revision"] == 2
    # The metric's reference attribute became a relation like it does on a single create.
    refs = client.get(
        f"{API}/artifacts", params={"filter": f"references:eq:{named['model']}"}
    ).json()
    assert [a["name"] for a in refs["items"]] == ["accuracy"]


def test_resending_a_batch_is_an_idempotent_retry(client: TestClient) -> None:
    ops, _ = whole_run()
    creates = ops[:-1]
    assert client.post(f"{API}/batch", json={"operations": creates}).status_code == 200
    again = client.post(f"{API}/batch", json={"operations": creates})
    assert again.status_code == 200
    assert not any(r["created"] for r in again.json()["results"])
    assert count(client, "artifacts") == 3


def test_a_failing_operation_stores_nothing_and_names_itself(client: TestClient) -> None:
    ops, named = whole_run()
    missing = str(uuid.uuid4())
    ops[6]["body"]["inputArtifacts"] = [named["data"], missing]
    response = client.post(f"{API}/batch", json={"operations": ops})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert [e["pointer"] for e in problem["errors"]] == ["/operations/6/body/inputArtifacts/1"]
    assert problem["operation"] == 6
    for plural in ("experiments", "runs", "executables", "artifacts", "executions"):
        assert count(client, plural) == 0, plural


def test_an_invalid_body_is_refused_before_anything_runs(client: TestClient) -> None:
    ops, _ = whole_run()
    ops[3]["body"] = {"name": "", "kind": "dataset", "colour": "red"}
    problem = client.post(f"{API}/batch", json={"operations": ops}).json()
    assert problem["status"] == 422
    assert {e["pointer"] for e in problem["errors"]} == {
        "/operations/3/body/name",
        "/operations/3/body/colour",
    }
    assert count(client, "experiments") == 0


def test_update_needs_an_id_and_an_unknown_one_is_not_found(client: TestClient) -> None:
    no_id = client.post(
        f"{API}/batch", json={"operations": [{"op": "update", "entity": "run", "body": {}}]}
    )
    assert no_id.status_code == 422
    assert no_id.json()["errors"][0]["pointer"] == "/operations/0/id"
    exp = str(uuid.uuid4())
    unknown = client.post(
        f"{API}/batch",
        json={
            "operations": [
                {"op": "create", "entity": "experiment", "id": exp, "body": {"name": "a"}},
                {
                    "op": "update",
                    "entity": "run",
                    "id": str(uuid.uuid4()),
                    "body": {"status": "FAILED"},
                },
            ]
        },
    )
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["pointer"] == "/operations/1"
    assert count(client, "experiments") == 0


def test_stale_if_match_in_a_batch_is_refused(client: TestClient) -> None:
    exp = client.post(f"{API}/experiments", json={"name": "a"}).json()
    ok = client.post(
        f"{API}/batch",
        json={
            "operations": [
                {
                    "op": "update",
                    "entity": "experiment",
                    "id": exp["id"],
                    "ifMatch": 1,
                    "body": {"name": "b"},
                }
            ]
        },
    )
    assert ok.status_code == 200
    stale = client.post(
        f"{API}/batch",
        json={
            "operations": [
                {
                    "op": "update",
                    "entity": "experiment",
                    "id": exp["id"],
                    "ifMatch": 1,
                    "body": {"name": "c"},
                }
            ]
        },
    )
    assert stale.status_code == 412
    assert client.get(f"{API}/experiments/{exp['id']}").json()["name"] == "b"


def test_bad_operations_and_too_many_are_refused_by_shape(client: TestClient) -> None:
    bad = client.post(
        f"{API}/batch", json={"operations": [{"op": "delete", "entity": "run", "body": {}}]}
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["pointer"] == "/operations/0/op"
    assert client.post(f"{API}/batch", json={"operations": []}).status_code == 422
    many = [{"op": "create", "entity": "experiment", "body": {"name": "x"}}] * (limits.MAX_LIST + 1)
    assert client.post(f"{API}/batch", json={"operations": many}).status_code == 422
    assert count(client, "experiments") == 0


def test_plugin_hooks_run_per_entity_and_stored_only_after_commit(
    client: TestClient, metadata: Metadata
) -> None:
    hooks = Recording()
    before = metadata.hooks
    metadata.hooks = hooks
    try:
        ops, named = whole_run()
        assert client.post(f"{API}/batch", json={"operations": ops}).status_code == 200
        enriched = [c for c in hooks.calls if c[0] == "enrich"]
        stored = [c for c in hooks.calls if c[0] == "stored"]
        assert [c[1] for c in enriched] == [op["entity"] for op in ops]
        assert [c[1:] for c in stored] == [(op["entity"], op["op"]) for op in ops]
        exp = client.get(f"{API}/experiments/{named['experiment']}").json()
        assert exp["annotations"] == {"enriched": "yes"}
        hooks.calls.clear()
        ops2, _ = whole_run()
        ops2[2]["body"]["name"] = ""
        assert client.post(f"{API}/batch", json={"operations": ops2}).status_code == 422
        assert not [c for c in hooks.calls if c[0] == "stored"]
    finally:
        metadata.hooks = before


def test_an_id_created_twice_in_one_batch_is_a_retry_or_a_conflict(client: TestClient) -> None:
    eid = str(uuid.uuid4())
    same = {"op": "create", "entity": "experiment", "id": eid, "body": {"name": "a"}}
    ok = client.post(f"{API}/batch", json={"operations": [same, same]})
    assert [r["created"] for r in ok.json()["results"]] == [True, False]
    other = {"op": "create", "entity": "experiment", "id": str(uuid.uuid4()), "body": {"name": "b"}}
    clash = {**other, "body": {"name": "c"}}
    conflict = client.post(f"{API}/batch", json={"operations": [other, clash]})
    assert conflict.status_code == 409
    assert conflict.json()["errors"][0]["pointer"] == "/operations/1/body/id"
    assert count(client, "experiments") == 1


def test_a_reference_to_an_entity_created_later_in_the_batch_is_refused(client: TestClient) -> None:
    ops, _ = whole_run()
    ops[3], ops[6] = ops[6], ops[3]  # the execution now comes before its input dataset
    problem = client.post(f"{API}/batch", json={"operations": ops}).json()
    assert problem["status"] == 422
    assert problem["errors"][0]["pointer"] == "/operations/3/body/inputArtifacts/0"


def test_a_cycle_through_artifacts_already_read_is_still_refused(client: TestClient) -> None:
    ops, named = whole_run()
    assert client.post(f"{API}/batch", json={"operations": ops}).status_code == 200
    # The model is read by nobody yet; make a step read it and write back the dataset the
    # training step read: model -> step -> dataset -> train -> model.
    step = {
        "op": "create",
        "entity": "execution",
        "body": {
            "run": named["run"],
            "executable": ops[2]["id"],
            "name": "loop",
            "kind": "x",
            "inputArtifacts": [named["model"]],
            "outputArtifacts": [named["data"]],
        },
    }
    response = client.post(f"{API}/batch", json={"operations": [step]})
    assert response.status_code == 422
    assert response.json()["type"].endswith("/cycle")
    assert response.json()["errors"][0]["pointer"] == "/operations/0/body/inputArtifacts"
    assert count(client, "executions") == 1


def stored_run(client: TestClient) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """``whole_run``, stored by one batch."""
    ops, named = whole_run()
    assert client.post(f"{API}/batch", json={"operations": ops}).status_code == 200
    return ops, named


def new_artifact(artifact_id: str) -> dict[str, Any]:
    return {
        "op": "create",
        "entity": "artifact",
        "id": artifact_id,
        "body": {"name": "r", "kind": "x"},
    }


def new_step(ops: list[dict[str, Any]], named: dict[str, str], execution_id: str) -> dict[str, Any]:
    """An execution of ``whole_run``'s run and executable."""
    body = {"run": named["run"], "executable": ops[2]["id"], "name": "s", "kind": "s"}
    return {"op": "create", "entity": "execution", "id": execution_id, "body": body}


def link(execution_id: str, **lists: list[str]) -> dict[str, Any]:
    return {"op": "link", "entity": "execution", "id": execution_id, "body": lists}


def test_a_link_attaches_to_an_execution_as_its_attach_endpoints_do(client: TestClient) -> None:
    ops, named = stored_run(client)
    report, check = ids(2)
    later = [
        new_artifact(report),
        new_step(ops, named, check),
        link(named["step"], outputArtifacts=[report, named["model"]], successors=[check]),
    ]
    response = client.post(f"{API}/batch", json={"operations": later})
    assert response.status_code == 200, response.text
    assert response.json()["results"][2] == {"id": named["step"], "created": False}
    step = client.get(f"{API}/executions/{named['step']}").json()
    # What it had is kept, once; what the link names is added after it.
    assert step["outputArtifacts"] == [named["model"], ops[5]["id"], report]
    assert step["successors"] == [check]
    assert step["inputArtifacts"] == [named["data"]]


@pytest.mark.parametrize(
    ("operation", "pointer"),
    [
        ({"entity": "run", "body": {"successors": []}}, "/operations/1/entity"),
        ({"entity": "execution", "body": {}}, "/operations/1/body"),
        ({"entity": "execution", "body": {"inputs": []}}, "/operations/1/body/inputs"),
        ({"entity": "execution", "body": {"successors": ["x"]}}, "/operations/1/body/successors/0"),
    ],
)
def test_a_link_of_the_wrong_shape_is_refused_before_anything_runs(
    client: TestClient, operation: dict[str, Any], pointer: str
) -> None:
    ops, named = whole_run()
    wrong = {"op": "link", "id": named["step"], **operation}
    problem = client.post(f"{API}/batch", json={"operations": [ops[0], wrong]}).json()
    assert problem["status"] == 422
    assert [e["pointer"] for e in problem["errors"]] == [pointer]
    assert count(client, "experiments") == 0


def test_a_link_that_fails_names_the_id_it_sent_and_stores_nothing(client: TestClient) -> None:
    _, named = stored_run(client)
    report, missing = ids(2)
    later = [new_artifact(report), link(named["step"], inputArtifacts=[report, missing])]
    problem = client.post(f"{API}/batch", json={"operations": later}).json()
    assert problem["status"] == 422 and problem["operation"] == 1
    assert [e["pointer"] for e in problem["errors"]] == ["/operations/1/body/inputArtifacts/1"]
    assert client.get(f"{API}/artifacts/{report}").status_code == 404
    # A successor that closes a cycle is refused like on the attach endpoint.
    cycle = [link(named["step"], successors=[named["step"]])]
    problem = client.post(f"{API}/batch", json={"operations": cycle}).json()
    assert problem["status"] == 422
    assert problem["errors"][0]["pointer"].startswith("/operations/0/body/successors")
    unknown = [link(missing, successors=[named["step"]])]
    assert client.post(f"{API}/batch", json={"operations": unknown}).status_code == 404


def test_links_between_executions_of_one_batch_count_revisions_and_refuse_cycles(
    client: TestClient,
) -> None:
    ops, named = stored_run(client)
    first, second = ids(2)
    stored = named["step"]
    later = [
        {"op": "update", "entity": "execution", "id": stored, "body": {"name": "trained"}},
        new_step(ops, named, first),
        new_step(ops, named, second),
        link(stored, successors=[first]),
        link(first, successors=[second]),
        link(first, successors=[second]),  # again: nothing changes
        {"op": "update", "entity": "execution", "id": stored, "ifMatch": 3, "body": {"uri": "u"}},
    ]
    response = client.post(f"{API}/batch", json={"operations": later})
    assert response.status_code == 200, response.text
    executions = {e: client.get(f"{API}/executions/{e}").json() for e in (stored, first, second)}
    assert executions[stored]["successors"] == [first]
    assert executions[stored]["revision"] == 4 and executions[stored]["uri"] == "u"
    assert executions[first]["successors"] == [second] and executions[first]["revision"] == 2
    assert executions[second]["successors"] == [] and executions[second]["revision"] == 1
    # A link back to an execution that already leads here closes a cycle: refused, as ever.
    back = client.post(f"{API}/batch", json={"operations": [link(second, successors=[stored])]})
    assert back.json()["status"] == 422 and back.json()["type"].endswith("/cycle")
    a, b = ids(2)
    loop = [
        new_step(ops, named, a),
        new_step(ops, named, b),
        link(a, successors=[b]),
        link(b, successors=[a]),
    ]
    problem = client.post(f"{API}/batch", json={"operations": loop}).json()
    assert problem["status"] == 422 and problem["operation"] == 3
    assert client.get(f"{API}/executions/{a}").status_code == 404


CHECK_SCHEMA = {
    "type": "object",
    "properties": {
        "split": {"enum": ["train", "test"]},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "limits": {
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "additionalProperties": False,
        },
        "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "owner": {"type": "string", "format": "email"},
    },
    "required": ["split"],
}


@pytest.mark.parametrize(
    ("attributes", "pointer"),
    [
        ({"split": "test", "score": 0.5, "limits": {"n": 3}, "code": "ABC"}, None),
        ({"score": 0.5}, "/attributes"),
        ({"split": "holdout"}, "/attributes/split"),
        ({"split": "test", "score": 1.5}, "/attributes/score"),
        ({"split": "test", "limits": {"n": 1.5}}, "/attributes/limits/n"),
        ({"split": "test", "limits": {"m": 1}}, "/attributes/limits"),
        ({"split": "test", "code": "abc"}, "/attributes/code"),
        ({"split": "test", "owner": "not an address"}, "/attributes/owner"),
    ],
)
def test_a_batch_checks_kind_attributes_as_a_single_create_does(
    client: TestClient, attributes: dict[str, Any], pointer: str | None
) -> None:
    """Batches check attributes on a fast path: it must accept and refuse exactly what the
    single create does, regular expressions and formats included."""
    assert client.post(f"{API}/kinds", json={"name": "check", "schema": CHECK_SCHEMA}).is_success
    body = {"name": "c", "kind": "check", "attributes": attributes}
    single = client.post(f"{API}/artifacts", json=body)
    batch = client.post(
        f"{API}/batch", json={"operations": [{"op": "create", "entity": "artifact", "body": body}]}
    )
    if pointer is None:
        assert (single.status_code, batch.status_code) == (201, 200), batch.text
        return
    assert (single.status_code, batch.status_code) == (422, 422), batch.text
    assert [e["pointer"] for e in single.json()["errors"]] == [pointer]
    assert [e["pointer"] for e in batch.json()["errors"]] == ["/operations/0/body" + pointer]
