"""Faults: the database going away and coming back (the server killed: test_crash.py)."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from pgcluster import PrivateCluster, available

from conftest import ServerProcess
from modeltrail.errors import Unavailable
from modeltrail.sdk.connection import Connection

API = "/api/v1"


def _setup(url: str) -> tuple[str, str]:
    with httpx.Client(base_url=url, timeout=30) as c:
        exp = c.post(f"{API}/experiments", json={"name": "stream"}).json()["id"]
        exe = c.post(f"{API}/executables", json={"name": "step"}).json()["id"]
    return exp, exe


@pytest.mark.slow
@pytest.mark.skipif(
    not available(), reason="PostgreSQL server binaries (initdb, pg_ctl) are not installed"
)
def test_database_going_away_answers_503_and_the_server_recovers(tmp_path: Path) -> None:
    cluster = PrivateCluster()
    cluster.start()
    server = None
    try:
        server = ServerProcess(cluster.url, cwd=tmp_path)
        exp, _ = _setup(server.url)
        with httpx.Client(base_url=server.url, timeout=30) as c:
            before = c.post(f"{API}/runs", json={"experiment": exp, "name": "before"}).json()

            cluster.stop()
            for _ in range(3):
                down = c.post(f"{API}/runs", json={"experiment": exp, "name": "during"})
                assert down.status_code == 503, down.text
                assert int(down.headers["Retry-After"]) > 0
                assert down.headers["content-type"] == "application/problem+json"
                assert "psycopg" not in down.text and "SELECT" not in down.text
                assert c.get(f"{API}/runs/{before['id']}").status_code == 503
            assert c.get("/readyz").status_code == 503
            assert c.get("/healthz").status_code == 200

            # The SDK retries 503 with backoff: a write sent during the outage lands afterwards.
            result: dict = {}

            def retrying_write() -> None:
                with Connection(server.url, retries=12, backoff=0.25) as conn:
                    try:
                        result["run"] = conn.post(
                            f"{API}/runs",
                            {"id": str(uuid.uuid4()), "experiment": exp, "name": "queued"},
                        )
                    except Unavailable as exc:  # pragma: no cover - reported below
                        result["error"] = exc

            sdk = threading.Thread(target=retrying_write)
            sdk.start()
            time.sleep(1.0)
            cluster.start()
            sdk.join(120)
            assert "run" in result, result

            deadline = time.monotonic() + 30
            while c.get("/readyz").status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            after = c.post(f"{API}/runs", json={"experiment": exp, "name": "after"})
            assert after.status_code == 201, after.text
            names = {r["name"] for r in c.get(f"{API}/runs", params={"limit": 100}).json()["items"]}
            assert names == {"before", "queued", "after"}
    finally:
        if server is not None:
            server.stop()
        cluster.destroy()
