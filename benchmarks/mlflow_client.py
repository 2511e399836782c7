"""MLflow's own client, one workload, against ``mlflow server`` and ``modeltrail server``.

Each run: create it in one experiment, log 10 params and 5 tags, 3 metrics of 100 steps (one
``log_metrics`` call per step, as a training loop logs), one ``log_input`` of a small pandas
dataset, one logged model (``create_logged_model``, ``log_outputs``, ``finalize``: what
``log_model`` tells the tracking server; the model's files are not uploaded), then end it.
Then ``search_runs`` with a parameter and a metric filter, repeated. Servers: MLflow on SQLite
with its default workers and with one, modeltrail on SQLite; all on this machine, one at a
time, each on a fresh database.

    python -m benchmarks.mlflow_client [--runs 200] [--searches 20]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(name: str, args: list[str], url: str, probe: str, workdir: Path) -> subprocess.Popen:
    log = (workdir / f"{name}.log").open("w")
    # A session of its own: MLflow's server starts job consumers that outlive a plain stop.
    proc = subprocess.Popen(
        args, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited; see {workdir / f'{name}.log'}")
        try:
            if httpx.get(url + probe, timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    _stop(proc)
    raise RuntimeError(f"{name} did not start")


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def mlflow_server(workdir: Path, workers: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    db = workdir / f"mlflow-{workers}.db"
    args = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{db}",
        "--artifacts-destination", str(workdir / f"mlflow-artifacts-{workers}"),
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    if workers != "default":
        args += ["--workers", workers]
    return _start(f"mlflow-{workers}", args, url, "/health", workdir), url


def modeltrail_server(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        sys.executable, "-m", "modeltrail", "server",
        "--database-url", f"sqlite:///{workdir / 'modeltrail.db'}",
        "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    return _start("modeltrail", args, url, "/readyz", workdir), url


def workload(url: str, runs: int, searches: int) -> dict[str, float]:
    import mlflow
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModelOutput, LoggedModelStatus

    mlflow.set_tracking_uri(url)
    client = MlflowClient(url)
    mlflow.set_experiment(f"bench-{time.time_ns()}")
    frame = pd.DataFrame({"x": [float(i) for i in range(20)], "y": [i % 2 for i in range(20)]})
    started = time.perf_counter()
    for r in range(runs):
        with mlflow.start_run(run_name=f"run-{r}") as run:
            mlflow.log_params({f"p{i}": f"v{i}-{r % 7}" for i in range(10)})
            mlflow.set_tags({f"t{i}": f"tag-{i}" for i in range(5)})
            for step in range(100):
                mlflow.log_metrics(
                    {"loss": 1.0 / (step + 1), "acc": step / 100 + r / (10 * runs), "lr": 0.01},
                    step=step,
                )
            dataset = mlflow.data.from_pandas(frame, source=f"s3://data/d{r % 5}.csv", name="d")
            mlflow.log_input(dataset, context="training")
            model = client.create_logged_model(
                run.info.experiment_id, name="model", source_run_id=run.info.run_id
            )
            client.log_outputs(run.info.run_id, [LoggedModelOutput(model.model_id, 0)])
            client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    logged = time.perf_counter() - started
    query = "params.p3 = 'v3-2' and metrics.acc > 0.5"
    found = 0
    started = time.perf_counter()
    for _ in range(searches):
        found = len(client.search_runs([run.info.experiment_id], filter_string=query))
    search = (time.perf_counter() - started) / searches
    return {"log_s": logged, "search_ms": search * 1000, "found": float(found)}


def _measure(name: str, start: Callable[[], tuple[subprocess.Popen, str]], args: Any) -> dict:
    proc, url = start()
    try:
        # The client in a process of its own: the workload's module state starts fresh.
        code = (
            "import json, sys; from benchmarks.mlflow_client import workload; "
            f"print(json.dumps(workload({url!r}, {args.runs}, {args.searches})))"
        )
        env = dict(os.environ, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", PYTHONWARNINGS="ignore")
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
        )
        if out.returncode:
            raise RuntimeError(f"{name}: {out.stderr[-2000:]}")
        import json

        return {"server": name, **json.loads(out.stdout.strip().splitlines()[-1])}
    finally:
        _stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--searches", type=int, default=20)
    parser.add_argument("--only", choices=["mlflow", "mlflow-1", "modeltrail"], action="append")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        servers: list[tuple[str, Callable[[], tuple[subprocess.Popen, str]]]] = [
            ("modeltrail", lambda: modeltrail_server(workdir)),
            ("mlflow", lambda: mlflow_server(workdir, "default")),
            ("mlflow-1", lambda: mlflow_server(workdir, "1")),
        ]
        rows = [_measure(n, s, args) for n, s in servers if not args.only or n in args.only]
    base = next((r for r in rows if r["server"] == "modeltrail"), None)
    print(f"{args.runs} runs, each 10 params, 5 tags, 3 metrics x 100 steps, 1 input, 1 model")
    header = f"{'server':<12} {'log (s)':>9} {'runs/s':>8} {'search (ms)':>12} {'found':>6}"
    print(header + "  vs modeltrail")
    for r in rows:
        ratio = ""
        if base and r is not base:
            log = r["log_s"] / base["log_s"]
            search = r["search_ms"] / base["search_ms"]
            ratio = f"log {log:.1f}x, search {search:.1f}x slower"
        print(
            f"{r['server']:<12} {r['log_s']:>9.1f} {args.runs / r['log_s']:>8.1f} "
            f"{r['search_ms']:>12.1f} {int(r['found']):>6}  {ratio}"
        )


if __name__ == "__main__":
    main()
