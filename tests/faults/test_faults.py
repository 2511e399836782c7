"""Faults: the server killed mid-stream, the database going away and coming back."""

from __future__ import annotations

import os
import signal
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
from modeltrail.services.metadata import Metadata

API = "/api/v1"


def _setup(url: str) -> tuple[str, str]:
    with httpx.Client(base_url=url, timeout=30) as c:
        exp = c.post(f"{API}/experiments", json={"name": "stream"}).json()["id"]
        exe = c.post(f"{API}/executables", json={"name": "step"}).json()["id"]
    return exp, exe


def _write_stream(url: str, exp: str, exe: str, acked: list[dict], stop: threading.Event) -> None:
    """Runs whose one step reads and writes artifacts, all sent in one request each."""
    with httpx.Client(base_url=url, timeout=10) as c:
        i = 0
        while not stop.is_set():
            i += 1
            try:
                run = c.post(
                    f"{API}/runs",
                    json={"id": str(uuid.uuid4()), "experiment": exp, "name": f"r{i}"},
                )
                if run.status_code != 201:
                    continue
                ins = [
                    c.post(
                        f"{API}/artifacts",
                        json={"id": str(uuid.uuid4()), "name": f"in{i}-{k}", "kind": "dataset"},
                    )
                    for k in range(2)
                ]
                outs = [
                    c.post(
                        f"{API}/artifacts",
                        json={"id": str(uuid.uuid4()), "name": f"out{i}", "kind": "model"},
                    )
                ]
                if any(r.status_code != 201 for r in ins + outs):
                    continue
                ex = c.post(
                    f"{API}/executions",
                    json={
                        "id": str(uuid.uuid4()),
                        "run": run.json()["id"],
                        "executable": exe,
                        "name": "s",
                        "kind": "train",
                        "inputArtifacts": [r.json()["id"] for r in ins],
                        "outputArtifacts": [r.json()["id"] for r in outs],
                    },
                )
                if ex.status_code == 201:
                    acked.append(ex.json())
            except httpx.TransportError:
                return  # the server is gone


@pytest.mark.slow
def test_sigkill_mid_stream_keeps_every_acknowledged_write(
    metadata: Metadata, tmp_path: Path
) -> None:
    url = metadata.db.url
    server = ServerProcess(url, cwd=tmp_path)
    exp, exe = _setup(server.url)
    acked: list[dict] = []
    stop = threading.Event()
    writer = threading.Thread(target=_write_stream, args=(server.url, exp, exe, acked, stop))
    writer.start()
    deadline = time.monotonic() + 60
    while len(acked) < 15 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)
    stop.set()
    writer.join(30)
    assert len(acked) >= 15

    restarted = ServerProcess(url, cwd=tmp_path)
    try:
        with httpx.Client(base_url=restarted.url, timeout=30) as c:
            for ex in acked:
                stored = c.get(f"{API}/executions/{ex['id']}")
                assert stored.status_code == 200, ex["id"]
                assert stored.json()["inputArtifacts"] == ex["inputArtifacts"]
                assert stored.json()["outputArtifacts"] == ex["outputArtifacts"]
            # No half-written execution: every stored one has all of its edges.
            page = c.get(f"{API}/executions", params={"limit": 1000}).json()["items"]
            assert len(page) >= len(acked)
            for ex in page:
                assert len(ex["inputArtifacts"]) == 2 and len(ex["outputArtifacts"]) == 1
    finally:
        restarted.stop()


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
