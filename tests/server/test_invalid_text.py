"""Text that is not Unicode (a lone UTF-16 surrogate) is refused on every route with the
pointer of its field, before anything is written; a store that already holds one (written by
an older version) still lists, traces, exports and deletes, with U+FFFD in its place."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, StatementError
from starlette.testclient import TestClient

from conftest import run_cli
from modeltrail.server import transport
from modeltrail.services.metadata import Metadata
from modeltrail.store import portability

API = "/api/v1"
JSON = {"content-type": "application/json"}
BAD = "\ud800"  # half of a surrogate pair, with no other half


def raw(body: Any) -> bytes:
    """``body`` as JSON with every non-ASCII character escaped: how a lone surrogate is sent."""
    return json.dumps(body, ensure_ascii=True).encode()


def refused(response, *pointers: str) -> dict:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/invalid-text"), body
    found = {e["pointer"] for e in body["errors"]}
    assert set(pointers) <= found, (pointers, body["errors"])
    return body


def snapshot(meta: Metadata) -> list[dict]:
    with meta.session("snapshot") as session:
        return list(portability.export_records(session))[1:]


def reads(c: TestClient, exp: str) -> list[str]:
    """Every read the surrogate broke, each one's status."""
    paths = [
        f"{API}/runs",
        f"{API}/experiments",
        f"{API}/artifacts",
        f"{API}/executions",
        f"{API}/kinds",
        f"{API}/experiments/{exp}/trace",
        "/v1/metadata/experiments",
        f"/v1/metadata/experiments/{exp}/runs",
        f"/v1/metadata/experiments/{exp}/trace",
    ]
    bad = []
    for path in paths:
        r = c.get(path)
        if r.status_code != 200:
            bad.append(f"{path}: {r.status_code} {r.text[:200]}")
    return bad


@pytest.fixture
def stored(client: TestClient) -> dict[str, str]:
    post = lambda path, body: client.post(f"{API}/{path}", json=body).json()  # noqa: E731
    exp = post("experiments", {"name": "e"})
    exe = post("executables", {"name": "train", "uri": "git://x"})
    run = post("runs", {"experiment": exp["id"], "name": "r", "configuration": {"a": "b"}})
    execution = post(
        "executions",
        {"run": run["id"], "executable": exe["id"], "name": "s", "kind": "train"},
    )
    data = post("artifacts", {"name": "d", "kind": "dataset", "attributes": {"a": "b"}})
    return {"experiment": exp["id"], "run": run["id"], "execution": execution["id"],
            "artifact": data["id"]}  # fmt: skip


# What each route is sent: its usual body with one lone surrogate in a value and one in a key.
def _bodies(ids: dict[str, str]) -> list[tuple[str, str, Any, list[str]]]:
    exp, run, execution = ids["experiment"], ids["run"], ids["execution"]
    return [
        (
            "POST",
            f"{API}/runs",
            {"experiment": exp, "name": "r2", "configuration": {"a": BAD, "k" + BAD: 1}},
            ["/configuration/a", "/configuration/k\ufffd"],
        ),
        (
            "PATCH",
            f"{API}/runs/{run}",
            {"configuration": {"deep": [{"x": BAD}]}},
            ["/configuration/deep/0/x"],
        ),
        (
            "POST",
            f"{API}/kinds",
            {"name": "k", "description": BAD, "schema": {"type": "object", "description": BAD}},
            ["/description", "/schema/description"],
        ),
        (
            "POST",
            f"{API}/artifacts",
            {"name": "m", "kind": "model", "attributes": {"note": "ok" + BAD}},
            ["/attributes/note"],
        ),
        (
            "POST",
            f"{API}/executions",
            {"run": run, "executable": ids["artifact"], "name": "s", "configuration": {BAD: 1}},
            ["/configuration/\ufffd"],
        ),
        (
            "POST",
            f"/v1/metadata/experiments/{exp}/runs",
            {"name": "thesis", "configuration": {"lr": BAD}},
            ["/configuration/lr"],
        ),
        (
            "POST",
            f"{API}/batch",
            {"operations": [{"op": "create", "entity": "experiment", "body": {"name": BAD}}]},
            ["/operations/0/body/name"],
        ),
        (
            "POST",
            f"{API}/lineage",
            {"eventType": "START", "run": {"runId": str(uuid.uuid4()), "facets": {BAD: {}}}},
            ["/run/facets/\ufffd"],
        ),
        (
            "POST",
            f"{API}/argo/workflows",
            {"metadata": {"name": "wf", "annotations": {"a": BAD}}},
            ["/metadata/annotations/a"],
        ),
        (
            "PUT",
            f"/v1/metadata/experiments/runs/executions/{execution}",
            {"name": BAD},
            ["/name"],
        ),
    ]


