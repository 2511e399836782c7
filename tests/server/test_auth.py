"""Access control: every guarded endpoint refuses unauthenticated and under-privileged calls.

The endpoint tests iterate over every route the application serves, those its OpenAPI
document lists and those it leaves out (MLflow's API and artifact proxy), and the role each
operation needs is written out by hand: in ``ROLES`` for the documented ones, in
``MLFLOW_ROLES``, ``PROXY_ROLES`` and ``MLFLOW_V3_ROLES`` for the others, and ``OPEN`` lists
what needs no token. A
route added later fails ``test_the_role_tables_cover_every_route_the_app_serves`` until someone
decides its role here.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount
from starlette.testclient import TestClient

from conftest import ADMIN, ServerProcess, _empty, cli_env, free_port, run_cli
from modeltrail.server import auth as guard
from modeltrail.server.app import create_app
from modeltrail.server.auth import (
    AUTHENTICATED_ONLY,
    SCOPED_LISTS,
    AuthSettings,
    is_loopback,
    required_role,
    scoped_registry,
)
from modeltrail.services.metadata import Metadata
from modeltrail.store.tables import ApiTokenRow

API = "/api/v1"
V1 = "/v1/metadata"
METHODS = ("get", "post", "put", "patch", "delete")

R, W, A = "reader", "writer", "admin"
# The role every guarded operation needs, decided by hand (not computed by the code under
# test): reads need reader, writes writer, token administration admin.
ROLES: dict[tuple[str, str], str] = {
    **{
        (method, f"{API}/{plural}{suffix}"): role
        for plural in ("experiments", "runs", "pipelines", "executables", "executions", "artifacts")
        for method, suffix, role in (
            ("GET", "", R),
            ("POST", "", W),
            ("GET", "/{entity_id}", R),
            ("PATCH", "/{entity_id}", W),
            ("DELETE", "/{entity_id}", W),
        )
    },
    ("POST", f"{API}/executions/{{execution_id}}/inputs"): W,
    ("POST", f"{API}/executions/{{execution_id}}/outputs"): W,
    ("POST", f"{API}/executions/{{execution_id}}/successors"): W,
    ("GET", f"{API}/kinds"): R,
    ("POST", f"{API}/kinds"): W,
    ("GET", f"{API}/kinds/{{name}}"): R,
    ("GET", f"{API}/kinds/{{name}}/versions/{{version}}"): R,
    ("DELETE", f"{API}/kinds/{{name}}/versions/{{version}}"): W,
    ("GET", f"{API}/runs/{{run_id}}/dag"): R,
    ("POST", f"{API}/runs/{{run_id}}/metrics"): W,
    ("GET", f"{API}/runs/{{run_id}}/metrics"): R,
    ("GET", f"{API}/runs/{{run_id}}/metrics/{{key}}"): R,
    ("GET", f"{API}/runs/keys"): R,
    ("GET", f"{API}/search"): R,
    ("GET", f"{API}/artifacts/{{artifact_id}}/lineage"): R,
    ("GET", f"{API}/executions/{{execution_id}}/lineage"): R,
    ("GET", f"{API}/artifacts/{{artifact_id}}/impact"): R,
    ("GET", f"{API}/artifacts/{{artifact_id}}/versions"): R,
    ("PUT", f"{API}/artifacts/{{artifact_id}}/flag"): W,
    ("DELETE", f"{API}/artifacts/{{artifact_id}}/flag"): W,
    ("GET", f"{API}/flags"): R,
    ("GET", f"{API}/artifacts/{{artifact_id}}/files"): R,
    ("GET", f"{API}/artifacts/{{artifact_id}}/files/{{path}}"): R,
    ("PUT", f"{API}/artifacts/{{artifact_id}}/files/{{path}}"): W,
    ("DELETE", f"{API}/artifacts/{{artifact_id}}/files/{{path}}"): W,
    ("GET", f"{API}/artifacts/{{artifact_id}}/links/{{path}}"): R,
    ("POST", f"{API}/artifacts/{{artifact_id}}/uploads"): W,
    ("GET", f"{API}/artifacts/{{artifact_id}}/uploads/{{upload_id}}"): R,
    ("PUT", f"{API}/artifacts/{{artifact_id}}/uploads/{{upload_id}}/parts/{{number}}"): W,
    ("POST", f"{API}/artifacts/{{artifact_id}}/uploads/{{upload_id}}/complete"): W,
    ("DELETE", f"{API}/artifacts/{{artifact_id}}/uploads/{{upload_id}}"): W,
    ("GET", f"{API}/compare"): R,
    ("GET", f"{API}/compare/runs"): R,
    ("GET", f"{API}/artifacts/{{artifact_id}}/diff"): R,
    ("POST", f"{API}/cache/lookup"): R,  # a query in a body: reads only
    ("GET", f"{API}/executions/{{execution_id}}/cache"): R,
    ("GET", f"{API}/reports/reuse"): R,
    ("GET", f"{API}/experiments/{{experiment_id}}/history"): R,
    ("GET", f"{API}/pipelines/{{pipeline_id}}/history"): R,
    ("GET", f"{API}/artifacts/{{artifact_id}}/recipe"): R,
    ("GET", f"{API}/experiments/{{experiment_id}}/trace"): R,
    ("POST", f"{API}/batch"): W,
    ("POST", f"{API}/lineage"): W,
    ("POST", f"{API}/lineage/batch"): W,
    ("POST", f"{API}/argo/workflows"): W,
    ("GET", f"{API}/plugins"): R,
    **{
        (method, f"{API}/models{suffix}"): role
        for method, suffix, role in (
            ("GET", "/resolve", R),
            ("GET", "", R),
            ("POST", "", W),
            ("GET", "/{name}", R),
            ("PATCH", "/{name}", W),
            ("DELETE", "/{name}", W),
            ("PUT", "/{name}/tags/{key}", W),
            ("DELETE", "/{name}/tags/{key}", W),
            ("POST", "/{name}/versions", W),
            ("GET", "/{name}/versions", R),
            ("GET", "/{name}/versions/latest", R),
            ("GET", "/{name}/versions/{version}", R),
            ("PATCH", "/{name}/versions/{version}", W),
            ("DELETE", "/{name}/versions/{version}", W),
            ("PUT", "/{name}/versions/{version}/tags/{key}", W),
            ("DELETE", "/{name}/versions/{version}/tags/{key}", W),
            ("GET", "/{name}/aliases", R),
            ("GET", "/{name}/aliases/{alias}", R),
            ("PUT", "/{name}/aliases/{alias}", W),
            ("DELETE", "/{name}/aliases/{alias}", W),
            ("PUT", "/{name}/aliases/{alias}/protection", W),
            ("GET", "/{name}/history", R),
        )
    },
    ("GET", f"{API}/tokens"): A,
    ("POST", f"{API}/tokens"): A,
    ("DELETE", f"{API}/tokens/configured"): A,
    ("POST", f"{API}/tokens/{{token_id}}/rotate"): A,
    ("DELETE", f"{API}/tokens/{{token_id}}"): A,
    ("GET", f"{API}/whoami"): R,  # any valid token (AUTHENTICATED_ONLY)
    ("GET", f"{V1}/experiments/runs/executions/artifacts/{{artifact}}"): R,
    ("GET", f"{V1}/experiments/runs/executions/{{execution}}/artifacts"): R,
    ("POST", f"{V1}/experiments/runs/executions/{{execution}}/artifacts"): W,
    ("GET", f"{V1}/experiments/runs/executions/{{execution}}"): R,
    ("PUT", f"{V1}/experiments/runs/executions/{{executionId}}"): W,
    ("GET", f"{V1}/experiments/runs/{{run}}/artifacts"): R,
    ("GET", f"{V1}/experiments/runs/{{run}}/executions"): R,
    ("POST", f"{V1}/experiments/runs/{{run}}/executions"): W,
    ("GET", f"{V1}/experiments/runs/{{run}}"): R,
    ("PUT", f"{V1}/experiments/runs/{{runId}}"): W,
    ("GET", f"{V1}/experiments/run/{{run}}/workflow"): R,
    ("GET", f"{V1}/experiments"): R,
    ("POST", f"{V1}/experiments"): W,
    ("GET", f"{V1}/experiments/{{experiment}}"): R,
    ("PUT", f"{V1}/experiments/{{experimentId}}"): W,
    ("GET", f"{V1}/experiments/{{experiment}}/runs"): R,
    ("POST", f"{V1}/experiments/{{experiment}}/runs"): W,
    ("GET", f"{V1}/experiments/{{experiment}}/artifacts"): R,
    ("GET", f"{V1}/experiments/{{experiment}}/trace"): R,
}

MLFLOW = "/api/2.0/mlflow"
# MLflow's tracking and registry API is left out of the OpenAPI document (MLflow's protos
# describe it). MLflow sends its searches, and the latest versions of a model, as POSTs that
# only read: a reader may make them.
MLFLOW_ROLES: dict[tuple[str, str], str] = {
    **{
        (method, f"{MLFLOW}/experiments/{action}"): role
        for method, action, role in (
            ("POST", "create", W),
            ("GET", "get", R),
            ("GET", "get-by-name", R),
            ("POST", "search", R),
            ("POST", "update", W),
            ("POST", "delete", W),
            ("POST", "restore", W),
            ("POST", "set-experiment-tag", W),
            ("POST", "delete-experiment-tag", W),
        )
    },
    **{
        (method, f"{MLFLOW}/runs/{action}"): role
        for method, action, role in (
            ("POST", "create", W),
            ("GET", "get", R),
            ("POST", "update", W),
            ("POST", "delete", W),
            ("POST", "restore", W),
            ("POST", "log-parameter", W),
            ("POST", "set-tag", W),
            ("POST", "delete-tag", W),
            ("POST", "log-batch", W),
            ("POST", "search", R),
            ("POST", "log-metric", W),
            ("POST", "log-inputs", W),
            ("POST", "outputs", W),
        )
    },
    ("GET", f"{MLFLOW}/metrics/get-history"): R,
    ("GET", f"{MLFLOW}/artifacts/list"): R,
    ("POST", f"{MLFLOW}/logged-models"): W,
    ("POST", f"{MLFLOW}/logged-models/search"): R,
    ("GET", f"{MLFLOW}/logged-models/{{model_id}}"): R,
    ("PATCH", f"{MLFLOW}/logged-models/{{model_id}}"): W,
    ("DELETE", f"{MLFLOW}/logged-models/{{model_id}}"): W,
    ("PATCH", f"{MLFLOW}/logged-models/{{model_id}}/tags"): W,
    ("DELETE", f"{MLFLOW}/logged-models/{{model_id}}/tags/{{tag_key}}"): W,
    ("POST", f"{MLFLOW}/logged-models/{{model_id}}/params"): W,
    **{
        (method, f"{MLFLOW}/registered-models/{action}"): role
        for method, action, role in (
            ("POST", "create", W),
            ("GET", "get", R),
            ("POST", "rename", W),
            ("PATCH", "update", W),
            ("DELETE", "delete", W),
            ("GET", "search", R),
            ("POST", "get-latest-versions", R),
            ("GET", "get-latest-versions", R),
            ("POST", "set-tag", W),
            ("DELETE", "delete-tag", W),
            ("POST", "alias", W),
            ("DELETE", "alias", W),
            ("GET", "alias", R),
        )
    },
    **{
        (method, f"{MLFLOW}/model-versions/{action}"): role
        for method, action, role in (
            ("POST", "create", W),
            ("GET", "get", R),
            ("PATCH", "update", W),
            ("DELETE", "delete", W),
            ("GET", "search", R),
            ("GET", "get-download-uri", R),
            ("POST", "set-tag", W),
            ("DELETE", "delete-tag", W),
        )
    },
}

# MLflow's artifact proxy, also left out of the OpenAPI document.
PROXY = "/api/2.0/mlflow-artifacts"
PROXY_ROLES: dict[tuple[str, str], str] = {
    ("GET", f"{PROXY}/artifacts"): R,
    ("GET", f"{PROXY}/artifacts/{{path}}"): R,
    ("PUT", f"{PROXY}/artifacts/{{path}}"): W,
    ("DELETE", f"{PROXY}/artifacts/{{path}}"): W,
    ("POST", f"{PROXY}/mpu/create/{{path}}"): W,
    ("PUT", f"{PROXY}/mpu/part/{{path}}"): W,
    ("POST", f"{PROXY}/mpu/complete/{{path}}"): W,
    ("POST", f"{PROXY}/mpu/abort/{{path}}"): W,
}

# MLflow 3's paths (``/api/3.0/mlflow``), hidden from the OpenAPI document like the proxy's.
# MLflow's server answers server-info without a login; here a reader token is asked for, as
# on every other path of the MLflow API, and MLflow's client sends its token with it.
MLFLOW_V3 = "/api/3.0/mlflow"
MLFLOW_V3_ROLES: dict[tuple[str, str], str] = {
    ("GET", f"{MLFLOW_V3}/server-info"): R,
}

ALL_ROLES = ROLES | MLFLOW_ROLES | PROXY_ROLES | MLFLOW_V3_ROLES

# What the app serves to anyone: probes, metrics, the API's documents.
OPEN = frozenset(
    {
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
        ("HEAD", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/docs/init.js"),
        ("GET", "/docs/{name}"),
    }
)


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
    """(method, template, concrete url) of every operation under /api/v1 and /v1/metadata in
    the OpenAPI document."""
    out = []
    for template, item in app_openapi["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None or not template.startswith((f"{API}/", f"{V1}/")):
                continue
            url = template
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    url = url.replace("{" + param["name"] + "}", _value(param))
            assert not re.search(r"\{\w+\}", url), url
            out.append((method.upper(), template, url))
    return out


def _routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    """Every route with the prefix it is served under, those of included routers too."""
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's include_router
        if included is not None:
            yield from _routes(included.routes, prefix + route.include_context.prefix)
        else:
            yield prefix, route


_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")


def _param_value(name: str, convertor: str | None, annotation: object) -> str:
    if convertor in ("path", "filepath"):
        return "0/x/artifacts/a"  # run 0's artifact "a", for MLflow's proxy
    if annotation is int:
        return "1"
    if annotation is uuid.UUID or name.lower().endswith("id"):
        return str(uuid.uuid4())
    return "x"


def served_operations(app: FastAPI) -> list[tuple[str, str, str]]:
    """(method, template, concrete url) of every operation the app serves, whether its OpenAPI
    document lists it or not; templates are written without convertors (``{path}``)."""
    out = []
    for prefix, route in _routes(app.routes):
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        assert path and methods, f"{route!r}: decide how access control sees it"
        dependant = getattr(route, "dependant", None)
        params = dependant.path_params if dependant else []
        types = {p.name: p.field_info.annotation for p in params}
        template = _PARAM.sub(r"{\1}", prefix + path)
        url = _PARAM.sub(lambda m, t=types: _param_value(m[1], m[2], t.get(m[1])), prefix + path)
        out.extend((method, template, url) for method in sorted(methods))
    return out


def guarded(app: FastAPI) -> list[tuple[str, str, str]]:
    return [op for op in served_operations(app) if op[:2] not in OPEN]


def refusal(response: httpx.Response) -> str:
    """Why a guarded operation was refused, read from the error shape of its path: MLflow's
    (``error_code``) under MLflow's paths, a problem (``type``) elsewhere."""
    if response.request.url.path.startswith((MLFLOW, MLFLOW_V3)):  # the proxy's paths too
        assert response.headers["content-type"] == "application/json"
        return str(response.json()["error_code"])
    assert response.headers["content-type"] == "application/problem+json"
    return str(response.json()["type"]).rsplit("/", 1)[-1]


