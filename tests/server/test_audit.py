"""The audit trail: every entity says which token created it and which changed it last, the
access log names each request's token, and tokens expire and rotate.

On SQLite and PostgreSQL, through every write path a client has: single writes, the batch
(its bulk inserts and its ordinary path), the thesis's API, and an export taken back in.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from conftest import ADMIN
from modeltrail.server.auth import TOKEN_CACHE_SECONDS
from modeltrail.services.metadata import Metadata
from modeltrail.store import portability
from modeltrail.store.tables import ApiTokenRow, utcnow

API = "/api/v1"
V1 = "/v1/metadata"
ENTITIES = ("experiments", "executables", "pipelines", "runs", "executions", "artifacts")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Token:
    def __init__(self, c: TestClient, name: str, **body: Any) -> None:
        response = c.post(
            f"{API}/tokens", json={"name": name, "role": "writer", **body}, headers=bearer(ADMIN)
        )
        assert response.status_code == 201, response.text
        created = response.json()
        self.id, self.name, self.secret = created["id"], name, created["token"]
        self.headers = bearer(self.secret)

    @property
    def actor(self) -> dict[str, str]:
        return {"name": self.name, "id": self.id}


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


def make_one_of_each(c: TestClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    exp = ok(c.post(f"{API}/experiments", json={"name": "e"}, headers=headers), 201)
    exe = ok(c.post(f"{API}/executables", json={"name": "train"}, headers=headers), 201)
    pipe = ok(
        c.post(f"{API}/pipelines", json={"name": "p", "executables": [exe["id"]]}, headers=headers),
        201,
    )
    run = ok(
        c.post(
            f"{API}/runs",
            json={"experiment": exp["id"], "name": "r", "pipeline": pipe["id"]},
            headers=headers,
        ),
        201,
    )
    art = ok(
        c.post(
            f"{API}/artifacts",
            json={"name": "d", "kind": "dataset", "uri": "s3://d"},
            headers=headers,
        ),
        201,
    )
    execution = ok(
        c.post(
            f"{API}/executions",
            json={"run": run["id"], "executable": exe["id"], "name": "s", "kind": "train"},
            headers=headers,
        ),
        201,
    )
    return {
        "experiments": exp,
        "executables": exe,
        "pipelines": pipe,
        "runs": run,
        "artifacts": art,
        "executions": execution,
    }


def test_every_entity_records_who_created_it_and_who_changed_it_last(
    secured: TestClient,
) -> None:
    ci, ops = Token(secured, "ci"), Token(secured, "ops")
    made = make_one_of_each(secured, ci.headers)
    for plural, entity in made.items():
        read = ok(secured.get(f"{API}/{plural}/{entity['id']}", headers=ops.headers))
        assert read["createdBy"] == ci.actor and read["updatedBy"] == ci.actor, plural
        assert entity["createdBy"] == ci.actor, plural  # the create's own answer says so too
    changes = {
        "experiments": {"annotations": {"by": "ops"}},
        "executables": {"description": "changed"},
        "pipelines": {"uri": "git://p"},
        "runs": {"status": "SUCCESS"},
        "artifacts": {"description": "changed"},
        "executions": {"status": "SUCCESS"},
    }
    for plural, body in changes.items():
        changed = ok(
            secured.patch(f"{API}/{plural}/{made[plural]['id']}", json=body, headers=ops.headers)
        )
        assert changed["updatedBy"] == ops.actor, plural
        read = ok(secured.get(f"{API}/{plural}/{made[plural]['id']}", headers=ci.headers))
        assert (read["createdBy"], read["updatedBy"]) == (ci.actor, ops.actor), plural
    # A PATCH that changes nothing is no change: the last writer stays on record.
    ok(
        secured.patch(
            f"{API}/runs/{made['runs']['id']}", json={"status": "SUCCESS"}, headers=ci.headers
        )
    )
    assert (
        ok(secured.get(f"{API}/runs/{made['runs']['id']}", headers=ci.headers))["updatedBy"]
        == ops.actor
    )
    # Attaching lineage changes the execution.
    ok(
        secured.post(
            f"{API}/executions/{made['executions']['id']}/inputs",
            json={"artifacts": [made["artifacts"]["id"]]},
            headers=ci.headers,
        )
    )
    execution = ok(secured.get(f"{API}/executions/{made['executions']['id']}", headers=ci.headers))
    assert execution["updatedBy"] == ci.actor
    # Lists carry the same fields.
    listed = ok(secured.get(f"{API}/artifacts", headers=ci.headers))["items"]
    assert {(a["createdBy"]["name"], a["updatedBy"]["name"]) for a in listed} == {("ci", "ops")}


def test_kinds_record_who_registered_each_version(secured: TestClient) -> None:
    ci, ops = Token(secured, "ci"), Token(secured, "ops")
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    first = ok(
        secured.post(f"{API}/kinds", json={"name": "k", "schema": schema}, headers=ci.headers),
        201,
    )
    assert first["createdBy"] == ci.actor
    schema["properties"]["b"] = {"type": "integer"}
    ok(secured.post(f"{API}/kinds", json={"name": "k", "schema": schema}, headers=ops.headers), 201)
    by_version = {
        v: ok(secured.get(f"{API}/kinds/k/versions/{v}", headers=ci.headers))["createdBy"]
        for v in (1, 2)
    }
    assert by_version == {1: ci.actor, 2: ops.actor}


def test_the_batch_records_its_token_on_the_fast_and_the_ordinary_path(
    secured: TestClient,
) -> None:
    ci, batcher = Token(secured, "ci"), Token(secured, "batcher")
    made = make_one_of_each(secured, ci.headers)
    ids = {name: str(uuid.uuid4()) for name in ("exp", "run", "art", "step", "next")}
    operations = [
        {"op": "create", "entity": "experiment", "body": {"id": ids["exp"], "name": "b"}},
        {
            "op": "create",
            "entity": "run",
            "body": {"id": ids["run"], "experiment": ids["exp"], "name": "r"},
        },
        {
            "op": "create",
            "entity": "artifact",
            "body": {"id": ids["art"], "name": "m", "kind": "model"},
        },
        {
            "op": "create",
            "entity": "execution",
            "body": {
                "id": ids["step"],
                "run": ids["run"],
                "executable": made["executables"]["id"],
                "name": "s",
                "kind": "train",
                "outputArtifacts": [ids["art"]],
            },
        },
        {
            "op": "create",
            "entity": "execution",
            "body": {
                "id": ids["next"],
                "run": ids["run"],
                "executable": made["executables"]["id"],
                "name": "t",
                "kind": "test",
            },
        },
        # The fast path's link (a successor the batch made), then an ordinary update.
        {
            "op": "link",
            "entity": "execution",
            "id": made["executions"]["id"],
            "body": {"successors": [ids["next"]]},
        },
        {"op": "update", "entity": "run", "id": made["runs"]["id"], "body": {"status": "FAILED"}},
        # A create with a kind that is not registered goes the ordinary way (an open kind).
        {"op": "create", "entity": "artifact", "body": {"name": "x", "kind": "brand-new"}},
    ]
    result = ok(
        secured.post(f"{API}/batch", json={"operations": operations}, headers=batcher.headers)
    )
    for plural, key in (
        ("experiments", "exp"),
        ("runs", "run"),
        ("artifacts", "art"),
        ("executions", "step"),
        ("executions", "next"),
    ):
        read = ok(secured.get(f"{API}/{plural}/{ids[key]}", headers=ci.headers))
        assert read["createdBy"] == batcher.actor == read["updatedBy"], (plural, key)
    opened = ok(secured.get(f"{API}/artifacts/{result['results'][-1]['id']}", headers=ci.headers))
    assert opened["createdBy"] == batcher.actor
    for plural in ("executions", "runs"):
        read = ok(secured.get(f"{API}/{plural}/{made[plural]['id']}", headers=ci.headers))
        assert (read["createdBy"], read["updatedBy"]) == (ci.actor, batcher.actor), plural


def test_the_thesis_api_records_the_token(secured: TestClient) -> None:
    ci = Token(secured, "ci")
    exp = ok(
        secured.post(f"{V1}/experiments", json={"name": "t", "version": "1"}, headers=ci.headers),
        201,
    )
    run = ok(
        secured.post(
            f"{V1}/experiments/{exp['id']}/runs",
            json={"name": "r", "version": "1"},
            headers=ci.headers,
        ),
        201,
    )
    for plural, entity_id in (("experiments", exp["id"]), ("runs", run["id"])):
        read = ok(secured.get(f"{API}/{plural}/{entity_id}", headers=ci.headers))
        assert read["createdBy"] == ci.actor, plural
    # The thesis's own documents are unchanged: no field it does not know.
    thesis_run = ok(secured.get(f"{V1}/experiments/runs/{run['id']}", headers=ci.headers))
    assert "createdBy" not in thesis_run


def test_the_configured_admin_token_is_recorded_by_name(secured: TestClient) -> None:
    exp = ok(secured.post(f"{API}/experiments", json={"name": "e"}, headers=bearer(ADMIN)), 201)
    assert exp["createdBy"] == {"name": "admin (configured)", "id": None}


def test_without_access_control_nobody_is_recorded(client: TestClient) -> None:
    exp = ok(client.post(f"{API}/experiments", json={"name": "e"}), 201)
    assert exp["createdBy"] is None and exp["updatedBy"] is None
    assert ok(client.get(f"{API}/experiments/{exp['id']}"))["createdBy"] is None


def test_an_export_keeps_who_wrote_and_an_old_export_still_imports(
    secured: TestClient, metadata: Metadata, tmp_path: Path
) -> None:
    ci, ops = Token(secured, "ci"), Token(secured, "ops")
    made = make_one_of_each(secured, ci.headers)
    ok(
        secured.patch(
            f"{API}/runs/{made['runs']['id']}", json={"status": "FAILED"}, headers=ops.headers
        )
    )
    with metadata.session("snapshot") as session:
        lines = [portability.dumps(r) for r in portability.export_records(session)]
    target = Metadata.open(f"sqlite:///{tmp_path / 'copy.db'}")
    try:
        target.call(portability.import_records, lines[1:])
        for plural, entity in made.items():
            read = target.read(plural[:-1], uuid.UUID(entity["id"]))
            assert read.created_by.model_dump(mode="json") == ci.actor, plural
        run = target.read("run", uuid.UUID(made["runs"]["id"]))
        assert run.updated_by.model_dump(mode="json") == ops.actor
    finally:
        target.close()
    # An export of a store from before the audit columns: its rows have none of them.
    old = []
    for line in lines[1:]:
        record = json.loads(line)
        for key in ("created_by_id", "created_by_name", "updated_by_id", "updated_by_name"):
            record["row"].pop(key, None)
        old.append(json.dumps(record).encode())
    target = Metadata.open(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        target.call(portability.import_records, old)
        assert target.read("run", uuid.UUID(made["runs"]["id"])).created_by is None
    finally:
        target.close()


def test_the_access_log_names_the_token(
    secured: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    ci = Token(secured, "ci")
    with caplog.at_level(logging.INFO, logger="modeltrail.access"):
        secured.get(f"{API}/experiments", headers=ci.headers)
        secured.get(f"{API}/experiments", headers=bearer("mt_unknown"))
    entries = [r.fields for r in caplog.records if r.name == "modeltrail.access"]  # type: ignore[attr-defined]
    assert entries[0]["principal"] == ci.actor and entries[0]["status"] == 200
    assert "principal" not in entries[1] and entries[1]["status"] == 401


# ---------------------------------------------------------------- token lifetimes


def _set(metadata: Metadata, token_id: str, **values: Any) -> None:
    """Move a token's clock (what an hour or ninety days of waiting would do), or change it
    as another server process would; then wait out the second a server trusts a token it
    checked."""
    with metadata.db.session() as session:
        session.execute(
            update(ApiTokenRow).where(ApiTokenRow.id == uuid.UUID(token_id)).values(**values)
        )
    time.sleep(TOKEN_CACHE_SECONDS + 0.05)


def test_a_token_revoked_by_another_server_is_refused_within_a_second(
    secured: TestClient, metadata: Metadata
) -> None:
    ci = Token(secured, "ci")
    assert secured.get(f"{API}/experiments", headers=ci.headers).status_code == 200
    _set(metadata, ci.id, revoke_time=utcnow())
    assert secured.get(f"{API}/experiments", headers=ci.headers).status_code == 401


def test_a_token_revoked_through_the_server_is_refused_at_once(secured: TestClient) -> None:
    ci = Token(secured, "ci")
    for _ in range(3):  # trusted for now
        assert secured.get(f"{API}/experiments", headers=ci.headers).status_code == 200
    assert secured.delete(f"{API}/tokens/{ci.id}", headers=bearer(ADMIN)).status_code == 204
    assert secured.get(f"{API}/experiments", headers=ci.headers).status_code == 401


def test_an_expired_token_is_refused_saying_so(secured: TestClient, metadata: Metadata) -> None:
    short = Token(secured, "short", expiresIn=3600)
    listed = ok(secured.get(f"{API}/tokens", headers=bearer(ADMIN)))
    expires = next(t["expireTime"] for t in listed if t["id"] == short.id)
    assert expires is not None
    assert secured.get(f"{API}/experiments", headers=short.headers).status_code == 200
    _set(metadata, short.id, expire_time=utcnow() - timedelta(seconds=1))
    refused = secured.get(f"{API}/experiments", headers=short.headers)
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]
    assert refused.headers["content-type"] == "application/problem+json"
    for bad in (0, 59, -1, 10**12, "soon"):
        response = secured.post(
            f"{API}/tokens",
            json={"name": "x", "role": "reader", "expiresIn": bad},
            headers=bearer(ADMIN),
        )
        assert response.status_code == 422, bad


def test_a_rotated_token_keeps_its_id_and_grants_and_drops_the_old_secret(
    secured: TestClient, metadata: Metadata
) -> None:
    exp = ok(secured.post(f"{API}/experiments", json={"name": "e"}, headers=bearer(ADMIN)), 201)
    scoped = Token(secured, "scoped", role=None, experiments={exp["id"]: "writer"})
    rotated = ok(secured.post(f"{API}/tokens/{scoped.id}/rotate", json={}, headers=bearer(ADMIN)))
    assert rotated["id"] == scoped.id and rotated["experiments"] == {exp["id"]: "writer"}
    assert rotated["token"] != scoped.secret and rotated["token"].startswith("mt_")
    old = secured.get(f"{API}/experiments/{exp['id']}", headers=scoped.headers)
    assert old.status_code == 401
    new = bearer(rotated["token"])
    assert secured.get(f"{API}/experiments/{exp['id']}", headers=new).status_code == 200
    run = ok(
        secured.post(f"{API}/runs", json={"experiment": exp["id"], "name": "r"}, headers=new), 201
    )
    assert run["createdBy"] == scoped.actor  # the same token, by id and name


def test_a_rotation_with_a_grace_period_accepts_both_secrets_until_it_ends(
    secured: TestClient, metadata: Metadata
) -> None:
    ci = Token(secured, "ci")
    rotated = ok(
        secured.post(f"{API}/tokens/{ci.id}/rotate", json={"grace": 3600}, headers=bearer(ADMIN))
    )
    assert rotated["previousExpireTime"] is not None
    for headers in (ci.headers, bearer(rotated["token"])):
        assert secured.get(f"{API}/experiments", headers=headers).status_code == 200
    _set(metadata, ci.id, previous_expire_time=utcnow() - timedelta(seconds=1))
    old = secured.get(f"{API}/experiments", headers=ci.headers)
    assert old.status_code == 401 and "rotated" in old.json()["detail"]
    assert secured.get(f"{API}/experiments", headers=bearer(rotated["token"])).status_code == 200
    # A second rotation leaves only the secret it replaced in grace, never older ones.
    again = ok(
        secured.post(f"{API}/tokens/{ci.id}/rotate", json={"grace": 3600}, headers=bearer(ADMIN))
    )
    assert secured.get(f"{API}/experiments", headers=ci.headers).status_code == 401
    for token in (rotated["token"], again["token"]):
        assert secured.get(f"{API}/experiments", headers=bearer(token)).status_code == 200
    # Revoking the token ends every secret of it at once; a revoked token is not rotated.
    assert secured.delete(f"{API}/tokens/{ci.id}", headers=bearer(ADMIN)).status_code == 204
    for token in (rotated["token"], again["token"]):
        assert secured.get(f"{API}/experiments", headers=bearer(token)).status_code == 401
    assert (
        secured.post(f"{API}/tokens/{ci.id}/rotate", json={}, headers=bearer(ADMIN)).status_code
        == 409
    )


def test_the_configured_admin_token_is_retired_once_another_admin_exists(
    secured: TestClient,
) -> None:
    refused = secured.delete(f"{API}/tokens/configured", headers=bearer(ADMIN))
    assert refused.status_code == 409 and "admin" in refused.json()["detail"]
    ops = Token(secured, "ops", role="admin")
    assert secured.delete(f"{API}/tokens/configured", headers=ops.headers).status_code == 204
    gone = secured.get(f"{API}/experiments", headers=bearer(ADMIN))
    assert gone.status_code == 401
    assert secured.get(f"{API}/tokens", headers=ops.headers).status_code == 200
    listed = ok(secured.get(f"{API}/tokens", params={"includeRevoked": True}, headers=ops.headers))
    assert [t["name"] for t in listed if t["revokeTime"]] == ["admin (configured)"]
    # Only an admin may do it.
    writer = ok(
        secured.post(f"{API}/tokens", json={"name": "w", "role": "writer"}, headers=ops.headers),
        201,
    )
    forbidden = secured.delete(f"{API}/tokens/configured", headers=bearer(writer["token"]))
    assert forbidden.status_code == 403
