"""Access control: every guarded endpoint refuses unauthenticated and under-privileged calls.

The endpoint tests iterate over the application's own OpenAPI document, so a router added
later is covered without touching this file.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from conftest import ServerProcess, cli_env, free_port, run_cli
from modeltrail.server.app import create_app
from modeltrail.server.auth import (
    AUTHENTICATED_ONLY,
    SCOPED_LISTS,
    AuthSettings,
    is_loopback,
    required_role,
)
from modeltrail.services.metadata import Metadata
from modeltrail.store.tables import ApiTokenRow

API = "/api/v1"
ADMIN = "admin-" + uuid.uuid4().hex
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def secured(metadata: Metadata) -> Iterator[TestClient]:
    app = create_app(metadata, auth_settings=AuthSettings(enabled=True, admin_token=ADMIN))
    with TestClient(app, base_url="http://testserver") as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_token(c: TestClient, **body: object) -> str:
    response = c.post(f"{API}/tokens", json={"name": "t", **body}, headers=bearer(ADMIN))
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def _value(param: dict) -> str:
    schema = param.get("schema", {})
    if schema.get("format") == "uuid" or "id" in param["name"].lower():
        return str(uuid.uuid4())
    if schema.get("type") == "integer":
        return "1"
    return "x"


def guarded_operations(app_openapi: dict) -> list[tuple[str, str, str]]:
    """(method, template, concrete url) of every guarded operation in the OpenAPI document."""
    out = []
    for template, item in app_openapi["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None or required_role(method.upper(), template) is None:
                continue
            url = template
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    url = url.replace("{" + param["name"] + "}", _value(param))
            assert not re.search(r"\{\w+\}", url), url
            out.append((method.upper(), template, url))
    return out


def test_openapi_lists_guarded_routes(secured: TestClient) -> None:
    ops = guarded_operations(secured.app.openapi())
    templates = {t for _, t, _ in ops}
    assert f"{API}/experiments" in templates and f"{API}/tokens" in templates
    assert len(ops) > 25
    assert "bearer" in str(secured.app.openapi()["components"]["securitySchemes"]).lower()


def test_every_endpoint_refuses_requests_without_a_valid_token(secured: TestClient) -> None:
    for method, template, url in guarded_operations(secured.app.openapi()):
        for headers in ({}, bearer("mt_not-a-token"), {"Authorization": "Basic eDp5"}):
            response = secured.request(method, url, headers=headers)
            assert response.status_code == 401, (method, template, headers, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"].startswith("Bearer")


def test_every_endpoint_refuses_under_privileged_tokens(secured: TestClient) -> None:
    exp = secured.post(
        f"{API}/experiments", json={"name": "elsewhere"}, headers=bearer(ADMIN)
    ).json()
    # Roles on another experiment only: no global role for anything.
    elsewhere = make_token(secured, experiments={exp["id"]: "admin"})
    reader = make_token(secured, role="reader")
    writer = make_token(secured, role="writer")
    checked = 0
    for method, template, url in guarded_operations(secured.app.openapi()):
        if template in AUTHENTICATED_ONLY:
            continue  # any valid token may ask who it is
        needed = required_role(method, template)
        weaker = {
            "reader": [elsewhere],
            "writer": [elsewhere, reader],
            "admin": [elsewhere, reader, writer],
        }[needed.value]
        if method == "GET" and template in SCOPED_LISTS:
            # Lists what its experiments hold (test_scoped_access.py checks what).
            weaker = [t for t in weaker if t != elsewhere]
        for token in weaker:
            response = secured.request(method, url, headers=bearer(token))
            assert response.status_code == 403, (method, template, needed, response.text)
            assert response.json()["type"].endswith("/forbidden")
            checked += 1
    assert checked > 40


def test_sufficient_roles_pass_the_guard(secured: TestClient) -> None:
    reader, writer = make_token(secured, role="reader"), make_token(secured, role="writer")
    assert secured.get(f"{API}/experiments", headers=bearer(reader)).status_code == 200
    created = secured.post(f"{API}/experiments", json={"name": "a"}, headers=bearer(writer))
    assert created.status_code == 201
    assert secured.get(f"{API}/tokens", headers=bearer(writer)).status_code == 403
    assert secured.get(f"{API}/tokens", headers=bearer(ADMIN)).status_code == 200
    me = secured.get(f"{API}/whoami", headers=bearer(reader)).json()
    assert me["role"] == "reader"


def test_open_paths_stay_open(secured: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert secured.get(path).status_code == 200, path


def test_tokens_are_stored_hashed_shown_once_and_revocable(
    secured: TestClient, metadata: Metadata
) -> None:
    created = secured.post(
        f"{API}/tokens", json={"name": "ci", "role": "writer"}, headers=bearer(ADMIN)
    ).json()
    token = created["token"]
    assert token.startswith("mt_") and len(token) >= 40
    with metadata.db.session() as session:
        row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.id == uuid.UUID(created["id"])))
        assert (
            row is not None
            and token not in (row.token_hash, row.prefix)
            and len(row.token_hash) == 64
        )
    listed = secured.get(f"{API}/tokens", headers=bearer(ADMIN)).json()
    assert [t["id"] for t in listed] == [created["id"]] and "token" not in listed[0]
    assert secured.get(f"{API}/experiments", headers=bearer(token)).status_code == 200
    assert secured.delete(f"{API}/tokens/{created['id']}", headers=bearer(ADMIN)).status_code == 204
    assert secured.get(f"{API}/experiments", headers=bearer(token)).status_code == 401
    assert secured.get(f"{API}/tokens", headers=bearer(ADMIN)).json() == []
    assert (
        len(
            secured.get(
                f"{API}/tokens", params={"includeRevoked": True}, headers=bearer(ADMIN)
            ).json()
        )
        == 1
    )


def test_a_token_needs_some_role(secured: TestClient) -> None:
    response = secured.post(f"{API}/tokens", json={"name": "nothing"}, headers=bearer(ADMIN))
    assert response.status_code == 422


def test_experiment_roles_apply_to_that_experiment_only(secured: TestClient) -> None:
    admin = bearer(ADMIN)
    mine = secured.post(f"{API}/experiments", json={"name": "mine"}, headers=admin).json()
    other = secured.post(f"{API}/experiments", json={"name": "other"}, headers=admin).json()
    token = bearer(make_token(secured, experiments={mine["id"]: "writer"}))

    run = secured.post(f"{API}/runs", json={"experiment": mine["id"], "name": "r"}, headers=token)
    assert run.status_code == 201, run.text
    run_id = run.json()["id"]
    assert (
        secured.post(
            f"{API}/runs", json={"experiment": other["id"], "name": "r"}, headers=token
        ).status_code
        == 403
    )
    assert secured.get(f"{API}/runs/{run_id}", headers=token).status_code == 200
    assert (
        secured.patch(f"{API}/runs/{run_id}", json={"status": "SUCCESS"}, headers=token).status_code
        == 200
    )
    assert secured.get(f"{API}/experiments/{mine['id']}", headers=token).status_code == 200
    assert secured.get(f"{API}/experiments/{other['id']}", headers=token).status_code == 403
    other_run = secured.post(
        f"{API}/runs", json={"experiment": other["id"], "name": "o"}, headers=admin
    ).json()
    assert secured.get(f"{API}/runs/{other_run['id']}", headers=token).status_code == 403
    # Lists span experiments: a token with grants only sees its experiments' entities.
    listed = secured.get(f"{API}/runs", headers=token).json()["items"]
    assert [r["id"] for r in listed] == [run_id]

    exe = secured.post(f"{API}/executables", json={"name": "train"}, headers=admin).json()
    execution = secured.post(
        f"{API}/executions",
        json={"run": run_id, "executable": exe["id"], "name": "s", "kind": "train"},
        headers=token,
    )
    assert execution.status_code == 201, execution.text
    assert (
        secured.patch(
            f"{API}/executions/{execution.json()['id']}", json={"status": "SUCCESS"}, headers=token
        ).status_code
        == 200
    )

    reader = bearer(make_token(secured, experiments={mine["id"]: "reader"}))
    assert secured.get(f"{API}/runs/{run_id}", headers=reader).status_code == 200
    assert (
        secured.patch(f"{API}/runs/{run_id}", json={"status": "FAILED"}, headers=reader).status_code
        == 403
    )


def test_auth_decision() -> None:
    assert AuthSettings.decide("127.0.0.1", auth=None, admin_token=None).enabled is False
    assert AuthSettings.decide("localhost", auth=None, admin_token="a").enabled is True
    assert AuthSettings.decide("0.0.0.0", auth=None, admin_token="a").enabled is True
    assert AuthSettings.decide("0.0.0.0", auth=False, admin_token=None).enabled is False
    with pytest.raises(ValueError, match="MODELTRAIL_ADMIN_TOKEN"):
        AuthSettings.decide("0.0.0.0", auth=None, admin_token=None)
    with pytest.raises(ValueError):
        AuthSettings.decide("::1", auth=True, admin_token=None)
    assert is_loopback("::1") and is_loopback("127.0.0.2") and not is_loopback("10.0.0.1")


@pytest.mark.slow
def test_server_on_a_public_address_refuses_to_start_without_an_admin_token(tmp_path: Path) -> None:
    env = cli_env()
    env.pop("MODELTRAIL_ADMIN_TOKEN", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "modeltrail",
            "server",
            "--host",
            "0.0.0.0",
            "--port",
            str(free_port()),
            "--database-url",
            f"sqlite:///{tmp_path / 's.db'}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "MODELTRAIL_ADMIN_TOKEN" in result.stderr


@pytest.mark.slow
def test_server_with_auth_and_the_tokens_cli(tmp_path: Path) -> None:
    server = ServerProcess(
        f"sqlite:///{tmp_path / 's.db'}", "--host", "0.0.0.0", "--admin-token", ADMIN, cwd=tmp_path
    )
    try:
        assert httpx.get(f"{server.url}{API}/experiments").status_code == 401
        refused = run_cli("tokens", "list", url=server.url, check=False)
        assert refused.returncode == 1 and "token" in refused.stderr.lower()
        env = {"MODELTRAIL_TOKEN": ADMIN}
        created = _cli(
            tmp_path, server.url, env, "tokens", "create", "pipeline", "--role", "writer"
        )
        token = created.stdout.strip().splitlines()[-1]
        assert token.startswith("mt_")
        writer = {"MODELTRAIL_TOKEN": token}
        listed = _cli(tmp_path, server.url, writer, "experiments", "list", "--json")
        assert '"items"' in listed.stdout
        tokens = _cli(tmp_path, server.url, env, "tokens", "list", "--json").stdout
        token_id = re.search(r'"id": "([0-9a-f-]+)"', tokens).group(1)
        _cli(tmp_path, server.url, env, "tokens", "revoke", token_id)
        again = subprocess.run(
            [sys.executable, "-m", "modeltrail", "experiments", "list"],
            cwd=tmp_path,
            env=cli_env(MODELTRAIL_URL=server.url, **writer),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert again.returncode == 1 and "revoked" in again.stderr
    finally:
        server.stop()


def _cli(cwd: Path, url: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "modeltrail", *args],
        cwd=cwd,
        env=cli_env(MODELTRAIL_URL=url, COLUMNS="200", **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result