def test_the_role_tables_cover_every_route_the_app_serves(secured: TestClient) -> None:
    served = {(m, t) for m, t, _ in served_operations(secured.app)} - OPEN
    assert served - ALL_ROLES.keys() == set(), "decide the role of these routes in a table"
    assert ALL_ROLES.keys() - served == set(), "these routes are gone: drop them from the tables"
    # The OpenAPI document lists the routes of ROLES, and only those.
    documented = {(m, t) for m, t, _ in guarded_operations(secured.app.openapi())}
    assert documented == ROLES.keys()
    for (method, template), role in ALL_ROLES.items():
        needed = required_role(method, template)
        assert needed is not None and needed.value == role, (method, template, needed)
    for method, path in OPEN:
        assert required_role(method, path) is None, path
    for path in ("/", "/ui/runs"):
        assert required_role("POST", path) is None, path
    # A path under MLflow 3's prefix that is not served is guarded too.
    assert required_role("GET", f"{MLFLOW_V3}/traces/tr-1") is not None


def test_tokens_with_the_role_an_operation_needs_pass_its_guard(secured: TestClient) -> None:
    tokens = {role: make_token(secured, role=role) for role in (R, W)} | {A: ADMIN}
    checked = set()
    for method, template, url in guarded(secured.app):
        if template == f"{API}/tokens/configured":
            continue  # it would retire the admin token the other checks use
        token = tokens[ALL_ROLES[(method, template)]]
        response = secured.request(method, url, headers=bearer(token), json={})
        assert response.status_code not in (401, 403), (method, template, response.text)
        checked.add(template)
    # A reader searches MLflow's runs, experiments and models: POSTs that only read.
    assert {f"{MLFLOW}/runs/search", f"{MLFLOW}/experiments/search"} <= checked


