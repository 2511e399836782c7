"""Every command that deletes takes ``--json`` and prints one JSON document saying what went,
as the commands that create do."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli
from modeltrail.sdk.connection import Connection

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "kinds"


def _json(*args: str, url: str) -> object:
    return json.loads(run_cli(*args, "--json", url=url).stdout)


def test_each_delete_prints_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with Connection(url, create=True) as conn:
        experiment = conn.post("/api/v1/experiments", {"name": "old"})["id"]
        artifact = conn.post("/api/v1/artifacts", {"name": "clf", "kind": "model"})["id"]
        conn.post("/api/v1/kinds", json.loads((EXAMPLES / "validation.json").read_text()))
        conn.post("/api/v1/models", {"name": "digits"})
        for version in ("1", "2"):
            model = conn.post(
                "/api/v1/artifacts", {"name": "digits", "version": version, "kind": "model"}
            )
            conn.post("/api/v1/models/digits/versions", {"artifact": model["id"]})
        token = conn.post("/api/v1/tokens", {"name": "ci", "role": "reader"})["id"]

    assert _json("experiments", "delete", "old", url=url) == {
        "deleted": "experiment",
        "id": experiment,
    }
    assert _json("kinds", "delete", "validation", "--version", "1", url=url) == {
        "deleted": "kind",
        "name": "validation",
        "version": 1,
    }
    assert _json("models", "delete", "digits", "--version", "2", url=url) == {
        "deleted": "version",
        "name": "digits",
        "version": 2,
    }
    assert _json("models", "delete", "digits", url=url) == {"deleted": "model", "name": "digits"}
    assert _json("artifacts", "delete", artifact, url=url) == {
        "deleted": "artifact",
        "id": artifact,
    }
    assert _json("tokens", "revoke", token, url=url) == {"revoked": "token", "id": token}


def test_unflag_prints_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with Connection(url, create=True) as conn:
        artifact = conn.post("/api/v1/artifacts", {"name": "digits", "kind": "dataset"})["id"]
    run_cli("flag", artifact, "--reason", "letters, not digits", url=url)
    assert _json("unflag", artifact, url=url) == {"unflagged": "artifact", "id": artifact}
    assert _json("flags", url=url)["items"] == []
