"""The connection: retries with backoff on 503 and lost connections, then the spool takes over."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import modeltrail as mt
from modeltrail.errors import Unavailable
from modeltrail.sdk.connection import Connection
from modeltrail.sdk.spool import Spool


class Flaky:
    """A real HTTP server that answers 503 (or ``status``, with ``headers``) to the first
    ``failures`` requests, then 201."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.status = 503
        self.headers: dict[str, str] = {}
        self.requests: list[tuple[float, str, dict]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append((time.monotonic(), self.path, body))
                if len(owner.requests) <= owner.failures:
                    self._answer(
                        owner.status,
                        {
                            "type": "https://modeltrail.dev/problems/unavailable",
                            "title": "Database unavailable",
                            "status": owner.status,
                            "detail": "the database cannot be reached",
                        },
                    )
                else:
                    self._answer(201, {**body, "revision": 1})

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/problem+json")
                self.send_header("Content-Length", str(len(data)))
                if status != 201:
                    for name, value in owner.headers.items():
                        self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def flaky() -> Iterator[Flaky]:
    server = Flaky(failures=2)
    yield server
    server.close()


def test_503_is_retried_with_growing_waits(flaky: Flaky) -> None:
    with Connection(flaky.url, retries=3, backoff=0.05) as conn:
        answer = conn.post("/api/v1/experiments", {"id": "e1", "name": "x"})
    assert answer["revision"] == 1
    times = [t for t, _, _ in flaky.requests]
    assert len(times) == 3 and [b for _, _, b in flaky.requests] == [{"id": "e1", "name": "x"}] * 3
    assert times[2] - times[1] > times[1] - times[0] >= 0.05  # backoff doubles


def test_429_is_retried_no_sooner_than_its_retry_after(flaky: Flaky) -> None:
    flaky.failures, flaky.status, flaky.headers = 1, 429, {"Retry-After": "0.4"}
    with Connection(flaky.url, retries=2, backoff=0.01) as conn:
        answer = conn.post("/api/v1/experiments", {"id": "e1", "name": "x"})
    assert answer["revision"] == 1
    first, second = (t for t, _, _ in flaky.requests)
    assert second - first >= 0.4


def test_503_after_the_retries_is_a_typed_error_or_spooled(flaky: Flaky, tmp_path: Path) -> None:
    flaky.failures = 100
    with (
        Connection(flaky.url, retries=1, backoff=0.01) as conn,
        pytest.raises(Unavailable) as caught,
    ):
        conn.post("/api/v1/experiments", {"name": "x"})
    assert caught.value.detail == "the database cannot be reached"
    spool = tmp_path / "spool.jsonl"
    with mt.connect(flaky.url, spool=spool, retries=1, backoff=0.01) as trail:
        assert trail.send("POST", "/api/v1/experiments", {"id": "e2", "name": "y"}) is None
        assert trail.offline
        assert [e.body for e in Spool(spool).pending(flaky.url)] == [{"id": "e2", "name": "y"}]
        flaky.failures = 0
        assert trail.sync().sent == 1
    assert flaky.requests[-1][2] == {"id": "e2", "name": "y"} and Spool(spool).pending() == []


EMBEDDED = """
import sys, warnings
warnings.simplefilter("error")
import modeltrail as mt
trail = mt.connect("sqlite:///store.db")
with trail.run(experiment="e") as run, run.step("s") as step:
    data = step.output(mt.dataset("s3://b/d.csv"))
assert trail.conn.get(f"/api/v1/artifacts/{data.id}/lineage")["nodes"]
trail.close()
clients = ("starlette.testclient", "fastapi.testclient")
loaded = sorted(m for m in sys.modules if m.startswith(clients))
assert not loaded, loaded
print("ok")
"""


def test_embedded_mode_needs_no_test_client_and_warns_of_nothing(tmp_path: Path) -> None:
    # A fresh interpreter: the test suite itself imports the test client.
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", EMBEDDED],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