def test_the_routes_that_broke_refuse_a_lone_surrogate_and_write_nothing(
    client: TestClient, metadata: Metadata, stored: dict[str, str]
) -> None:
    before = snapshot(metadata)
    for method, path, body, pointers in _bodies(stored):
        r = client.request(method, path, content=raw(body), headers=JSON)
        refused(r, *pointers)
    assert snapshot(metadata) == before
    assert reads(client, stored["experiment"]) == []
    assert client.delete(f"{API}/runs/{stored['run']}").status_code in (204, 409)


def test_every_route_with_a_body_refuses_a_lone_surrogate(client: TestClient) -> None:
    """Whatever the route reads its body for, the body is read as Unicode first."""
    body = raw({"name": "n", "k" + BAD: {"deep": ["x", "y" + BAD]}})
    routes = [
        (method, route.path)
        for route in client.app.routes
        for method in getattr(route, "methods", ()) or ()
        if method in {"POST", "PUT", "PATCH"}
    ]
    assert len(routes) >= 25
    for method, path in routes:
        path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
        if transport.is_streamed(path):
            continue  # a file's bytes, stored as they come: no text to read
        r = client.request(method, path, content=body, headers=JSON)
        if path.startswith("/api/2.0/mlflow"):  # MLflow's surface answers in MLflow's shape
            assert r.status_code == 400, (path, r.text)
            assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE", (path, r.text)
            assert "/k\ufffd/deep/1" in r.json()["message"], (path, r.text)
            continue
        refused(r, "/k\ufffd", "/k\ufffd/deep/1")


def test_raw_surrogate_bytes_are_not_utf8(client: TestClient) -> None:
    r = client.post(f"{API}/experiments", content=b'{"name": "\xed\xa0\x80"}', headers=JSON)
    assert r.status_code == 422 and "UTF-8" in r.json()["errors"][0]["detail"], r.text
    assert client.get(f"{API}/experiments").json()["items"] == []


def test_a_surrogate_pair_is_one_character_and_is_kept(client: TestClient) -> None:
    body = raw({"name": "smile \U0001f600", "annotations": {"k\U0001f600": "v"}})
    created = client.post(f"{API}/experiments", content=body, headers=JSON)
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "smile \U0001f600"


def test_parameters_that_are_not_unicode(client: TestClient, stored: dict[str, str]) -> None:
    # Over HTTP a URL is percent-encoded bytes, and what is not UTF-8 reads as U+FFFD.
    r = client.get(f"{API}/runs", params={"filter": "name:eq:x"}, headers={})
    assert r.status_code == 200
    r = client.get(f"{API}/runs?filter=name:eq:%ED%A0%80&sort=-%ED%A0%80")
    assert r.status_code in (200, 422) and r.headers["content-type"].startswith("application/")
    r = client.delete(f"{API}/runs/%ED%A0%80")
    assert r.status_code in (404, 422), r.text
    # A server in the same process can be handed any path as a string: refused by name.
    # (A query string reaches the app as bytes, decoded with U+FFFD, so it never holds one.)
    for method in ("GET", "DELETE"):
        status, body = asyncio.run(_asgi(client.app, method, f"{API}/runs/{BAD}", b""))
        assert status == 422, body
        assert body["type"].endswith("/invalid-text")
        assert body["errors"] == [{"pointer": "/entity_id", "detail": ANY, "in": "path"}]
    assert client.get(f"{API}/runs/{stored['run']}").status_code == 200


