"""Every route of the application, in-process: the body rules hold on each route that reads a
body, HEAD is answered wherever GET is, and the OpenLineage key lives with access control."""

from __future__ import annotations

import gzip
import json
import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from starlette.testclient import TestClient

from modeltrail.domain import limits
from modeltrail.integrations.openlineage.routes import API_KEY_ENV
from modeltrail.server.app import create_app
from modeltrail.server.auth import AuthSettings
from modeltrail.server.transport import HttpSettings, host_name
from modeltrail.services.metadata import Metadata
from openlineage_events import load

API = "/api/v1"
ADMIN = "admin-" + uuid.uuid4().hex


def problem(response, status: int, slug: str) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/" + slug), body
    return body


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def routes(client: TestClient, method: str) -> list[str]:
    """Concrete paths of every route of the app that answers ``method``."""
    found = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and method in route.methods:
            found.append(_concrete(route.path))
    return found


def body_routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, path) of every route that reads a JSON body."""
    found = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute):
            continue
        reads = route.body_field is not None or route.path.startswith(f"{API}/lineage")
        for method in route.methods - {"GET", "HEAD"} if reads else ():
            found.append((method, _concrete(route.path)))
    assert len(found) > 20
    return found


def test_every_body_route_refuses_a_body_that_is_not_declared_json(client: TestClient) -> None:
    for method, path in body_routes(client):
        for headers in ({}, {"Content-Type": "text/plain"}):
            untyped = client.request(method, path, content=b'{"name": "a"}', headers=headers)
            problem(untyped, 415, "unsupported-media-type")
    assert client.get(f"{API}/experiments", params={"count": True}).json()["total"] == 0


def test_every_body_route_refuses_a_body_that_inflates_past_the_limit(
    client: TestClient,
) -> None:
    bomb = gzip.compress(b" " * (limits.MAX_BODY_BYTES + 1))
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    for method, path in body_routes(client):
        problem(client.request(method, path, content=bomb, headers=headers), 413, "too-large")
    at_limit = gzip.compress(b'{"name": "a"}' + b" " * (limits.MAX_BODY_BYTES - 13))
    created = client.post(f"{API}/experiments", content=at_limit, headers=headers)
    assert created.status_code == 201, created.text


def test_every_body_route_counts_a_streamed_body(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(limits.MAX_BODY_BYTES // (1 << 20) + 1):
            yield b" " * (1 << 20)

    for method, path in body_routes(client):
        streamed = client.request(
            method, path, content=chunks(), headers={"Content-Type": "application/json"}
        )
        problem(streamed, 413, "too-large")


@pytest.mark.parametrize(
    "content, detail",
    [
        (b"\x1f\x8b not gzip", "not"),
        (gzip.compress(b'{"name": "a"}', mtime=0)[:-12], "ends early"),
        (gzip.compress(b'{"name": "a"}', mtime=0) + b"trailing", "not"),
    ],
    ids=["not-gzip", "ends-early", "trailing-bytes"],
)
def test_a_body_that_is_not_gzip_says_so(client: TestClient, content: bytes, detail: str) -> None:
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    body = problem(
        client.post(f"{API}/experiments", content=content, headers=headers), 400, "invalid-body"
    )
    assert detail in body["detail"]


@pytest.mark.parametrize("size", [256 * 1024, 1536 * 1024])
def test_large_documents_are_read_as_small_ones_are(client: TestClient, size: int) -> None:
    """Bodies over 64 KiB are parsed, and over 1 MiB handled, in a worker thread: same answers."""
    pad = " " * size
    json_type = {"Content-Type": "application/json"}
    raw = '{"name": "big", "annotations": {"k": "' + "v" * 60_000 + '"}' + pad + "}"
    ok = client.post(f"{API}/experiments", content=raw.encode(), headers=json_type)
    assert ok.status_code == 201, ok.text
    assert (
        client.get(f"{API}/experiments/{ok.json()['id']}").json()["annotations"]["k"][:3] == "vvv"
    )
    for raw, pointer in (
        ('{"name": ' + pad + "}", "/"),
        ('{"name": "a", "version": ' + "9" * 5000 + pad + "}", "/"),
        ('{"name": "a", "annotations": ' + "[" * 5000 + "]" * 5000 + pad + "}", "/"),
        ('{"name": 5' + pad + "}", "/name"),
    ):
        refused = client.post(f"{API}/experiments", content=raw.encode(), headers=json_type)
        assert problem(refused, 422, "validation")["errors"][0]["pointer"] == pointer
    ops = [{"op": "create", "entity": "experiment", "body": {"name": f"e{i}"}} for i in range(3)]
    batch = client.post(
        f"{API}/batch", content=json.dumps({"operations": ops}) + pad, headers=json_type
    )
    assert batch.status_code == 200, batch.text
    stored = client.post(
        f"{API}/lineage",
        content=json.dumps(load("serde_example_dataset_event.json")) + pad,
        headers=json_type,
    )
    assert stored.status_code == 200, stored.text
    assert client.get(f"{API}/experiments", params={"count": True}).json()["total"] == 4


def test_head_is_answered_on_every_get_route(client: TestClient) -> None:
    experiment = client.post(f"{API}/experiments", json={"name": "e"}).json()["id"]
    paths = routes(client, "GET") + [
        f"{API}/experiments/{experiment}",
        "/",
        "/runs",
        f"/experiments/{experiment}",
        "/docs",
    ]
    for path in paths:
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code != 405, (path, head.status_code)
        assert head.content == b"", path
        for header in ("content-type", "content-length", "etag", "cache-control"):
            assert head.headers.get(header) == get.headers.get(header), (path, header)
    assert client.head(f"{API}/batch").status_code == 405  # a POST route stays POST


def test_a_method_the_path_does_not_take_names_every_method_it_does(client: TestClient) -> None:
    refused = client.put(f"{API}/runs")
    assert refused.status_code == 405
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["allow"] == "GET, HEAD, POST"
    one = client.put(f"{API}/experiments/{uuid.uuid4()}")
    assert one.headers["allow"] == "DELETE, GET, HEAD, PATCH"


def test_the_openlineage_key_and_access_control_live_together(
    metadata: Metadata, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(API_KEY_ENV, "s3cret-openlineage-key")
    app = create_app(metadata, auth_settings=AuthSettings(enabled=True, admin_token=ADMIN))
    event = load("serde_example_dataset_event.json")
    with TestClient(app) as c:

        def token(role: str) -> str:
            made = c.post(
                f"{API}/tokens",
                json={"name": role, "role": role},
                headers={"Authorization": f"Bearer {ADMIN}"},
            )
            assert made.status_code == 201, made.text
            return str(made.json()["token"])

        def send(secret: str | None, path: str = "/lineage", body: object = event):
            headers = {"Authorization": f"Bearer {secret}"} if secret else {}
            return c.post(f"{API}{path}", json=body, headers=headers)

        writer, reader = token("writer"), token("reader")
        assert send(writer).status_code == 200
        assert send(writer, "/lineage/batch", [event]).status_code == 200
        problem(send(reader), 403, "forbidden")
        problem(send(None), 401, "unauthorized")
        # The key alone is no token: with access control on, the writer token is the key.
        problem(send("s3cret-openlineage-key"), 401, "unauthorized")
    app = create_app(metadata)  # access control off: the key guards the receiver alone
    with TestClient(app) as c:
        assert c.post(f"{API}/lineage", json=event).status_code == 401
        right = {"Authorization": "Bearer s3cret-openlineage-key"}
        assert c.post(f"{API}/lineage", json=event, headers=right).status_code == 200


@pytest.mark.parametrize(
    "host, extra, answered, refused",
    [
        ("127.0.0.1", None, ["localhost", "127.0.0.1", "[::1]"], ["testserver", "embedded"]),
        ("0.0.0.0", None, ["localhost"], ["0.0.0.0", "10.0.0.5", "testserver"]),
        ("10.0.0.5", None, ["10.0.0.5", "localhost"], ["10.0.0.6"]),
        ("::", "fd00::1, Trail.Example.COM.", ["[fd00::1]", "trail.example.com"], ["[::]"]),
        ("0.0.0.0", "*.example.com", ["a.example.com", "a.b.example.com"], ["example.com"]),
        ("0.0.0.0", "*", ["anything.example", "10.0.0.5"], []),
    ],
)
def test_a_server_answers_the_names_it_is_given(
    host: str, extra: str | None, answered: list[str], refused: list[str]
) -> None:
    settings = HttpSettings.serving(host, allowed_hosts=extra)
    for name in answered:
        assert settings.allows_host(host_name(name + ":8080")), name
    for name in refused:
        assert not settings.allows_host(host_name(name)), name