def test_openapi_lists_guarded_routes(secured: TestClient) -> None:
    ops = guarded_operations(secured.app.openapi())
    templates = {t for _, t, _ in ops}
    assert f"{API}/experiments" in templates and f"{API}/tokens" in templates
    assert len(ops) > 25
    assert "bearer" in str(secured.app.openapi()["components"]["securitySchemes"]).lower()


def test_every_endpoint_refuses_requests_without_a_valid_token(secured: TestClient) -> None:
    checked = 0
    for method, template, url in guarded(secured.app):
        for headers in ({}, bearer("mt_not-a-token"), {"Authorization": "Basic eDp5"}):
            response = secured.request(method, url, headers=headers)
            assert response.status_code == 401, (method, template, headers, response.text)
            assert refusal(response) in ("unauthorized", "UNAUTHENTICATED"), response.text
            assert response.headers["www-authenticate"].startswith("Bearer")
        checked += 1
    assert checked == len(ALL_ROLES)


def test_every_endpoint_refuses_under_privileged_tokens(secured: TestClient) -> None:
    exp = secured.post(
        f"{API}/experiments", json={"name": "elsewhere"}, headers=bearer(ADMIN)
    ).json()
    # Roles on another experiment only: no global role for anything.
    elsewhere = make_token(secured, experiments={exp["id"]: "admin"})
    reader = make_token(secured, role="reader")
    writer = make_token(secured, role="writer")
    # The routes' paths as ``guarded`` names them, without their converters.
    scoped_routes = {(m, re.sub(r"\{(\w+):\w+\}", r"{\1}", t)) for m, t in guard.SCOPED_ROUTES}
    checked = 0
    for method, template, url in guarded(secured.app):
        if template in AUTHENTICATED_ONLY:
            continue  # any valid token may ask who it is
        needed = ALL_ROLES[(method, template)]
        weaker = {
            "reader": [elsewhere],
            "writer": [elsewhere, reader],
            "admin": [elsewhere, reader, writer],
        }[needed]
        if (method == "GET" and template in SCOPED_LISTS) or scoped_registry(method, template):
            # Lists what its experiments hold (test_scoped_access.py checks what); the
            # registry shows and changes the versions of its experiments
            # (tests/registry/test_registry_scoped.py).
            weaker = [t for t in weaker if t != elsewhere]
        if (method, template) in scoped_routes:
            # MLflow's tracking API decides per experiment: another experiment's entities are
            # missing to such a token (tests/server/test_scoped_access.py).
            weaker = [t for t in weaker if t != elsewhere]
        for token in weaker:
            response = secured.request(method, url, headers=bearer(token), json={})
            assert response.status_code == 403, (method, template, needed, response.text)
            assert refusal(response) in ("forbidden", "PERMISSION_DENIED"), response.text
            checked += 1
    assert checked > 150


