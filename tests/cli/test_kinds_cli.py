"""``modeltrail kinds register`` with the shipped example kinds, embedded and against a server,
and ``modeltrail server --strict-kinds``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import ServerProcess, run_cli
from modeltrail.errors import InvalidInput
from modeltrail.sdk.connection import Connection

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "kinds"


def register(path: Path, url: str, *, check: bool = True) -> Any:
    return run_cli("kinds", "register", str(path), "--url", url, "--json", check=check)


def test_register_evolve_and_use_the_example_kinds_embedded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    for name in ("validation", "deployment"):
        kind = json.loads(register(EXAMPLES / f"{name}.json", url).stdout)
        assert (kind["name"], kind["version"], kind["open"]) == (name, 1, False)
    # Registering the same file again changes nothing.
    assert json.loads(register(EXAMPLES / "validation.json", url).stdout)["version"] == 1

    # A new version may add an optional attribute ...
    spec = json.loads((EXAMPLES / "validation.json").read_text())
    spec["schema"]["properties"]["threshold"] = {"type": "number"}
    (tmp_path / "v2.json").write_text(json.dumps(spec))
    assert json.loads(register(tmp_path / "v2.json", url).stdout)["version"] == 2
    # ... but not make one required: refused, naming the change.
    spec["schema"]["required"] = ["result", "history"]
    (tmp_path / "v3.json").write_text(json.dumps(spec))
    refused = register(tmp_path / "v3.json", url, check=False)
    assert refused.returncode == 1
    assert "makes attribute(s) history required" in refused.stderr
    assert "register it under a new name" in refused.stderr

    with Connection(url) as conn:
        model = conn.post("/api/v1/artifacts", {"name": "cnn", "kind": "model"})
        valid = conn.post(
            "/api/v1/artifacts",
            {
                "name": "check",
                "kind": "validation",
                "attributes": {"result": "valid", "history": [0.762, 0.914], "model": model["id"]},
            },
        )
        assert valid["kindVersion"] == 2
        deployed = conn.post(
            "/api/v1/artifacts",
            {
                "name": "svc",
                "kind": "deployment",
                "attributes": {
                    "endpoint": "http://seldon.local/cnn",
                    "environment": "production",
                    "model": model["id"],
                },
            },
        )
        referrers = conn.get(
            "/api/v1/artifacts", filter=f"references:eq:{model['id']}", sort="name"
        )
        assert [a["id"] for a in referrers["items"]] == [valid["id"], deployed["id"]]
        with pytest.raises(InvalidInput) as bad:
            conn.post(
                "/api/v1/artifacts",
                {
                    "name": "check",
                    "kind": "validation",
                    "attributes": {"result": "maybe", "history": [1.5]},
                },
            )
        assert {e["pointer"] for e in bad.value.errors} == {
            "/attributes/result",
            "/attributes/history/0",
        }


def test_the_built_in_kinds_are_described_by_what_they_hold(tmp_path: Path) -> None:
    # A user reads these in `kinds list` and the UI: no specification's table numbers.
    url = f"sqlite:///{tmp_path / 'k.db'}"
    with Connection(url):
        pass  # creates the store, with the built-in kinds
    listed = json.loads(run_cli("kinds", "list", "--url", url, "--json").stdout)
    kinds = {k["name"]: k["description"] for k in listed}
    assert set(kinds) >= {"dataset", "model", "metrics", "event"}, kinds
    for name in ("dataset", "model", "metrics", "event"):
        assert kinds[name] and not re.search(r"thesis|Table \d", kinds[name]), (name, kinds[name])


def test_register_the_example_kinds_on_a_server(server: ServerProcess) -> None:
    for name in ("validation", "deployment"):
        kind = json.loads(register(EXAMPLES / f"{name}.json", server.url).stdout)
        assert (kind["name"], kind["version"]) == (name, 1)
    listed = {
        k["name"]: k
        for k in json.loads(run_cli("kinds", "list", "--url", server.url, "--json").stdout)
    }
    assert {"dataset", "model", "metrics", "event", "validation", "deployment"} == set(listed)
    assert listed["deployment"]["schema"]["properties"]["model"]["x-artifact-reference"] is True
    refused = httpx.post(
        f"{server.url}/api/v1/artifacts",
        json={"name": "svc", "kind": "deployment", "attributes": {"environment": "prod"}},
    )
    assert refused.status_code == 422
    assert {e["pointer"] for e in refused.json()["errors"]} == {"/attributes"}
    assert "endpoint" in refused.json()["errors"][0]["detail"]


def test_strict_kinds_server_refuses_unregistered_kinds_until_registered(tmp_path: Path) -> None:
    server = ServerProcess(f"sqlite:///{tmp_path / 'strict.db'}", "--strict-kinds", cwd=tmp_path)
    try:
        body = {"name": "check", "kind": "validation", "attributes": {"result": "failed"}}
        refused = httpx.post(f"{server.url}/api/v1/artifacts", json=body)
        assert refused.status_code == 422
        assert refused.json()["type"].endswith("/unknown-kind")
        assert refused.json()["errors"] == [
            {"pointer": "/kind", "detail": "unknown kind 'validation'"}
        ]
        assert httpx.get(f"{server.url}/api/v1/kinds/validation").status_code == 404

        register(EXAMPLES / "validation.json", server.url)
        assert httpx.post(f"{server.url}/api/v1/artifacts", json=body).status_code == 201
    finally:
        server.stop()


def test_register_refuses_a_file_that_is_not_json(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{name: validation")
    result = register(tmp_path / "broken.json", f"sqlite:///{tmp_path / 'x.db'}", check=False)
    assert result.returncode == 1
    assert "is not JSON" in result.stderr
