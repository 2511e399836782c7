"""The servers the benchmarks measure, started, awaited and stopped in one place.

A benchmark's server is configured by its command line alone: ``MODELTRAIL_*`` variables of
the shell that runs the benchmark (an admin token, an artifacts root) are not passed on, so a
figure does not depend on what the measuring user had exported.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A server process answering at ``url`` once ``health`` answers 200, its output in
    ``workdir/NAME.log`` (quoted when it fails to start).

    It runs in a session of its own and ``stop`` ends the whole session: MLflow's server starts
    workers and job consumers that outlive a stop of its first process.
    """

    def __init__(
        self,
        name: str,
        argv: list[str],
        health: str,
        workdir: Path,
        *,
        port: int,
        env: dict[str, str],
        timeout: float = 180,
    ) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = workdir / f"{name}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                argv,
                cwd=workdir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait(health, timeout)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _wait(self, health: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self._tail()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.url + health, timeout=2).status_code == 200:
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not answer in {timeout:.0f} s: {self._tail()}")
            time.sleep(0.1)

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(30)
                return
            except subprocess.TimeoutExpired:
                continue

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _environment(src: Path, extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELTRAIL_")}
    env["PYTHONPATH"] = str(src) + os.pathsep + os.environ.get("PYTHONPATH", "")
    return {**env, **(extra or {})}


def modeltrail(
    database_url: str,
    workdir: Path,
    *args: str,
    name: str = "modeltrail",
    env: dict[str, str] | None = None,
    src: Path = ROOT / "src",
) -> Server:
    """``modeltrail server`` (one worker) on ``database_url``, from the source tree ``src``
    (another checkout's, to measure a version before a change), with ``args`` added."""
    port = free_port()
    argv = [
        sys.executable, "-m", "modeltrail", "server", "--port", str(port),
        "--database-url", database_url, "--log-level", "warning", *args,
    ]  # fmt: skip
    return Server(name, argv, "/readyz", workdir, port=port, env=_environment(src, env))


def mlflow(workdir: Path, *args: str, name: str = "mlflow", workers: str | None = None) -> Server:
    """``mlflow server`` on a fresh SQLite file ``workdir/NAME.db``, with ``args`` added (where
    its artifacts go) and ``workers`` (its default when None). Its background job runners are
    off: only what it serves is measured."""
    db = workdir / f"{name}.db"
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    port = free_port()
    argv = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", f"sqlite:///{db}", *args,
    ]  # fmt: skip
    if workers is not None:
        argv += ["--workers", workers]
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    return Server(name, argv, "/health", workdir, port=port, env=env)