@pytest.mark.parametrize("served", ["root_path", "mount"])
def test_the_guard_holds_where_the_app_is_served_under_a_prefix(
    metadata: Metadata, served: str
) -> None:
    """Behind a proxy that strips a prefix (``uvicorn --root-path /trail``) or mounted in
    another ASGI app, the request's path holds the prefix: roles follow the routed path."""
    app = create_app(metadata, auth_settings=AuthSettings(enabled=True, admin_token=ADMIN))
    if served == "mount":
        transport = httpx.ASGITransport(Starlette(routes=[Mount("/trail", app=app)]))
    else:
        transport = httpx.ASGITransport(app, root_path="/trail")

    async def check() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            admin = bearer(ADMIN)
            made = await c.post(
                "/trail/api/v1/tokens", json={"name": "r", "role": "reader"}, headers=admin
            )
            assert made.status_code == 201, made.text
            reader = bearer(made.json()["token"])
            for method, template, url in guarded(app):
                answer = await c.request(method, "/trail" + url)
                assert answer.status_code == 401, (method, template, answer.text)
                if ALL_ROLES[(method, template)] != R or template in AUTHENTICATED_ONLY:
                    continue
                answer = await c.request(method, "/trail" + url, headers=reader, json={})
                assert answer.status_code not in (401, 403), (method, template, answer.text)
            write = await c.post("/trail/api/v1/experiments", json={"name": "e"}, headers=reader)
            assert write.status_code == 403
            me = await c.get("/trail/api/v1/whoami", headers=reader)
            assert me.json()["role"] == "reader"

    asyncio.run(check())


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
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
        assert secured.get(path).status_code == 200, path
    for method, path in OPEN:
        answer = secured.request(method, path.replace("{name}", "x.css"))
        assert answer.status_code not in (401, 403), (method, path)


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
    assert AuthSettings.decide("localhost", auth=None, admin_token=ADMIN).enabled is True
    assert AuthSettings.decide("0.0.0.0", auth=None, admin_token=ADMIN).enabled is True
    assert AuthSettings.decide("0.0.0.0", auth=False, admin_token=None).enabled is False
    with pytest.raises(ValueError, match="MODELTRAIL_ADMIN_TOKEN"):
        AuthSettings.decide("0.0.0.0", auth=None, admin_token=None)
    with pytest.raises(ValueError):
        AuthSettings.decide("::1", auth=True, admin_token=None)
    # An admin token of the store's own stands in for the configured one.
    stored = AuthSettings.decide("0.0.0.0", auth=None, admin_token=None, stored_admin=lambda: True)
    assert stored.enabled is True and stored.admin_token is None
    assert is_loopback("::1") and is_loopback("127.0.0.2") and not is_loopback("10.0.0.1")


