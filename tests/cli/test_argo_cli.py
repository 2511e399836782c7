"""``modeltrail argo import`` from a file, from stdin and from an Argo Server over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import cli_env, run_cli
from modeltrail.integrations.argo.translator import derived_id
from modeltrail.services.metadata import Metadata

FIXTURES = Path(__file__).parents[1] / "fixtures" / "argo"
TOKEN = "v2:argo-token"


class FakeArgoServer:
    """A tiny Argo Server on loopback: ``GET /api/v1/workflows/{ns}/{name}`` with a bearer token."""

    def __init__(self, workflows: dict[tuple[str, str], dict[str, Any]]) -> None:
        self.requests: list[tuple[str, str | None]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                outer.requests.append((self.path, self.headers.get("Authorization")))
                parts = self.path.strip("/").split("/")
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._answer(401, {"code": 16, "message": "token not valid"})
                elif (
                    parts[:3] == ["api", "v1", "workflows"]
                    and len(parts) == 5
                    and tuple(parts[3:]) in workflows
                ):
                    self._answer(200, workflows[(parts[3], parts[4])])
                else:
                    self._answer(404, {"code": 5, "message": "workflows.argoproj.io not found"})

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def argo_server() -> Iterator[FakeArgoServer]:
    wf = json.loads(
        json.dumps(
            yaml.safe_load((FIXTURES / "util_test__dagDiamondRetry.yaml").read_text()), default=str
        )
    )
    server = FakeArgoServer({(wf["metadata"]["namespace"], wf["metadata"]["name"]): wf})
    yield server
    server.close()


def test_pull_from_an_argo_server(tmp_path: Path, argo_server: FakeArgoServer) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    out = run_cli(
        "argo",
        "import",
        "--server",
        argo_server.url,
        "--namespace",
        "argo",
        "--name",
        "dag-diamond-82q7s",
        "--token",
        TOKEN,
        "--url",
        db,
        "--json",
        cwd=tmp_path,
    )
    result = json.loads(out.stdout)
    assert argo_server.requests == [("/api/v1/workflows/argo/dag-diamond-82q7s", f"Bearer {TOKEN}")]
    meta = Metadata.open(db)
    try:
        run = meta.read("run", uuid.UUID(result["run"]))
        assert run.id == derived_id("run", "dd3d2674-43d8-446a-afdf-17ec95afade2")
        assert run.name == "dag-diamond-82q7s" and run.status == "SUCCESS"
        assert meta.list("execution", _options(f"run:eq:{run.id}")).total == 4
    finally:
        meta.close()
    # Pulled again: the same run, nothing new.
    again = json.loads(
        run_cli(
            "argo",
            "import",
            "--server",
            argo_server.url,
            "--namespace",
            "argo",
            "--name",
            "dag-diamond-82q7s",
            "--token",
            TOKEN,
            "--url",
            db,
            "--json",
            cwd=tmp_path,
        ).stdout
    )
    assert again == result

    refused = run_cli(
        "argo",
        "import",
        "--server",
        argo_server.url,
        "--namespace",
        "argo",
        "--name",
        "dag-diamond-82q7s",
        "--token",
        "wrong",
        "--url",
        db,
        cwd=tmp_path,
        check=False,
    )
    assert refused.returncode == 1 and "401" in refused.stderr
    missing = run_cli(
        "argo",
        "import",
        "--server",
        argo_server.url,
        "--namespace",
        "argo",
        "--name",
        "nope",
        "--token",
        TOKEN,
        "--url",
        db,
        cwd=tmp_path,
        check=False,
    )
    assert missing.returncode == 1 and "404" in missing.stderr


def test_file_and_stdin(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    path = FIXTURES / "operator_test__marksWFSucceeded.yaml"
    first = json.loads(
        run_cli("argo", "import", str(path), "--url", db, "--json", cwd=tmp_path).stdout
    )
    as_json = json.dumps(yaml.safe_load(path.read_text()), default=str)
    piped = subprocess.run(
        [sys.executable, "-m", "modeltrail", "argo", "import", "-", "--url", db, "--json"],
        input=as_json,
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=tmp_path,
        timeout=120,
    )
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout) == first
    assert first["executions"] == 6 and first["artifacts"] == 9
    wrong = run_cli(
        "argo",
        "import",
        str(FIXTURES.parent / "argo-events" / "sensors__minio.yaml"),
        "--url",
        db,
        cwd=tmp_path,
        check=False,
    )
    assert wrong.returncode == 1 and "expected a Workflow" in wrong.stderr
    (tmp_path / "broken.yaml").write_text("kind: Workflow\nmetadata: [unclosed\n")
    broken = run_cli("argo", "import", "broken.yaml", "--url", db, cwd=tmp_path, check=False)
    assert broken.returncode == 1 and "cannot read broken.yaml" in broken.stderr
    assert "Traceback" not in broken.stderr


def _options(filter_text: str) -> Any:
    from modeltrail.domain.filters import ListOptions, parse_filters

    return ListOptions(filters=tuple(parse_filters([filter_text])), count=True)
