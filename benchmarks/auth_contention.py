"""A reader among writers, with access control on and off: what checking a token costs.

    python -m benchmarks.auth_contention --writers 16 --duration 45

Starts one ``modeltrail server`` on a fresh SQLite file (``--database-url`` for another
store), then for each setting (access control off, then on) runs ``--writers`` threads that
create runs over HTTP as fast as the server takes them, and one reader, in a process of its
own, that reads one experiment over and over. Reports the reader's reads and their latency
(p50, p99) and the writers' writes, per setting. ``--src`` runs the server from another
source tree (to measure a version before a change).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import secrets
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks import servers

ROOT = Path(__file__).resolve().parents[1]
API = "/api/v1"


def _reader(base: str, headers: dict[str, str], path: str, seconds: float, out: Any) -> None:
    latencies, errors = [], 0
    with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            start = time.perf_counter()
            status = c.get(path).status_code
            latencies.append(time.perf_counter() - start)
            errors += status != 200
    out.put({"latencies": latencies, "errors": errors})


def measure(base: str, headers: dict[str, str], *, writers: int, seconds: float) -> dict[str, Any]:
    with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
        experiment = c.post(f"{API}/experiments", json={"name": "contention"}).json()["id"]
    stop = threading.Event()
    writes = [0] * writers
    write_errors = [0] * writers

    def write(i: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
            while not stop.is_set():
                response = c.post(f"{API}/runs", json={"experiment": experiment, "name": f"w{i}"})
                writes[i] += response.status_code == 201
                write_errors[i] += response.status_code != 201

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    time.sleep(1)  # the writers at full speed before the reader starts
    queue: Any = multiprocessing.get_context("spawn").Queue()
    reader = multiprocessing.get_context("spawn").Process(
        target=_reader, args=(base, headers, f"{API}/experiments/{experiment}", seconds, queue)
    )
    reader.start()
    result = queue.get()
    reader.join()
    stop.set()
    for t in threads:
        t.join()
    lat = sorted(result["latencies"])

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 1) if lat else 0.0

    return {
        "reads": len(lat),
        "readP50Ms": pct(0.50),
        "readP99Ms": pct(0.99),
        "readErrors": result["errors"],
        "writes": sum(writes),
        "writeErrors": sum(write_errors),
    }


def run(url: str | None, src: Path, *, writers: int, seconds: float) -> dict[str, Any]:
    report: dict[str, Any] = {"writers": writers, "seconds": seconds, "src": str(src)}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for auth in (False, True):
            store = url or f"sqlite:///{workdir / ('on' if auth else 'off')}.db"
            admin = secrets.token_urlsafe(32)
            access = ["--admin-token", admin] if auth else ["--no-auth"]
            with servers.modeltrail(store, workdir, *access, src=src) as server:
                base = server.url
                headers: dict[str, str] = {}
                if auth:
                    made = httpx.post(
                        f"{base}{API}/tokens",
                        json={"name": "bench", "role": "writer"},
                        headers={"Authorization": f"Bearer {admin}"},
                    ).json()
                    headers = {"Authorization": f"Bearer {made['token']}"}
                report["on" if auth else "off"] = measure(
                    base, headers, writers=writers, seconds=seconds
                )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--duration", type=float, default=45, help="seconds per setting")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the server's source")
    args = parser.parse_args()
    print(
        json.dumps(
            run(args.database_url, args.src, writers=args.writers, seconds=args.duration),
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