@pytest.mark.parametrize("short", ["x", "a" * 31, "correct horse battery staple"])
def test_an_admin_token_shorter_than_32_characters_is_refused(short: str) -> None:
    for host, auth in (("0.0.0.0", None), ("127.0.0.1", None), ("127.0.0.1", False)):
        with pytest.raises(ValueError, match="at least 32 characters"):
            AuthSettings.decide(host, auth=auth, admin_token=short)
    assert AuthSettings.decide("0.0.0.0", auth=None, admin_token="a" * 32).enabled


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


@pytest.mark.slow
def test_server_refuses_a_short_admin_token(tmp_path: Path) -> None:
    env = cli_env()
    env.pop("MODELTRAIL_ADMIN_TOKEN", None)
    for args in (["--admin-token", "x"], ["--host", "0.0.0.0", "--admin-token", "s3cret"]):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "modeltrail",
                "server",
                "--port",
                str(free_port()),
                *args,
                "--database-url",
                f"sqlite:///{tmp_path / 's.db'}",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, result.stdout + result.stderr
        assert "at least 32 characters" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_configured_admin_token_is_rotated_without_downtime(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The procedure of docs/operations.md: a second admin token through the API, the
    configured one retired while the server runs, then a restart without any."""
    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 's.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        _empty(request.getfixturevalue("postgres_metadata"))  # schema in place, tables empty
    server = ServerProcess(url, "--host", "0.0.0.0", "--admin-token", ADMIN, cwd=tmp_path)
    try:
        configured = {"MODELTRAIL_TOKEN": ADMIN}
        ops = _cli(
            tmp_path,
            server.url,
            configured,
            "tokens",
            "create",
            "ops",
            "--role",
            "admin",
            "--expires",
            "90d",
            "--json",
        )
        created = json.loads(ops.stdout)
        assert created["expireTime"] is not None
        new_admin = {"MODELTRAIL_TOKEN": created["token"]}
        pipeline = json.loads(
            _cli(
                tmp_path,
                server.url,
                new_admin,
                "tokens",
                "create",
                "ci",
                "--role",
                "writer",
                "--json",
            ).stdout
        )
        rotated = json.loads(
            _cli(
                tmp_path,
                server.url,
                new_admin,
                "tokens",
                "rotate",
                pipeline["id"],
                "--grace",
                "1h",
                "--json",
            ).stdout
        )
        assert rotated["id"] == pipeline["id"] and rotated["token"] != pipeline["token"]
        for secret in (pipeline["token"], rotated["token"]):  # both, during the grace period
            assert (
                httpx.get(f"{server.url}{API}/experiments", headers=bearer(secret)).status_code
                == 200
            )
        _cli(tmp_path, server.url, new_admin, "tokens", "revoke", "configured")
        assert httpx.get(f"{server.url}{API}/tokens", headers=bearer(ADMIN)).status_code == 401
        assert (
            httpx.get(f"{server.url}{API}/tokens", headers=bearer(created["token"])).status_code
            == 200
        )
        bad = run_cli("tokens", "create", "x", "--expires", "soon", url=server.url, check=False)
        assert bad.returncode == 2 and "--expires" in bad.stderr
    finally:
        server.stop()
    # Started again without the configured token: the store's own admin token is enough.
    env_free = ServerProcess(url, "--host", "0.0.0.0", cwd=tmp_path)
    try:
        answer = httpx.get(f"{env_free.url}{API}/whoami", headers=bearer(created["token"]))
        assert answer.status_code == 200 and answer.json()["name"] == "ops"
        assert httpx.get(f"{env_free.url}{API}/whoami", headers=bearer(ADMIN)).status_code == 401
    finally:
        env_free.stop()
