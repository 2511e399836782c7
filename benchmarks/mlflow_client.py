"""MLflow's own client, one workload, against ``mlflow server`` and ``modeltrail server``.

Each run: create it in one experiment, log 10 params and 5 tags, 3 metrics of 100 steps (one
``log_metrics`` call per step, as a training loop logs), one ``log_input`` of a small pandas
dataset, one ``mlflow.sklearn.log_model`` of a small fitted model (its files uploaded through
the server's artifact proxy), then end it. Then ``search_runs`` with a parameter and a metric
filter, repeated. Servers: MLflow on SQLite with its default workers and with one, modeltrail
on SQLite; all on this machine, each on a fresh database, all started before the first round.

The servers take turns: every round runs the workload once against each, the order rotating
from round to round, so that a change in the machine's load (it is shared) falls on all of
them alike. Each ratio is taken within its round; the report shows the median of the rounds.
Beside each wall time, the CPU time of the client's own process in it: what is left of the
wall time with the fastest of servers.

    python -m benchmarks.mlflow_client [--runs 30] [--searches 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import servers


def mlflow(workdir: Path, workers: str) -> servers.Server:
    return servers.mlflow(
        workdir,
        "--artifacts-destination",
        str(workdir / f"mlflow-artifacts-{workers}"),
        name=f"mlflow-{workers}",
        workers=None if workers == "default" else workers,
    )


def modeltrail(workdir: Path) -> servers.Server:
    return servers.modeltrail(f"sqlite:///{workdir / 'modeltrail.db'}", workdir)


def workload(url: str, runs: int, searches: int) -> dict[str, float]:
    import warnings

    import mlflow
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow.sklearn

    mlflow.set_tracking_uri(url)
    client = mlflow.MlflowClient(url)
    mlflow.set_experiment(f"bench-{time.time_ns()}")
    frame = pd.DataFrame({"x": [float(i) for i in range(20)], "y": [i % 2 for i in range(20)]})
    fitted = LogisticRegression().fit(frame[["x"]], frame["y"])
    started, started_cpu = time.perf_counter(), time.process_time()
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
            # Requirements given: inferring them would time the client, not the server.
            mlflow.sklearn.log_model(fitted, name="model", pip_requirements=["scikit-learn"])
    logged, logged_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    query = "params.p3 = 'v3-2' and metrics.acc > 0.5"
    found = 0
    started, started_cpu = time.perf_counter(), time.process_time()
    for _ in range(searches):
        found = len(client.search_runs([run.info.experiment_id], filter_string=query))
    search = (time.perf_counter() - started) / searches
    search_cpu = (time.process_time() - started_cpu) / searches
    return {
        "log_s": logged,
        "log_client_s": logged_cpu,
        "search_ms": search * 1000,
        "search_client_ms": search_cpu * 1000,
        "found": float(found),
    }


def _measure(url: str, args: Any) -> dict[str, float]:
    """The workload against the server at ``url``, by a client in a process of its own (the
    workload's module state starts fresh)."""
    code = (
        "import json; from benchmarks.mlflow_client import workload; "
        f"print(json.dumps(workload({url!r}, {args.runs}, {args.searches})))"
    )
    env = dict(os.environ, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", PYTHONWARNINGS="ignore")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode:
        raise RuntimeError(f"{url}: {out.stderr[-2000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


SERVERS = ("modeltrail", "mlflow", "mlflow-1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="runs per server in each round")
    parser.add_argument("--searches", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=SERVERS, action="append")
    args = parser.parse_args()
    names = [n for n in SERVERS if not args.only or n in args.only]
    started = {
        "modeltrail": modeltrail,
        "mlflow": lambda w: mlflow(w, "default"),
        "mlflow-1": lambda w: mlflow(w, "1"),
    }
    rounds: list[dict[str, dict[str, float]]] = []
    load: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        urls: dict[str, str] = {}
        with contextlib.ExitStack() as running:
            for name in names:
                urls[name] = running.enter_context(started[name](workdir)).url
            for r in range(args.rounds):
                order = names[r % len(names) :] + names[: r % len(names)]
                print(f"round {r + 1} of {args.rounds}: {', '.join(order)}", file=sys.stderr)
                rounds.append({name: _measure(urls[name], args) for name in order})
                load.append(os.getloadavg()[0])
    print(
        f"{args.rounds} rounds of {args.runs} runs per server, each 10 params, 5 tags, "
        f"3 metrics x 100 steps, 1 input, 1 logged sklearn model; load average "
        f"{min(load):.1f} to {max(load):.1f}"
    )
    print(
        "| server | logging (s) | of it the client's CPU (s) | runs/s "
        "| filtered `search_runs` (ms) | of it the client's CPU (ms) | found "
        "| logging vs modeltrail | search vs modeltrail | logging: the most any server could gain |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in names:
        log = statistics.median(r[name]["log_s"] for r in rounds)
        log_client = statistics.median(r[name]["log_client_s"] for r in rounds)
        search = statistics.median(r[name]["search_ms"] for r in rounds)
        search_client = statistics.median(r[name]["search_client_ms"] for r in rounds)
        found = int(rounds[-1][name]["found"])
        ratios = ["", "", ""]
        if name != "modeltrail" and "modeltrail" in names:
            for i, key in enumerate(("log_s", "search_ms")):
                each = [r[name][key] / r["modeltrail"][key] for r in rounds]
                ratios[i] = f"{statistics.median(each):.1f}x ({min(each):.1f}–{max(each):.1f})"
            # A server answering in no time leaves the client's own CPU: the bound of any ratio.
            bound = [r[name]["log_s"] / r["modeltrail"]["log_client_s"] for r in rounds]
            ratios[2] = f"{statistics.median(bound):.1f}x"
        print(
            f"| {name} | {log:.1f} | {log_client:.1f} | {args.runs / log:.2f} | {search:.1f} "
            f"| {search_client:.1f} | {found} | {' | '.join(ratios)} |"
        )
    print(
        "\nCells: the median of the rounds; ratios: the median (and range) of the ratios "
        "taken within each round. The client's CPU: the CPU time of the client's process "
        "(MLflow's client building requests and reading answers, the workload's own "
        "work), which no server can take off the wall time; the last column divides the "
        "peer's logging time by the client's CPU with modeltrail: what a server answering "
        "in no time at all would show."
    )


if __name__ == "__main__":
    main()
