"""The UI is served at / and never shadows the API, the docs or the probes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.testclient import TestClient

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


def test_files_outside_the_bundle_are_never_served(client: TestClient) -> None:
    for path in ("/../server/app.py", "/assets/../../server/app.py", "/%2e%2e/server/app.py"):
        response = client.get(path)
        assert "create_app" not in response.text


def test_without_a_built_bundle_paths_are_not_found(tmp_path: Path, metadata: Metadata) -> None:
    app: FastAPI = create_app(metadata)
    ui.install(app, root=tmp_path)  # an empty directory: no index.html
    with TestClient(app) as c:
        response = c.get("/runs")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
