"""The plugin component: loading, configuration, hooks on every write, harmless failures."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from conftest import ServerProcess, run_cli
from modeltrail.plugins.manager import BUILTIN, PluginError, PluginManager
from modeltrail.server.app import create_app
from modeltrail.services.metadata import Metadata, NoHooks

HERE = Path(__file__).parent
API = "/api/v1"


def _artifact(client: TestClient | httpx.Client, name: str = "digits") -> dict:
    response = client.post(
        f"{API}/artifacts", json={"name": name, "kind": "dataset", "annotations": {"a": "b"}}
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_hooks_run_on_every_write_and_failures_are_reported(metadata: Metadata) -> None:
    hooks = PluginManager(
        ["sample_plugins:Enricher", "sample_plugins:Broken", "sample_plugins:Invalid"],
        {"sample_plugins:Enricher": {"stamp": "v1"}},
    )
    metadata.hooks = hooks
    hooks.start(metadata)
    try:
        with TestClient(create_app(metadata)) as client:
            stored = _artifact(client)
            # The enricher's change is kept; the broken and invalid plugins cost nothing.
            assert stored["annotations"] == {"a": "b", "enriched-by": "v1"}
            experiment = client.post(f"{API}/experiments", json={"name": "e"}).json()
            client.patch(f"{API}/experiments/{experiment['id']}", json={"annotations": {"k": "v"}})
            status = {p["name"]: p for p in client.get(f"{API}/plugins").json()["items"]}
    finally:
        metadata.hooks = NoHooks()  # the PostgreSQL store is shared by the session
    enricher = hooks.states["sample_plugins:Enricher"].plugin
    assert enricher.stored == [
        ("artifact", "create", stored["id"]),
        ("experiment", "create", experiment["id"]),
        ("experiment", "update", experiment["id"]),
    ]
    assert status["sample_plugins:Enricher"]["errors"] == 0
    assert status["sample_plugins:Enricher"]["status"] == {"stored": 3}
    broken = status["sample_plugins:Broken"]
    assert broken["errors"] == 6 and broken["calls"] == 6  # enrich + stored, three writes
    assert broken["lastError"]["hook"] == "modeltrail_stored"
    assert broken["lastError"]["error"] == "RuntimeError: stored exploded on experiment"
    assert (
        broken["lastError"]["entity"] == "experiment" and broken["lastError"]["action"] == "update"
    )
    invalid = status["sample_plugins:Invalid"]
    assert invalid["errors"] == 1 and "annotations" in invalid["lastError"]["error"]
    assert sorted(broken["hooks"]) == ["modeltrail_enrich", "modeltrail_stored"]


def test_configuration_from_flags_environment_and_file(tmp_path: Path) -> None:
    config = tmp_path / "plugins.yaml"
    config.write_text(
        "plugins:\n  sample_plugins:Enricher:\n    stamp: from-file\n    retries: 3\n"
        "  notifications:\n    enabled: false\n"
    )
    env = {
        "MODELTRAIL_PLUGINS": "sample_plugins:Broken",
        "MODELTRAIL_PLUGIN_SAMPLE_PLUGINS:ENRICHER_STAMP": "env",
    }
    hooks = PluginManager.from_config(["sample_plugins:Invalid"], str(config), env)
    assert list(hooks.states) == [
        "sample_plugins:Invalid",
        "sample_plugins:Broken",
        "sample_plugins:Enricher",
    ]
    assert hooks.states["sample_plugins:Enricher"].settings == {"stamp": "env", "retries": 3}
    assert "notifications" not in hooks.states  # listed but switched off
    with pytest.raises(PluginError, match="no plugin is named 'nope'"):
        PluginManager(["nope"])
    assert set(BUILTIN) <= {"notifications", "mlflow-registry", "openlineage"}


def test_entry_points_are_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "acme_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[modeltrail.plugins]\nacme = sample_plugins:Enricher\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    hooks = PluginManager(["acme"])
    assert hooks.states["acme"].source == "entry point sample_plugins:Enricher"
    assert [s["name"] for s in hooks.status()] == ["acme"]


@pytest.mark.slow
def test_server_switches_plugins_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(HERE))
    monkeypatch.setenv("MODELTRAIL_PLUGIN_SAMPLE_PLUGINS:ENRICHER_STAMP", "server")
    server = ServerProcess(
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        "--plugin",
        "sample_plugins:Enricher",
        "--plugin",
        "sample_plugins:Broken",
        cwd=tmp_path,
    )
    try:
        with httpx.Client(base_url=server.url) as client:
            assert _artifact(client)["annotations"]["enriched-by"] == "server"
            items = client.get(f"{API}/plugins").json()["items"]
            assert [(p["name"], p["errors"]) for p in items] == [
                ("sample_plugins:Enricher", 0),
                ("sample_plugins:Broken", 2),
            ]
    finally:
        server.stop()
    refused = run_cli(
        "server",
        "--plugin",
        "no-such-plugin",
        "--database-url",
        f"sqlite:///{tmp_path / 'x.db'}",
        cwd=tmp_path,
        check=False,
    )
    assert (
        refused.returncode == 2
        and "no plugin is named 'no-such-plugin'" in refused.stderr + refused.stdout
    )
