"""MLflow (``mlflow server``, SQLite backend) on the benchmark's workload, through its REST API.

MLflow knows runs, params, metrics, tags and dataset inputs, not executions or artifacts as
entities, so every entity of a modeltrail run becomes one record of the MLflow run: the run
itself, a tag for its trigger, params and a tag per step, a dataset input per dataset, a tag
per model, a metric per metric and per validation result. The same number of records is
written as modeltrail writes entities, with the calls an MLflow client makes: create the run,
log a batch, log its inputs, finish the run.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks import servers
from benchmarks.measure import PeakRss, na, rate, timed
from benchmarks.workload import Workload, generate, phases

API = "/api/2.0/mlflow"
NO_LINEAGE = "MLflow has no multi-hop lineage"
NO_DAG = "MLflow runs have no steps or edges"


class Server:
    """An MLflow server (``workers``: its default, or a number) and its REST API."""

    def __init__(self, workdir: Path, workers: str) -> None:
        self.process = servers.mlflow(
            workdir,
            "--default-artifact-root",
            str(workdir / "mlflow-artifacts"),
            name=f"mlflow-{workers}",
            workers=None if workers == "default" else workers,
        )
        self.base = self.process.url
        self.proc = self.process.proc
        self.local = threading.local()

    @property
    def client(self) -> httpx.Client:
        c = getattr(self.local, "client", None)
        if c is None:
            c = self.local.client = httpx.Client(base_url=self.base + API, timeout=300)
        return c

    def post(self, path: str, body: dict[str, Any]) -> Any:
        r = self.client.post(path, json=body)
        if r.status_code >= 400:
            raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")
        return r.json()

    def get(self, path: str, **params: Any) -> Any:
        r = self.client.get(path, params=params)
        if r.status_code >= 400:
            raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")
        return r.json()

    def stop(self) -> None:
        self.process.stop()


class Writer:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.experiments: dict[str, str] = {}
        self.runs: dict[str, str] = {}
        self.lock = threading.Lock()

    def setup(self, ops: list[dict[str, Any]]) -> None:
        for op in ops:
            if op["entity"] == "experiment":
                body = op["body"]
                self.experiments[body["id"]] = self.server.post(
                    "/experiments/create", {"name": body["name"] + "-" + body["id"][:8]}
                )["experiment_id"]

    def write_run(self, ops: list[dict[str, Any]]) -> None:
        s = self.server
        run = next(op["body"] for op in ops if op["entity"] == "run")
        bodies = {op["body"]["id"]: op["body"] for op in ops if op["entity"] == "artifact"}
        now = int(time.time() * 1000)
        created = s.post(
            "/runs/create",
            {
                "experiment_id": self.experiments[run["experiment"]],
                "run_name": run["name"],
                "start_time": now,
                "tags": [
                    {"key": f"annotation.{k}", "value": v}
                    for k, v in run.get("annotations", {}).items()
                ],
            },
        )
        run_id = created["run"]["info"]["run_id"]
        with self.lock:
            self.runs[run["id"]] = run_id
        params = [{"key": k, "value": str(v)} for k, v in run.get("configuration", {}).items()]
        tags: list[dict[str, str]] = []
        metrics: list[dict[str, Any]] = []
        datasets = []
        for op in ops:
            body = op["body"]
            if op["entity"] == "execution":
                for k, v in body.get("configuration", {}).items():
                    params.append({"key": f"{body['name']}.{k}", "value": str(v)})
                tags.append(
                    {
                        "key": f"step.{body['name']}",
                        "value": ",".join(body["outputArtifacts"])[:5000],
                    }
                )
            elif op["entity"] == "artifact":
                kind, attrs = body["kind"], body.get("attributes", {})
                if kind == "event":
                    tags.append({"key": "trigger.cause", "value": attrs.get("cause", "")})
                elif kind == "model":
                    tags.append({"key": f"model.{body['name']}", "value": body.get("uri") or ""})
                elif kind == "metrics":
                    metrics.append(
                        {"key": "accuracy", "value": attrs["value"], "timestamp": now, "step": 0}
                    )
                elif kind == "validation":
                    metrics.append(
                        {
                            "key": f"validation.{attrs['split']}.score",
                            "value": attrs["score"],
                            "timestamp": now,
                            "step": len(metrics),
                        }
                    )
                    tags.append(
                        {"key": f"validation.{body['name']}.split", "value": attrs["split"]}
                    )
                else:
                    datasets.append(
                        {
                            "dataset": {
                                "name": body["name"],
                                "digest": body["id"][:36],
                                "source_type": "s3",
                                "source": body.get("uri") or "",
                            },
                            "tags": [{"key": "mlflow.data.context", "value": "training"}],
                        }
                    )
        # inputs read from the shared pool are datasets of this run too
        for op in ops:
            if op["entity"] == "execution":
                for a in op["body"]["inputArtifacts"]:
                    if a not in bodies:
                        datasets.append(
                            {
                                "dataset": {
                                    "name": "source-" + a[:8],
                                    "digest": a[:36],
                                    "source_type": "s3",
                                    "source": "s3://lake/" + a,
                                }
                            }
                        )
        s.post(
            "/runs/log-batch",
            {
                "run_id": run_id,
                "params": params[:100],
                "tags": tags[:100],
                "metrics": metrics[:1000],
            },
        )
        if datasets:
            s.post("/runs/log-inputs", {"run_id": run_id, "datasets": datasets})
        s.post("/runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": now + 1})


def ingest(writer: Writer, runs: list[list[dict[str, Any]]], clients: int) -> dict[str, float]:
    times: list[float] = []
    lock = threading.Lock()

    def worker(mine: list[list[dict[str, Any]]]) -> None:
        for ops in mine:
            t0 = time.perf_counter()
            writer.write_run(ops)
            with lock:
                times.append(time.perf_counter() - t0)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(runs[i::clients],)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return rate(sum(len(r) for r in runs), time.perf_counter() - start, times)


def run(w: Workload, workdir: Path, workers: str) -> dict[str, Any]:
    out: dict[str, Any] = {"notes": {}, "checks": {}}
    samples = w.scale.samples
    a, b, rest = phases(w)
    rest = rest[:-1]  # the lineage chain: MLflow cannot store a 100-step chain as lineage
    server = Server(workdir, workers)
    try:
        writer = Writer(server)
        with PeakRss(server.proc.pid) as rss_ingest:
            writer.setup(w.setup)
            out["ingest_1"] = ingest(writer, a, 1)
            out["ingest_8"] = ingest(writer, b, 8)
            ingest(writer, rest, 8)
        out["rss_ingest"] = rss_ingest.mib
        out["notes"]["ingest_1"] = out["notes"]["ingest_8"] = (
            "4 requests per run: runs/create, runs/log-batch, runs/log-inputs, runs/update"
        )
        rng = random.Random(1)
        run_ids = list(writer.runs.values())
        exp = writer.experiments[w.trace_experiment]
        counter = iter(range(10**9))
        with PeakRss(server.proc.pid) as rss_query:
            out["create"] = timed(
                lambda: server.post(
                    "/runs/create",
                    {
                        "experiment_id": exp,
                        "run_name": f"probe-{next(counter)}",
                        "start_time": 0,
                        "tags": [{"key": "owner", "value": "bench"}],
                    },
                ),
                samples * 4,
            )
            out["read"] = timed(
                lambda: server.get("/runs/get", run_id=rng.choice(run_ids)), samples * 4
            )
            out["notes"]["create"] = out["notes"]["read"] = "a run (runs/create, runs/get)"
            query = {
                "experiment_ids": list(writer.experiments.values()),
                "filter": "params.optimizer = 'adam'",
                "order_by": ["metrics.accuracy DESC"],
                "max_results": w.scale.page_size,
            }
            first = server.post("/runs/search", query)
            out["list_first"] = timed(lambda: server.post("/runs/search", query), samples)
            token, listed = first.get("next_page_token"), list(first.get("runs", []))
            for _ in range(w.scale.deep_page - 1):
                if not token:
                    break
                page = server.post("/runs/search", {**query, "page_token": token})
                listed += page.get("runs", [])
                token = page.get("next_page_token")
            deep = token
            out["list_deep"] = (
                timed(lambda: server.post("/runs/search", {**query, "page_token": deep}), samples)
                if deep
                else na("too few pages")
            )
            out["notes"]["list_first"] = out["notes"]["list_deep"] = (
                "runs/search filtered on a param, sorted on a metric "
                "(MLflow lists runs, not artifacts)"
            )
            out["checks"]["list"] = {"items": len(listed)}
            for op in ("up_20", "up_100", "impact", "diff"):
                out[op] = na(NO_LINEAGE)
            out["dag"] = na(NO_DAG)
            out["trace"] = na("no trace of an experiment's runs as one graph")
        out["rss_query"] = rss_query.mib
        out["notes"]["rss_ingest"] = out["notes"]["rss_query"] = "server process and its workers"
    finally:
        server.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="small")
    parser.add_argument("--workdir", default="bench-work")
    parser.add_argument("--workers", default="1")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        import mlflow  # noqa: F401
    except ImportError as exc:
        result: dict[str, Any] = {"unavailable": f"mlflow is not installed: {exc}"}
    else:
        result = run(generate(args.scale), workdir, args.workers)
    Path(args.out).write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    sys.exit(main())
