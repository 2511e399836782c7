"""The project's own API: create, read, update, delete, list on both databases."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from modeltrail.services.metadata import Metadata

API = "/api/v1"


def make_run(client: TestClient) -> dict:
    exp = client.post(f"{API}/experiments", json={"name": "handwriting"}).json()
    return client.post(f"{API}/runs", json={"experiment": exp["id"], "name": "run 1"}).json()


def make_artifact(client: TestClient, **body) -> dict:
    body.setdefault("name", "mnist")
    body.setdefault("kind", "dataset")
    response = client.post(f"{API}/artifacts", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_read_round_trip_in_camel_case(client: TestClient) -> None:
    created = client.post(
        f"{API}/experiments",
        json={"name": "handwriting", "version": "v1", "annotations": {"team": "ml"}},
    )
    assert created.status_code == 201
    body = created.json()
    assert created.headers["ETag"] == '"1"'
    assert created.headers["Location"] == f"{API}/experiments/{body['id']}"
    assert set(body) >= {"id", "name", "version", "createTime", "annotations"}
    read = client.get(f"{API}/experiments/{body['id']}").json()
    assert read == body


def test_retried_create_with_same_id_is_idempotent_and_different_content_conflicts(
    client: TestClient,
) -> None:
    eid = str(uuid.uuid4())
    first = client.post(f"{API}/experiments", json={"id": eid, "name": "a"})
    again = client.post(f"{API}/experiments", json={"id": eid, "name": "a"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert client.get(f"{API}/experiments", params={"count": True}).json()["total"] == 1
    other = client.post(f"{API}/experiments", json={"id": eid, "name": "b"})
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"


def test_a_retried_create_of_a_finished_run_or_step_without_an_end_time_is_the_same(
    client: TestClient,
) -> None:
    """The server gives a finished run or step that was sent without an end time the time of
    its creation; a retry that again sends none is the same create, not a conflict."""
    experiment = client.post(f"{API}/experiments", json={"name": "a"}).json()["id"]
    exe = client.post(f"{API}/executables", json={"name": "train.py"}).json()["id"]
    run = {"id": str(uuid.uuid4()), "experiment": experiment, "name": "r", "status": "SUCCESS"}
    step = {"id": str(uuid.uuid4()), "run": run["id"], "executable": exe, "name": "s",
            "kind": "train", "status": "FAILED"}  # fmt: skip
    for path, body in (("runs", run), ("executions", step)):
        first = client.post(f"{API}/{path}", json=body)
        again = client.post(f"{API}/{path}", json=body)
        assert (first.status_code, again.status_code) == (201, 200), again.text
        assert again.json()["endTime"] == first.json()["endTime"] is not None
        other = client.post(f"{API}/{path}", json={**body, "endTime": "2020-01-01T00:00:00Z"})
        assert other.status_code == 409, path


def test_patch_with_stale_if_match_is_refused(client: TestClient) -> None:
    exp = client.post(f"{API}/experiments", json={"name": "a"}).json()
    ok = client.patch(
        f"{API}/experiments/{exp['id']}", json={"name": "b"}, headers={"If-Match": '"1"'}
    )
    assert ok.status_code == 200 and ok.headers["ETag"] == '"2"'
    stale = client.patch(
        f"{API}/experiments/{exp['id']}", json={"name": "c"}, headers={"If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert client.get(f"{API}/experiments/{exp['id']}").json()["name"] == "b"


def test_unknown_field_and_wrong_types_name_every_field(client: TestClient) -> None:
    response = client.post(
        f"{API}/runs", json={"name": "", "experiment": "not-a-uuid", "status": "DONE", "x": 1}
    )
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert pointers == {"/name", "/experiment", "/status", "/x"}


def test_dangling_references_are_refused_and_nothing_is_written(client: TestClient) -> None:
    run = make_run(client)
    exe = client.post(f"{API}/executables", json={"name": "train.py"}).json()
    missing = str(uuid.uuid4())
    response = client.post(
        f"{API}/executions",
        json={
            "run": run["id"],
            "executable": exe["id"],
            "name": "train",
            "kind": "train",
            "inputArtifacts": [missing],
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/inputArtifacts/0"
    assert client.get(f"{API}/executions", params={"count": True}).json()["total"] == 0


def test_kind_attributes_are_validated_with_a_pointer_per_failure(client: TestClient) -> None:
    response = client.post(
        f"{API}/artifacts",
        json={
            "name": "cnn",
            "kind": "model",
            "attributes": {"framework": "tf", "hyperParameters": [1]},
        },
    )
    assert response.status_code == 422
    body = response.json()
    assert body["type"].endswith("/invalid-kind-attributes")
    assert {e["pointer"] for e in body["errors"]} == {
        "/attributes/framework",
        "/attributes/hyperParameters",
    }


def test_unknown_kind_is_registered_open(client: TestClient) -> None:
    art = make_artifact(client, kind="validation", attributes={"result": "valid"})
    assert art["kindVersion"] == 1
    kind = client.get(f"{API}/kinds/validation").json()
    assert kind["open"] is True


def test_kind_evolution_accepts_optional_additions_and_refuses_breaking_changes(
    client: TestClient,
) -> None:
    v1 = {
        "name": "validation",
        "schema": {
            "type": "object",
            "properties": {"result": {"enum": ["valid", "failed"]}},
            "required": ["result"],
        },
    }
    assert client.post(f"{API}/kinds", json=v1).status_code == 201
    assert client.post(f"{API}/kinds", json=v1).status_code == 200  # same schema: no new version
    v2 = {
        "name": "validation",
        "schema": {
            "type": "object",
            "properties": {
                "result": {"enum": ["valid", "failed"]},
                "history": {"type": "array", "items": {"type": "number"}},
            },
            "required": ["result"],
        },
    }
    assert client.post(f"{API}/kinds", json=v2).json()["version"] == 2
    breaking = {
        "name": "validation",
        "schema": {
            "type": "object",
            "properties": {"result": {"enum": ["valid"]}},
            "required": ["result", "history"],
        },
    }
    refused = client.post(f"{API}/kinds", json=breaking)
    assert refused.status_code == 422
    assert "register it under a new name" in refused.json()["detail"]
    bad = client.post(
        f"{API}/artifacts",
        json={"name": "v", "kind": "validation", "attributes": {"result": "maybe"}},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/attributes/result"
    good = make_artifact(
        client, name="v", kind="validation", attributes={"result": "failed", "history": [0.9]}
    )
    assert good["kindVersion"] == 2


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ("hyperParameters.learning-rate:eq:0.001", {"a"}),
        ("attributes.hyperParameters.learning-rate:lt:0.01", {"a"}),
        ("attributes.hyperParameters.learning-rate:ge:0.001", {"a", "b"}),
        ("name:in:a,c", {"a", "c"}),
        ("name:ne:a", {"b", "c"}),
        ("annotations.owner:eq:alice", {"b"}),
        ("uri:prefix:s3://bucket/", {"a", "b"}),
        ("name:contains:B", {"b"}),
        ("kind:eq:dataset", {"c"}),
    ],
)
def test_filters(client: TestClient, flt: str, expected: set[str]) -> None:
    make_artifact(
        client,
        name="a",
        kind="model",
        uri="s3://bucket/a",
        attributes={"hyperParameters": {"learning-rate": "0.001"}},
    )
    make_artifact(
        client,
        name="b",
        kind="model",
        uri="s3://bucket/b",
        annotations={"owner": "alice"},
        attributes={"hyperParameters": {"learning-rate": 0.01}},
    )
    make_artifact(client, name="c", kind="dataset", uri="file:///c")
    page = client.get(f"{API}/artifacts", params={"filter": flt})
    assert page.status_code == 200, page.text
    assert {a["name"] for a in page.json()["items"]} == expected


def test_cursor_pagination_visits_every_item_once_in_order(client: TestClient) -> None:
    for i in range(25):
        make_artifact(
            client, name=f"d{i:02d}", attributes={"type": "Blob"}, annotations={"n": str(i % 4)}
        )
    for sort in ("name", "-name", "annotations.n", "-createTime"):
        seen, cursor = [], None
        while True:
            page = client.get(
                f"{API}/artifacts",
                params={"sort": sort, "limit": 7, **({"cursor": cursor} if cursor else {})},
            ).json()
            seen += [a["name"] for a in page["items"]]
            cursor = page["nextCursor"]
            if not cursor:
                break
        assert sorted(seen) == [f"d{i:02d}" for i in range(25)], sort
    names = [
        a["name"]
        for a in client.get(f"{API}/artifacts", params={"sort": "-name", "limit": 3}).json()[
            "items"
        ]
    ]
    assert names == ["d24", "d23", "d22"]


def test_bad_filter_is_a_precise_problem(client: TestClient) -> None:
    for flt, needle in (
        ("name", "FIELD:OP:VALUE"),
        ("name:like:x", "unknown operator"),
        ("nosuch:eq:1", "unknown field"),
        ("createTime:gt:yesterday", "not a valid"),
    ):
        response = client.get(f"{API}/runs", params={"filter": flt})
        assert response.status_code == 422, flt
        assert needle in response.json()["detail"], response.json()


def test_delete_refuses_while_lineage_depends_and_lists_referrers(client: TestClient) -> None:
    run = make_run(client)
    exe = client.post(f"{API}/executables", json={"name": "prepare.py"}).json()
    data = make_artifact(client)
    execution = client.post(
        f"{API}/executions",
        json={
            "run": run["id"],
            "executable": exe["id"],
            "name": "prepare",
            "kind": "transformation",
            "inputArtifacts": [data["id"]],
        },
    ).json()
    refused = client.delete(f"{API}/artifacts/{data['id']}")
    assert refused.status_code == 409
    assert refused.json()["referrers"]["consumedBy"] == [execution["id"]]
    assert client.delete(f"{API}/executions/{execution['id']}").status_code == 204
    assert client.delete(f"{API}/artifacts/{data['id']}").status_code == 204
    assert client.get(f"{API}/artifacts/{data['id']}").status_code == 404


def test_successor_cycles_are_refused(client: TestClient) -> None:
    run = make_run(client)
    exe = client.post(f"{API}/executables", json={"name": "step"}).json()
    base = {"run": run["id"], "executable": exe["id"], "kind": "t"}
    a = client.post(f"{API}/executions", json={**base, "name": "a"}).json()
    b = client.post(f"{API}/executions", json={**base, "name": "b", "successors": [a["id"]]}).json()
    response = client.post(f"{API}/executions/{a['id']}/successors", json={"executions": [b["id"]]})
    assert response.status_code == 422
    assert response.json()["type"].endswith("/cycle")
    assert response.json()["errors"][0]["pointer"].startswith("/executions")


def test_attach_errors_point_into_what_was_sent(client: TestClient) -> None:
    run = make_run(client)
    exe = client.post(f"{API}/executables", json={"name": "step"}).json()
    data = make_artifact(client, uri="s3://a")
    other = make_artifact(client, uri="s3://b")
    step = client.post(
        f"{API}/executions",
        json={
            "run": run["id"],
            "executable": exe["id"],
            "kind": "t",
            "name": "s",
            "inputArtifacts": [data["id"]],
        },
    ).json()
    missing = str(uuid.uuid4())
    response = client.post(
        f"{API}/executions/{step['id']}/inputs", json={"artifacts": [other["id"], missing]}
    )
    assert response.status_code == 422, response.text
    assert [e["pointer"] for e in response.json()["errors"]] == ["/artifacts/1"]
    response = client.post(
        f"{API}/executions/{step['id']}/outputs", json={"artifacts": [data["id"]]}
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["pointer"] in ("/artifacts", "/artifacts/0")
    assert client.get(f"{API}/executions/{step['id']}").json()["inputArtifacts"] == [data["id"]]


def test_execution_fingerprint_is_equal_for_same_work(client: TestClient) -> None:
    run = make_run(client)
    exe = client.post(f"{API}/executables", json={"name": "train.py", "version": "2"}).json()
    data1 = make_artifact(client, uri="s3://mnist")
    data2 = make_artifact(client, uri="s3://mnist")  # equal content, another id
    assert data1["fingerprint"] == data2["fingerprint"]
    base = {
        "run": run["id"],
        "executable": exe["id"],
        "name": "train",
        "kind": "train",
        "configuration": {"lr": 0.1},
    }
    e1 = client.post(f"{API}/executions", json={**base, "inputArtifacts": [data1["id"]]}).json()
    e2 = client.post(f"{API}/executions", json={**base, "inputArtifacts": [data2["id"]]}).json()
    e3 = client.post(
        f"{API}/executions",
        json={**base, "configuration": {"lr": 0.2}, "inputArtifacts": [data1["id"]]},
    ).json()
    assert e1["fingerprint"] == e2["fingerprint"] != e3["fingerprint"]


def test_a_trigger_is_not_part_of_the_work_in_any_write_path(client: TestClient) -> None:
    """Two equal triggers are two events, and neither is part of what a step computed: the
    single create, the batch path and the cache lookup agree."""
    run = make_run(client)
    exe = client.post(f"{API}/executables", json={"name": "train.py", "version": "2"}).json()
    data = make_artifact(client, uri="s3://mnist")
    manual = [make_artifact(client, name="manual", kind="event", attributes={"cause": "manual"})]
    manual.append(
        make_artifact(client, name="manual", kind="event", attributes={"cause": "manual"})
    )
    assert manual[0]["fingerprint"] != manual[1]["fingerprint"]
    base = {"run": run["id"], "executable": exe["id"], "name": "train", "kind": "train"}
    plain = client.post(f"{API}/executions", json={**base, "inputArtifacts": [data["id"]]})
    first = client.post(
        f"{API}/executions", json={**base, "inputArtifacts": [manual[0]["id"], data["id"]]}
    ).json()
    step, event = str(uuid.uuid4()), str(uuid.uuid4())
    batch = client.post(
        f"{API}/batch",
        json={
            "operations": [
                {
                    "op": "create",
                    "entity": "artifact",
                    "id": event,
                    "body": {"name": "manual", "kind": "event", "attributes": {"cause": "manual"}},
                },
                {
                    "op": "create",
                    "entity": "execution",
                    "id": step,
                    "body": {**base, "inputArtifacts": [event, data["id"]]},
                },
            ]
        },
    )
    assert batch.status_code == 200, batch.text
    batched = client.get(f"{API}/executions/{step}").json()
    stored_event = client.get(f"{API}/artifacts/{event}").json()
    assert stored_event["fingerprint"] not in {m["fingerprint"] for m in manual}
    assert plain.json()["fingerprint"] == first["fingerprint"] == batched["fingerprint"]
    assert client.patch(f"{API}/executions/{first['id']}", json={"status": "SUCCESS"}).is_success
    hit = client.post(
        f"{API}/cache/lookup",
        json={
            "executable": {"name": "train.py", "version": "2"},
            "kind": "train",
            "inputArtifacts": [manual[1]["id"], data["id"]],
        },
    )
    assert hit.status_code == 200, hit.text
    assert hit.json()["execution"]["id"] == first["id"]


def test_an_execution_update_changes_the_fingerprint_only_with_what_it_is_made_of(
    client: TestClient,
) -> None:
    run = make_run(client)
    exe = client.post(f"{API}/executables", json={"name": "train.py", "version": "2"}).json()
    data, more = make_artifact(client, uri="s3://mnist"), make_artifact(client, uri="s3://emnist")
    other = make_artifact(client, uri="s3://model")
    base = {"run": run["id"], "executable": exe["id"], "name": "train", "kind": "train"}
    step = client.post(
        f"{API}/executions", json={**base, "configuration": {"lr": 0.1}, "status": "RUNNING"}
    ).json()

    def changed(body: dict) -> str:
        response = client.patch(f"{API}/executions/{step['id']}", json=body)
        assert response.status_code == 200, response.text
        return response.json()["fingerprint"]

    def fresh(**body: object) -> str:
        created = client.post(f"{API}/executions", json={**base, **body})
        assert created.status_code == 201, created.text
        return created.json()["fingerprint"]

    # A step's end (its status, outputs, annotations) is the same work.
    assert changed({"status": "SUCCESS", "outputArtifacts": [other["id"]]}) == step["fingerprint"]
    # Its inputs and its configuration are what the work is: as if created with them.
    with_input = changed({"inputArtifacts": [data["id"]]})
    assert with_input == fresh(configuration={"lr": 0.1}, inputArtifacts=[data["id"]])
    assert with_input != step["fingerprint"]
    assert changed({"configuration": {"lr": 0.2}}) == fresh(
        configuration={"lr": 0.2}, inputArtifacts=[data["id"]]
    )
    linked = client.post(f"{API}/executions/{step['id']}/inputs", json={"artifacts": [more["id"]]})
    assert linked.status_code == 200, linked.text
    assert linked.json()["fingerprint"] == fresh(
        configuration={"lr": 0.2}, inputArtifacts=[data["id"], more["id"]]
    )


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    ops = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ops) == len(set(ops))


def _pages(client: TestClient, params: dict) -> list[dict]:
    items, cursor = [], None
    while True:
        page = client.get(
            f"{API}/artifacts", params={**params, **({"cursor": cursor} if cursor else {})}
        ).json()
        items += page["items"]
        cursor = page["nextCursor"]
        if not cursor:
            return items


def test_an_indexed_attribute_lists_sorted_off_its_index(
    client: TestClient, metadata: Metadata
) -> None:
    schema = {
        "type": "object",
        "properties": {"split": {"type": "string"}, "score": {"type": "number", "x-index": True}},
    }
    assert client.post(f"{API}/kinds", json={"name": "check", "schema": schema}).status_code == 201
    scores = [0.5, 0.1, None, 0.9, 0.5, 0.3, None, 0.7, 0.5, 0.2] * 2
    for i, score in enumerate(scores):
        attributes = {"split": "test" if i % 3 else "train"}
        if score is not None:
            attributes["score"] = score
        make_artifact(client, name=f"c{i:02d}", kind="check", attributes=attributes)
    make_artifact(client, name="other", kind="dataset", attributes={"score": 2})

    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if "ORDER BY" in statement and "artifacts" in statement:
            captured.append((statement, parameters))

    engines = {metadata.db.engine, metadata.db.read_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", capture)
    try:
        for sort in ("-score", "score"):
            params = {"filter": ["kind:eq:check", "split:eq:test"], "sort": sort, "limit": 4}
            listed = [a["attributes"].get("score") for a in _pages(client, params)]
            present = sorted(
                (s for i, s in enumerate(scores) if i % 3 and s is not None),
                reverse=sort.startswith("-"),
            )
            nulls = [None] * sum(1 for i, s in enumerate(scores) if i % 3 and s is None)
            assert listed == (present + nulls if sort.startswith("-") else nulls + present)
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", capture)

    if metadata.db.dialect == "sqlite":
        statement, parameters = captured[0]
        with metadata.db.read_engine.connect() as conn:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        steps = " / ".join(str(row[-1]) for row in plan)
        assert "ix_artifacts_attribute_" in steps, steps
        assert "TEMP B-TREE" not in steps, steps  # no sort: the index gives the order


# ---------------------------------------------------------------- how runs and steps end


def test_a_finished_run_or_execution_stays_finished(client: TestClient) -> None:
    run = make_run(client)
    assert run["status"] == "RUNNING" and run["endTime"] is None
    exe = client.post(f"{API}/executables", json={"name": "train.py"}).json()
    step = client.post(
        f"{API}/executions",
        json={"run": run["id"], "executable": exe["id"], "name": "train", "kind": "train"},
    ).json()
    for plural, entity in (("runs", run), ("executions", step)):
        url = f"{API}/{plural}/{entity['id']}"
        # A running one has no end time.
        early = client.patch(url, json={"endTime": "2026-01-01T00:00:00Z"})
        assert early.status_code == 422 and early.json()["errors"][0]["pointer"] == "/endTime"
        # Ending sets the end time when none is sent.
        ended = client.patch(url, json={"status": "SUCCESS"})
        assert ended.status_code == 200, ended.text
        assert ended.json()["endTime"] is not None
        # Final: neither running again nor failed, and the answer names the transition.
        for status in ("RUNNING", "FAILED"):
            refused = client.patch(url, json={"status": status})
            assert refused.status_code == 409, refused.text
            assert f"SUCCESS -> {status}" in refused.json()["detail"]
            assert refused.json()["errors"][0]["pointer"] == "/status"
        cleared = client.patch(url, json={"endTime": None})
        assert cleared.status_code == 422
        same = client.patch(url, json={"status": "SUCCESS"})  # a retried end changes nothing
        assert same.status_code == 200
        stored = client.get(url).json()
        assert stored["status"] == "SUCCESS" and stored["endTime"] == ended.json()["endTime"]
    # Created finished: it has an end time; created running with one: refused.
    done = client.post(
        f"{API}/runs", json={"experiment": run["experiment"], "name": "r", "status": "FAILED"}
    )
    assert done.status_code == 201 and done.json()["endTime"] is not None
    odd = client.post(
        f"{API}/runs",
        json={"experiment": run["experiment"], "name": "r", "endTime": "2026-01-01T00:00:00Z"},
    )
    assert odd.status_code == 422 and odd.json()["errors"][0]["pointer"] == "/endTime"


def test_a_finished_run_stays_finished_through_the_batch_and_the_thesis_api(
    client: TestClient,
) -> None:
    run = make_run(client)
    exe = client.post(f"{API}/executables", json={"name": "train.py"}).json()
    step = str(uuid.uuid4())
    batch = client.post(
        f"{API}/batch",
        json={
            "operations": [
                {
                    "op": "create",
                    "entity": "execution",
                    "id": step,
                    "body": {
                        "run": run["id"],
                        "executable": exe["id"],
                        "name": "t",
                        "kind": "train",
                        "status": "SUCCESS",
                    },
                },
                {"op": "update", "entity": "run", "id": run["id"], "body": {"status": "FAILED"}},
            ]
        },
    )
    assert batch.status_code == 200, batch.text
    assert client.get(f"{API}/executions/{step}").json()["endTime"] is not None
    assert client.get(f"{API}/runs/{run['id']}").json()["endTime"] is not None
    again = client.post(
        f"{API}/batch",
        json={
            "operations": [
                {"op": "update", "entity": "run", "id": run["id"], "body": {"status": "RUNNING"}}
            ]
        },
    )
    assert again.status_code == 409 and "FAILED -> RUNNING" in again.json()["detail"]
    thesis_run = client.get(f"/v1/metadata/experiments/runs/{run['id']}").json()
    put = client.put(
        f"/v1/metadata/experiments/runs/{run['id']}", json={**thesis_run, "status": "RUNNING"}
    )
    assert put.status_code == 409 and "FAILED -> RUNNING" in put.json()["detail"]
    thesis_step = client.get(f"/v1/metadata/experiments/runs/executions/{step}").json()
    put = client.put(
        f"/v1/metadata/experiments/runs/executions/{step}",
        json={**thesis_step, "status": "RUNNING"},
    )
    assert put.status_code == 409 and "SUCCESS -> RUNNING" in put.json()["detail"]
    assert client.get(f"{API}/runs/{run['id']}").json()["status"] == "FAILED"
