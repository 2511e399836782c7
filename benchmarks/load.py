"""Load test: several ``modeltrail server`` processes on one PostgreSQL behind nginx.

    python benchmarks/load.py --servers 3 --clients 50 --duration 30

Starts a private PostgreSQL cluster (or uses ``--database-url``), N server processes and an
nginx that balances over them, then runs C concurrent clients for a fixed time. Each client
writes a run, an artifact and an execution that reads it (client-chosen ids), reads them back
and lists artifacts. Reports throughput, error rate and latency, then checks that every
acknowledged write is stored exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file finds its sibling modules from the repository's root.
sys.path.insert(0, str(ROOT))
from benchmarks.nginx_proxy import nginx_binary, start_nginx  # noqa: E402
from benchmarks.servers import free_port, modeltrail  # noqa: E402

API = "/api/v1"


# The upstream keep-alive stays below uvicorn's 5 s: nginx must never reuse a connection the
# server is closing (a POST on such a connection is answered 502 and, not being idempotent,
# not retried).
UPSTREAM = """  upstream modeltrail {{
    least_conn;
{servers}
    keepalive 64;
    keepalive_timeout 4s;
  }}"""
LOCATION = """    client_max_body_size 16m;
    location / {
      proxy_pass http://modeltrail;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Request-ID $request_id;
      proxy_read_timeout 60s;
    }"""


class Stack:
    """PostgreSQL (given), N servers, one nginx in front."""

    def __init__(self, database_url: str, servers: int, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[subprocess.Popen[bytes]] = []  # nginx
        env = dict(
            os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")
        )
        # Create the schema once, before the servers race to do it.
        subprocess.run(
            [sys.executable, "-m", "modeltrail", "db", "upgrade", "--database-url", database_url],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.servers = [
            modeltrail(database_url, workdir, name=f"server-{i}") for i in range(servers)
        ]
        self.ports = [server.port for server in self.servers]
        self.port = free_port()
        ngx = workdir / "nginx"
        ngx.mkdir()
        servers = "\n".join(f"    server 127.0.0.1:{p};" for p in self.ports)
        self.procs.append(
            start_nginx(
                ngx,
                port=self.port,
                server=LOCATION,
                upstream=UPSTREAM.format(servers=servers),
                workers=2,
                connections=2048,
            )
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait(self.url + "/readyz")

    def _wait(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{url} did not become ready")

    def close(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        for server in self.servers:
            server.stop()


@dataclass
class Result:
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    acked: dict[str, list[str]] = field(
        default_factory=lambda: {"runs": [], "artifacts": [], "executions": []}
    )
    error_samples: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def report(self) -> dict[str, float | int]:
        lat = sorted(self.latencies) or [0.0]
        return {
            "requests": self.requests,
            "errors": self.errors,
            "errorRate": self.errors / max(self.requests, 1),
            "seconds": round(self.seconds, 2),
            "throughput": round(self.requests / max(self.seconds, 1e-9), 1),
            "writesAcknowledged": sum(len(v) for v in self.acked.values()),
            "p50Ms": round(statistics.median(lat) * 1000, 1),
            "p95Ms": round(lat[int(len(lat) * 0.95) - 1 if len(lat) > 1 else 0] * 1000, 1),
            "p99Ms": round(lat[int(len(lat) * 0.99) - 1 if len(lat) > 1 else 0] * 1000, 1),
        }


async def _client(
    c: httpx.AsyncClient, experiment: str, executable: str, until: float, r: Result
) -> None:
    async def call(method: str, path: str, **kw: object) -> httpx.Response | None:
        start = time.perf_counter()
        try:
            response = await c.request(method, path, **kw)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            r.requests += 1
            r.errors += 1
            r.error_samples.append(f"{method} {path}: {exc!r}")
            return None
        r.latencies.append(time.perf_counter() - start)
        r.requests += 1
        if response.status_code >= 400:
            r.errors += 1
            r.error_samples.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
            return None
        return response

    i = 0
    while time.monotonic() < until:
        i += 1
        run_id, art_id, ex_id = (str(uuid.uuid4()) for _ in range(3))
        if await call(
            "POST",
            f"{API}/runs",
            json={"id": run_id, "experiment": experiment, "name": f"load-{i}"},
        ):
            r.acked["runs"].append(run_id)
        if await call(
            "POST",
            f"{API}/artifacts",
            json={
                "id": art_id,
                "name": f"data-{i}",
                "kind": "dataset",
                "uri": f"s3://load/{art_id}",
            },
        ):
            r.acked["artifacts"].append(art_id)
        if await call(
            "POST",
            f"{API}/executions",
            json={
                "id": ex_id,
                "run": run_id,
                "executable": executable,
                "name": "step",
                "kind": "train",
                "inputArtifacts": [art_id],
            },
        ):
            r.acked["executions"].append(ex_id)
        await call("GET", f"{API}/executions/{ex_id}")
        await call("GET", f"{API}/artifacts", params={"limit": 20, "filter": "kind:eq:dataset"})


async def _run_clients(url: str, clients: int, duration: float) -> Result:
    r = Result()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as c:
        experiment = (await c.post(f"{API}/experiments", json={"name": "load"})).json()["id"]
        executable = (await c.post(f"{API}/executables", json={"name": "load-step"})).json()["id"]
        start = time.monotonic()
        until = start + duration
        await asyncio.gather(
            *(_client(c, experiment, executable, until, r) for _ in range(clients))
        )
        r.seconds = time.monotonic() - start
    return r


def lost_writes(database_url: str, r: Result) -> dict[str, int]:
    """How many acknowledged writes are not stored exactly once, per table."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    lost = {}
    with engine.connect() as conn:
        for table, ids in r.acked.items():
            found = 0
            for k in range(0, len(ids), 1000):
                chunk = ids[k : k + 1000]
                found += conn.execute(
                    text(f"SELECT count(*) FROM {table} WHERE CAST(id AS TEXT) = ANY(:ids)"),
                    {"ids": chunk},
                ).scalar_one()
            lost[table] = len(ids) - found
    engine.dispose()
    return lost


def run_load(
    database_url: str, *, servers: int, clients: int, duration: float
) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="modeltrail-load-") as tmp:
        stack = Stack(database_url, servers, Path(tmp))
        try:
            r = asyncio.run(_run_clients(stack.url, clients, duration))
        finally:
            stack.close()
    report: dict[str, object] = {"servers": servers, "clients": clients, **r.report()}
    report["lostWrites"] = lost_writes(database_url, r)
    report["errorSamples"] = r.error_samples[:5]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument(
        "--database-url", help="an empty PostgreSQL database (default: a private cluster)"
    )
    args = parser.parse_args()
    if not nginx_binary():
        sys.exit("nginx is not installed (apt-get install nginx)")
    cluster = None
    url = args.database_url
    if url is None:
        sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "tests" / "faults")]
        from pgcluster import PrivateCluster

        cluster = PrivateCluster()
        cluster.start()
        url = cluster.url
    try:
        print(
            json.dumps(
                run_load(url, servers=args.servers, clients=args.clients, duration=args.duration),
                indent=2,
            )
        )
    finally:
        if cluster is not None:
            cluster.destroy()


if __name__ == "__main__":
    main()
