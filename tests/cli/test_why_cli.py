"""`why` on a model with nothing earlier to compare says how to name one, as the CLI spells it."""

from __future__ import annotations

import httpx

from conftest import ServerProcess, run_cli


def test_why_without_an_earlier_model_names_the_option(server: ServerProcess) -> None:
    created = httpx.post(
        f"{server.url}/api/v1/artifacts",
        json={"name": "lonely-model", "kind": "model", "uri": "s3://m/1"},
    )
    assert created.status_code == 201, created.text
    result = run_cli("why", "lonely-model", url=server.url, check=False)
    assert result.returncode != 0
    message = " ".join((result.stdout + result.stderr).split())
    assert "--against" in message, message
    assert "Traceback" not in message
