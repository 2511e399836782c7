"""Moving a large file through the server: modeltrail's files API beside ``cp`` on the same
disk and beside MLflow's artifact proxy (``mlflow server --serve-artifacts``).

    python -m benchmarks.files [--mib 1024] [--workdir DIR] [--skip-mlflow] [--parts-at-once N]

One file of random bytes is uploaded and downloaded through each server, over loopback HTTP,
by the same streaming client (httpx; it sends 1 MiB chunks and writes what it receives as it
arrives, the file never held whole). Each server stores into a directory on the same disk as
``cp`` copies to. For each transfer the wall time, the throughput, the CPU time the server and
the client spent on it, and the growth of their resident memory (peak during the transfer minus
before it) are printed side by side: on a shared machine the wall time follows the load, the CPU
time much less so. modeltrail hashes what it receives
(sha256, checked against the declared hash) and flushes it to disk before it answers; ``cp``
does neither, so ``cp`` is shown alone and followed by ``sync``.

The SDK's own upload is measured too: a file past its multipart threshold goes in the parts
the server asks for, ``--parts-at-once`` of them on the way at a time (the SDK's default
unless given; 1 sends them one after another).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks import servers

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 1 << 20


# A transfer: its name, wall seconds, the server's and the client's CPU seconds, and the
# growth of the server's and the client's resident memory (MiB).
Row = tuple[str, float, float, float, float, float]


class Peak:
    """The peak resident memory of a process, and the CPU time it spent, while a block runs.

    A server's worker processes (MLflow's) count as the server; the client's children (the
    servers it started) do not count as the client. They are looked up as the block starts:
    a server starts its workers before it answers, and the scan of every process it takes
    would otherwise cost the client CPU many times a second."""

    def __init__(self, pid: int, *, children: bool = True) -> None:
        self.proc = psutil.Process(pid)
        self.children = children
        self.procs = [self.proc]
        self.before = self.peak = 0
        self.cpu_before = self.cpu_seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def rss(self) -> int:
        total = 0
        for proc in self.procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.memory_info().rss
        return total

    def cpu(self) -> float:
        """User and system CPU seconds so far."""
        total = 0.0
        for proc in self.procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.rss())

    def __enter__(self) -> Peak:
        if self.children:
            self.procs = [self.proc, *self.proc.children(recursive=True)]
        self.before = self.peak = self.rss()
        self.cpu_before = self.cpu()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())
        self.cpu_seconds = self.cpu() - self.cpu_before

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.before) / (1 << 20)


def read_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def measured(server: Peak, client: Peak) -> tuple[float, float, float, float]:
    return server.cpu_seconds, client.cpu_seconds, server.growth_mib, client.growth_mib


def transfer(
    name: str,
    server: subprocess.Popen[bytes],
    source: Path,
    put_url: str,
    get_url: str,
    target: Path,
    params: dict[str, Any] | None = None,
) -> list[Row]:
    size = source.stat().st_size
    client = httpx.Client(timeout=None)
    me = os.getpid()
    rows = []
    with Peak(server.pid) as server_mem, Peak(me, children=False) as client_mem:
        seconds = timed(
            lambda: client.put(
                put_url,
                content=read_chunks(source),
                params=params,
                headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"},
            ).raise_for_status()
        )
    rows.append((f"{name} upload", seconds, *measured(server_mem, client_mem)))

    def download() -> None:
        with client.stream("GET", get_url) as r, open(target, "wb") as out:
            r.raise_for_status()
            for chunk in r.iter_bytes():
                out.write(chunk)

    with Peak(server.pid) as server_mem, Peak(me, children=False) as client_mem:
        seconds = timed(download)
    rows.append((f"{name} download", seconds, *measured(server_mem, client_mem)))
    client.close()
    if target.stat().st_size != size:
        raise RuntimeError(f"{name}: the download has {target.stat().st_size} bytes, not {size}")
    target.unlink()
    return rows


def sdk_upload(
    server: subprocess.Popen[bytes], base: str, artifact: str, source: Path, digest: str
) -> Row:
    from modeltrail.sdk import files as transfer
    from modeltrail.sdk.connection import Connection

    conn = Connection(base)
    size = source.stat().st_size
    try:
        with Peak(server.pid) as server_mem, Peak(os.getpid(), children=False) as client_mem:
            seconds = timed(
                lambda: transfer._upload_in_parts(conn, artifact, "parts.bin", source, size, digest)
            )
    finally:
        conn.close()
    label = f"SDK upload, {transfer.PARTS_AT_ONCE} at once"
    return (label, seconds, *measured(server_mem, client_mem))


def modeltrail(workdir: Path, source: Path, digest: str) -> list[Row]:
    with servers.modeltrail(f"sqlite:///{workdir / 'modeltrail.db'}", workdir) as server:
        base = server.url
        artifact = httpx.post(
            base + "/api/v1/artifacts", json={"name": "big", "kind": "model", "attributes": {}}
        ).json()["id"]
        url = f"{base}/api/v1/artifacts/{artifact}/files/model.bin"
        rows = transfer(
            "modeltrail",
            server.proc,
            source,
            url,
            url,
            workdir / "modeltrail-download.bin",
            params={"sha256": digest},
        )
        return [*rows, sdk_upload(server.proc, base, artifact, source, digest)]


def mlflow(workdir: Path, source: Path) -> list[Row]:
    artifacts = str(workdir / "mlflow-artifacts")
    with servers.mlflow(
        workdir, "--serve-artifacts", "--artifacts-destination", artifacts, workers="1"
    ) as server:
        url = f"{server.url}/api/2.0/mlflow-artifacts/artifacts/big/model.bin"
        return transfer("mlflow", server.proc, source, url, url, workdir / "mlflow-download.bin")


def copy(source: Path, workdir: Path) -> list[Row]:
    target = workdir / "cp-copy.bin"
    rows = []
    for label, command in (
        ("cp", f"cp {source} {target}"),
        ("cp + sync", f"cp {source} {target} && sync"),
    ):
        seconds = timed(lambda command=command: subprocess.run(command, shell=True, check=True))
        rows.append((label, seconds, 0.0, 0.0, 0.0, 0.0))
        target.unlink()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="size of the file (MiB)")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument(
        "--parts-at-once", type=int, default=None, help="the SDK's parts on the way at a time"
    )
    args = parser.parse_args()
    if args.parts_at_once is not None:
        from modeltrail.sdk import files as transfer

        transfer.PARTS_AT_ONCE = max(1, args.parts_at_once)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="modeltrail-files-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "source.bin"
    digest = hashlib.sha256()
    with open(source, "wb") as f:
        for _ in range(args.mib):
            block = os.urandom(CHUNK)
            digest.update(block)
            f.write(block)
    size = source.stat().st_size
    # The source's own pages on disk first: no transfer pays for writing them back.
    subprocess.run(["sync"], check=True)
    rows = copy(source, workdir)
    rows += modeltrail(workdir, source, digest.hexdigest())
    if not args.skip_mlflow:
        rows += mlflow(workdir, source)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{args.mib} MiB file, {os.cpu_count()} CPUs (load average {load}), in {workdir}\n")
    header = f"| {'transfer':<22} | {'seconds':>8} | {'MiB/s':>7} |"
    print(header + " server CPU s | client CPU s | server RSS growth | client RSS growth |")
    widths = (22, 8, 7, 11, 11, 16, 16)
    print(
        "| " + " | ".join("-" * w if i == 0 else "-" * w + ":" for i, w in enumerate(widths)) + " |"
    )
    for label, seconds, server_cpu, client_cpu, server_mib, client_mib in rows:
        rate = size / (1 << 20) / seconds
        print(
            f"| {label:<22} | {seconds:8.2f} | {rate:7.0f} | {server_cpu:12.2f} | "
            f"{client_cpu:12.2f} | {server_mib:13.1f} MiB | {client_mib:13.1f} MiB |"
        )
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
