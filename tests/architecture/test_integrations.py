"""Adding an integration is adding a folder to ``modeltrail.integrations`` and a line to
``INTEGRATIONS``: the server mounts its routes and the command line adds its commands."""

from __future__ import annotations

import dataclasses
from importlib import import_module
from pathlib import Path

import pytest
import typer
from fastapi import APIRouter
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from modeltrail import cli, integrations
from modeltrail.integrations import API, INTEGRATIONS, Integration
from modeltrail.server.app import create_app
from modeltrail.server.bodies import BodyRoute
from modeltrail.services.metadata import Metadata

FOLDER = Path(integrations.__file__).parent
SAMPLE = Integration(
    "sample",
    routes="tests.architecture.sample_slice",
    commands="tests.architecture.sample_slice",
)


def test_every_folder_is_listed_once() -> None:
    folders = sorted(p.name for p in FOLDER.iterdir() if (p / "__init__.py").exists())
    names = [i.name for i in INTEGRATIONS]
    assert sorted(names) == folders
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("integration", INTEGRATIONS, ids=lambda i: i.name)
def test_what_is_listed_is_there(integration: Integration) -> None:
    prefix = f"{integrations.__name__}.{integration.name}."
    if integration.routes:
        assert integration.routes.startswith(prefix)
        assert isinstance(import_module(integration.routes).router, APIRouter)
    if integration.commands:
        assert integration.commands.startswith(prefix)
        assert callable(import_module(integration.commands).register)


def test_a_listed_slice_is_served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(integrations, "INTEGRATIONS", (*INTEGRATIONS, SAMPLE))
    meta = Metadata.open(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with TestClient(create_app(meta)) as client:
            answer = client.post(f"{API}/sample/echo", json={"said": "hi"})
            assert answer.json() == {"said": "hi", "store": "Metadata"}
            # Read and checked as every other route's body is.
            refused = client.post(
                f"{API}/sample/echo", content=b"{", headers={"content-type": "application/json"}
            )
            assert refused.status_code == 422
            assert refused.headers["content-type"] == "application/problem+json"
            route = next(
                r for r in client.app.routes if getattr(r, "path", "") == f"{API}/sample/echo"
            )
            assert isinstance(route, BodyRoute)
            assert "sampleEcho" in str(client.get("/openapi.json").json())
    finally:
        meta.close()
    # Unlisted, it is not served.
    monkeypatch.setattr(integrations, "INTEGRATIONS", INTEGRATIONS)
    meta = Metadata.open(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with TestClient(create_app(meta)) as client:
            assert client.post(f"{API}/sample/echo", json={}).status_code == 404
    finally:
        meta.close()


def test_a_listed_slice_adds_its_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    app = typer.Typer()

    @app.command("store")
    def store() -> None: ...

    monkeypatch.setattr(cli, "app", app)
    monkeypatch.setattr(cli, "INTEGRATIONS", (SAMPLE,))
    assert cli._add_integrations() == ["sample"]
    result = CliRunner().invoke(app, ["sample", "hello"])
    assert result.output == "hello from the sample\n", result.output


def test_integrations_commands_are_in_their_panel() -> None:
    listed = [i for i in INTEGRATIONS if i.commands]
    assert listed
    panels = {g.name: g.rich_help_panel for g in cli.app.registered_groups}
    for integration in listed:
        assert panels[integration.name] == "Integrations"


def test_an_integration_is_a_frozen_line() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SAMPLE.name = "other"  # type: ignore[misc]
