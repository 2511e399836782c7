"""The UI is served at / and never shadows the API, the docs or the probes."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from conftest import ServerProcess
from modeltrail.server import ui
from modeltrail.server.app import create_app
from modeltrail.services.metadata import Metadata

MISSING = "00000000-0000-0000-0000-000000000000"


def test_client_side_urls_get_the_app(client: TestClient) -> None:
    for path in ("/", "/runs", f"/runs/{MISSING}", f"/artifacts/{MISSING}/lineage?depth=3"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert '<div id="root">' in response.text
        assert response.headers["cache-control"] == "no-cache"


def test_api_paths_keep_their_answers(client: TestClient) -> None:
    for path in (
        "/api/v1/nothing",
        f"/api/v1/runs/{MISSING}/nothing",
        "/v1/metadata/nothing",
        "/docs/x",
        "/healthz/x",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == "Not Found"
    missing = client.get(f"/api/v1/runs/{MISSING}")
    assert missing.status_code == 404 and missing.json()["detail"] != "Not Found"
    assert client.get("/openapi.json").json()["info"]["title"] == "modeltrail"
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/docs").status_code == 200
    assert client.post("/runs").status_code == 404
    assert client.put(f"/api/v1/experiments/{MISSING}").status_code == 405


# Sent byte for byte over a socket: an HTTP client would resolve the dots before sending.
ESCAPES = [
    "/../server/app.py",
    "/assets/../../server/app.py",
    "/%2e%2e/server/app.py",
    "/assets/%2e%2e/%2e%2e/server/app.py",
    "/..%2fserver%2fapp.py",
    "/assets/..%2f..%2fserver%2fapp.py",
    "//etc/passwd",
    "/../../../../../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
]


def raw_get(port: int, path: str) -> tuple[int, bytes]:
    """GET ``path`` exactly as written, and the answer's status and body."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request.encode())
        data = b""
        while chunk := sock.recv(1 << 16):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_files_outside_the_bundle_are_never_served(server: ServerProcess) -> None:
    for path in ESCAPES:
        status, body = raw_get(server.port, path)
        assert b"create_app" not in body and b"root:" not in body, (path, status)
        assert status in (200, 400, 404), (path, status)
        if status == 200:
            assert b'<div id="root">' in body, path  # the app, as for any client-side URL
    asset = next((ui.UI_DIR / "assets").glob("*.js")).name
    status, body = raw_get(server.port, f"/assets/{asset}")
    assert status == 200 and body and b'<div id="root">' not in body


def test_without_a_built_bundle_paths_are_not_found(tmp_path: Path, metadata: Metadata) -> None:
    app: FastAPI = create_app(metadata)
    ui.install(app, root=tmp_path)  # an empty directory: no index.html
    with TestClient(app) as c:
        response = c.get("/runs")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/favicon.ico", "/favicon.svg", "/docs/favicon-32x32.png"])
def test_favicons_answer_304_to_a_conditional_request(client: TestClient, path: str) -> None:
    """A favicon is revalidated on each use (no-cache, its name never changes): the browser's
    copy is confirmed with a 304 and no body, by its ETag and by its date."""
    first = client.get(path)
    assert first.status_code == 200 and first.content
    assert first.headers["cache-control"] == "no-cache"
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    for headers in (
        {"If-None-Match": etag},
        {"If-None-Match": f'"other", W/{etag}'},
        {"If-Modified-Since": modified},
    ):
        again = client.get(path, headers=headers)
        assert again.status_code == 304, (headers, again.status_code)
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == "no-cache"
    changed = client.get(path, headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200 and changed.content == first.content
    older = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert client.get(path, headers={"If-Modified-Since": older}).status_code == 200