def test_only_a_replaced_character_has_the_raw_url_read_again(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Percent-encoded UTF-8 costs no second decoding of the URL; bytes that are not UTF-8
    are still refused, naming the parameter and the bytes."""
    from modeltrail.server import bodies

    looked: list[bytes] = []
    not_utf8 = bodies._not_utf8

    def spied(raw: bytes) -> str | None:
        looked.append(raw)
        return not_utf8(raw)

    monkeypatch.setattr(bodies, "_not_utf8", spied)
    r = client.get(f"{API}/runs?filter=name:eq:caf%C3%A9&sort=-name")
    assert r.status_code == 200, r.text
    assert looked == []
    r = client.get(f"{API}/runs?filter=name:eq:%FF")
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [{"pointer": "/filter", "in": "query", "detail": ANY}]
    assert "(%FF)" in r.json()["errors"][0]["detail"]
    assert looked == [b"filter=name:eq:%FF"]


async def _asgi(app: Any, method: str, path: str, query: bytes) -> tuple[int, dict]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": b"/",
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body)


# ---------------------------------------------------------------- what is already stored

# A surrogate as an older version wrote it: SQLite keeps the JSON escape as it came.
OLD = '{"a": "\\ud800", "k\\udc00": ["x\\ud800y"]}'


def _write_old(meta: Metadata, table: str, column: str, row_id: str) -> None:
    with meta.db.engine.begin() as conn:
        conn.execute(
            text(f"UPDATE {table} SET {column} = :v WHERE id = :id"),
            {"v": OLD, "id": uuid.UUID(row_id).hex},
        )


def test_a_stored_surrogate_reads_as_the_replacement_character(
    client: TestClient, metadata: Metadata, stored: dict[str, str], tmp_path: Path
) -> None:
    if metadata.db.dialect == "postgresql":
        # PostgreSQL never holds one: JSONB refuses the escape, so no read can meet it.
        with pytest.raises((DBAPIError, StatementError)), metadata.db.engine.begin() as conn:
            conn.execute(
                text("UPDATE runs SET configuration = CAST(:v AS JSONB) WHERE id = :id"),
                {"v": OLD, "id": uuid.UUID(stored["run"])},
            )
        return
    _write_old(metadata, "runs", "configuration", stored["run"])
    _write_old(metadata, "executions", "configuration", stored["execution"])
    _write_old(metadata, "artifacts", "attributes", stored["artifact"])
    with metadata.db.engine.begin() as conn:
        conn.execute(
            text("UPDATE kinds SET schema = :v WHERE name = 'dataset'"),
            {"v": '{"type": "object", "description": "\\ud800"}'},
        )
    assert reads(client, stored["experiment"]) == []
    run = client.get(f"{API}/runs/{stored['run']}").json()
    assert run["configuration"] == {"a": "\ufffd", "k\ufffd": ["x\ufffdy"]}
    kinds = {k["name"]: k for k in client.get(f"{API}/kinds").json()}
    assert kinds["dataset"]["schema"]["description"] == "\ufffd"

    backup = tmp_path / "backup.ndjson"
    run_cli("export", "--output", str(backup), "--url", str(metadata.db.engine.url))
    assert "\\ufffd" in backup.read_text() or "\ufffd" in backup.read_text()

    assert client.delete(f"{API}/executions/{stored['execution']}").status_code == 204
    assert client.delete(f"{API}/runs/{stored['run']}").status_code == 204
    assert client.get(f"{API}/runs").json()["items"] == []


def test_the_store_itself_refuses_to_write_a_surrogate(metadata: Metadata) -> None:
    """The last guard, for a writer that skipped every check above."""
    from modeltrail.store.database import _dump_json

    with pytest.raises(Exception, match="not valid Unicode"):
        _dump_json({"a": BAD})
