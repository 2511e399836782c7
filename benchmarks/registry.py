"""The model registry beside MLflow's: resolving ``models:/NAME@ALIAS`` and listing a model's
1,000 versions with their metrics, each over HTTP against a real server on loopback.

Both servers run here on SQLite files of their own: ``modeltrail server`` and ``mlflow
server`` (when the ``mlflow`` package is installed). Each gets one registered model with
``--versions`` versions, each version made by a run that logged an ``accuracy`` metric, and a
``production`` alias on one version. Then each operation is timed (median and 95th percentile
of ``--samples`` calls, after a warm-up):

- resolve: where ``production`` points (modeltrail ``GET /models/resolve?uri=...``; MLflow
  ``GET registered-models/alias``);
- list: every version of the model with its metrics (modeltrail ``GET /models/NAME/versions``
  in one page; MLflow ``model-versions/search`` for the versions and ``runs/search`` for the
  metrics of their runs, which is how an MLflow client gets them);
- reference: the plainest read of each server (one artifact; one registered model), which
  shows what a request costs on the machine at the time of the run.

    python -m benchmarks.registry [--versions 1000] [--samples 50] [--no-mlflow]
                                  [--postgresql] [--in-process]

``--postgresql`` puts modeltrail's store in a scratch PostgreSQL database (on
127.0.0.1:5432, dropped after) instead of an SQLite file. ``--in-process`` fills the store
through the application in this process and times the registry's own work for the two
operations, in CPU time of this process as well as wall time: on a machine that others share,
the CPU time moves far less with their load than any time over HTTP does, so it is the figure
to compare two versions of the code by. It also times MLflow's ``search_model_versions`` with
no filter as the server answers it (``registry_search``): the first page of 100 versions and a
page of 100 at the end, the cost of a page whatever the registry holds, and with filters
on a run (``run_id =`` beside the model's name, ``run_id IN``), on the source (``LIKE``, a
page of 100) and on a tag no version has.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from benchmarks import servers
from benchmarks.measure import timed
from benchmarks.modeltrail_driver import store_url

ROOT = Path(__file__).resolve().parents[1]
MODEL = "digits-classifier"


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:300]}")
    return response.json()


# ---------------------------------------------------------------- modeltrail


def fill_modeltrail(http: httpx.Client, versions: int) -> None:
    """``versions`` runs, each a step that wrote a model and its accuracy, sent in batches;
    then each model registered and ``production`` set."""
    exp = str(uuid.uuid4())
    exe = str(uuid.uuid4())
    ops: list[dict[str, Any]] = [
        {"op": "create", "entity": "experiment", "body": {"id": exp, "name": "bench"}},
        {"op": "create", "entity": "executable", "body": {"id": exe, "name": "train.py"}},
    ]
    models = []
    for i in range(versions):
        run, step, model = (str(uuid.uuid4()) for _ in range(3))
        models.append(model)
        ops += [
            {
                "op": "create",
                "entity": "run",
                "body": {"id": run, "experiment": exp, "name": f"r{i}"},
            },
            {
                "op": "create",
                "entity": "artifact",
                "body": {"id": model, "name": "clf", "kind": "model", "uri": f"s3://m/{i}"},
            },
            {
                "op": "create",
                "entity": "artifact",
                "body": {
                    "id": str(uuid.uuid4()),
                    "name": "accuracy",
                    "kind": "metrics",
                    "attributes": {"value": 0.9 + i / (10 * versions), "reference": model},
                },
            },
            {
                "op": "create",
                "entity": "execution",
                "body": {
                    "id": step,
                    "run": run,
                    "executable": exe,
                    "name": "train",
                    "kind": "train",
                    "outputArtifacts": [model],
                },
            },
        ]
    for start in range(0, len(ops), 2000):
        _ok(http.post("/api/v1/batch", json={"operations": ops[start : start + 2000]}))
    for model in models:
        _ok(
            http.post(
                f"/api/v1/models/{MODEL}/versions",
                params={"createModel": "true"},
                json={"artifact": model},
            )
        )
    _ok(http.put(f"/api/v1/models/{MODEL}/aliases/production", json={"version": versions // 2}))


def measure_modeltrail(http: httpx.Client, versions: int, samples: int) -> dict[str, Any]:
    def resolve() -> None:
        found = _ok(
            http.get("/api/v1/models/resolve", params={"uri": f"models:/{MODEL}@production"})
        )
        assert found["version"] == versions // 2

    def listing() -> None:
        page = _ok(http.get(f"/api/v1/models/{MODEL}/versions", params={"limit": versions}))
        assert len(page["items"]) == versions and "accuracy" in page["items"][0]["metrics"]

    artifact = _ok(http.get("/api/v1/artifacts", params={"limit": 1}))["items"][0]["id"]

    def read_one() -> None:
        _ok(http.get(f"/api/v1/artifacts/{artifact}"))

    return {
        "resolve": timed(resolve, samples),
        "list": timed(listing, max(5, samples // 5)),
        "reference": timed(read_one, samples),
    }


def in_process(url: str, versions: int, samples: int) -> dict[str, Any]:
    """The registry's own work for resolve and list, without HTTP: wall and CPU time."""
    from starlette.testclient import TestClient

    from modeltrail.integrations.mlflow import registry_search
    from modeltrail.integrations.mlflow.search import encode_page_token
    from modeltrail.server.app import create_app
    from modeltrail.services.metadata import Metadata
    from modeltrail.services.registry import Registry

    meta = Metadata.open(url, hold_collector=True)
    try:
        with TestClient(create_app(meta)) as http:
            fill_modeltrail(http, versions)
        reg = Registry(meta)
        uri = f"models:/{MODEL}@production"
        last = {"max_results": "100", "page_token": encode_page_token(max(0, versions - 100))}

        def search(p: dict[str, Any]) -> Any:
            return lambda: registry_search.search_model_versions(reg, dict(p))

        # The run of the middle version, for the filters that name runs.
        middle = {"filter": f"name = '{MODEL}' and version_number = {versions // 2}"}
        run = search(middle)()["model_versions"][0]["run_id"]
        by_run = {"filter": f"name = '{MODEL}' and run_id = '{run}'"}
        runs = {"filter": f"run_id IN ('{run}', '{uuid.uuid4().hex}')"}
        by_source = {"filter": "source_path LIKE 's3://m/1%'", "max_results": "100"}
        by_tag = {"filter": "tags.stage = 'production'"}
        return {
            "resolve": cpu_timed(lambda: reg.resolve_document(uri), samples),
            "list": cpu_timed(lambda: reg.list_version_documents(MODEL, limit=versions), samples),
            "search first page": cpu_timed(search({"max_results": "100"}), samples),
            "search last page": cpu_timed(search(last), samples),
            "search run_id =": cpu_timed(search(by_run), samples),
            "search run_id IN": cpu_timed(search(runs), samples),
            "search source LIKE": cpu_timed(search(by_source), samples),
            "search tags.k =": cpu_timed(search(by_tag), samples),
        }
    finally:
        meta.close()


def cpu_timed(fn: Any, samples: int, warmup: int = 3) -> dict[str, float]:
    """Median wall and CPU time (of this process) of ``samples`` calls, in milliseconds."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(samples):
        started, used = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - used) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    return {"median": statistics.median(wall), "cpu": statistics.median(cpu)}


# ---------------------------------------------------------------- MLflow

ML = "/api/2.0/mlflow"


def fill_mlflow(http: httpx.Client, versions: int) -> None:
    exp = _ok(http.post(f"{ML}/experiments/create", json={"name": "bench"}))["experiment_id"]
    _ok(http.post(f"{ML}/registered-models/create", json={"name": MODEL}))
    for i in range(versions):
        run = _ok(http.post(f"{ML}/runs/create", json={"experiment_id": exp}))["run"]["info"]
        run_id = run["run_id"]
        _ok(
            http.post(
                f"{ML}/runs/log-metric",
                json={
                    "run_id": run_id,
                    "key": "accuracy",
                    "value": 0.9 + i / (10 * versions),
                    "timestamp": 0,
                    "step": 0,
                },
            )
        )
        _ok(
            http.post(
                f"{ML}/model-versions/create",
                json={"name": MODEL, "source": f"s3://m/{i}", "run_id": run_id},
            )
        )
    _ok(
        http.post(
            f"{ML}/registered-models/alias",
            json={"name": MODEL, "alias": "production", "version": str(versions // 2)},
        )
    )


def measure_mlflow(http: httpx.Client, versions: int, samples: int) -> dict[str, Any]:
    def resolve() -> None:
        found = _ok(
            http.get(f"{ML}/registered-models/alias", params={"name": MODEL, "alias": "production"})
        )
        assert found["model_version"]["version"] == str(versions // 2)

    def listing() -> None:
        found: list[dict[str, Any]] = []
        token = None
        while True:
            params = {"filter": f"name='{MODEL}'", "max_results": 1000}
            if token:
                params["page_token"] = token
            page = _ok(http.get(f"{ML}/model-versions/search", params=params))
            found += page.get("model_versions", [])
            token = page.get("next_page_token")
            if not token:
                break
        runs = [v["run_id"] for v in found]
        metrics: dict[str, Any] = {}
        for start in range(0, len(runs), 100):
            chunk = ", ".join(f"'{r}'" for r in runs[start : start + 100])
            answer = _ok(
                http.post(
                    f"{ML}/runs/search",
                    json={
                        "experiment_ids": [_experiment(http)],
                        "filter": f"attributes.run_id IN ({chunk})",
                        "max_results": 1000,
                    },
                )
            )
            for r in answer.get("runs", []):
                metrics[r["info"]["run_id"]] = r["data"].get("metrics", [])
        assert len(found) == versions and len(metrics) == versions

    def read_one() -> None:
        _ok(http.get(f"{ML}/registered-models/get", params={"name": MODEL}))

    return {
        "resolve": timed(resolve, samples),
        "list": timed(listing, max(5, samples // 5)),
        "reference": timed(read_one, samples),
    }


_EXPERIMENT: dict[str, str] = {}


def _experiment(http: httpx.Client) -> str:
    if "id" not in _EXPERIMENT:
        found = _ok(http.get(f"{ML}/experiments/get-by-name", params={"experiment_name": "bench"}))
        _EXPERIMENT["id"] = found["experiment"]["experiment_id"]
    return _EXPERIMENT["id"]


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument("--postgresql", action="store_true", help="modeltrail on PostgreSQL")
    parser.add_argument(
        "--in-process", action="store_true", help="the registry's own work, in CPU time too"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="registry-bench-"))
    if args.in_process:
        try:
            with store_url("postgresql" if args.postgresql else "http", root) as url:
                found = in_process(url, args.versions, args.samples)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        print(f"\n{args.versions} versions in-process, median wall / CPU time in ms")
        for op, timing in found.items():
            print(f"{op:<20} {timing['median']:8.2f} / {timing['cpu']:8.2f}")
        return
    rows: dict[str, dict[str, Any]] = {}
    try:
        with store_url("postgresql" if args.postgresql else "http", root / "modeltrail") as url:
            mt = servers.modeltrail(url, root)
            try:
                with httpx.Client(base_url=mt.url, timeout=120) as http:
                    started = time.perf_counter()
                    fill_modeltrail(http, args.versions)
                    took = time.perf_counter() - started
                    print(f"modeltrail: filled in {took:.1f} s", flush=True)
                    rows["modeltrail"] = measure_modeltrail(http, args.versions, args.samples)
            finally:
                mt.stop()
        if not args.no_mlflow and _has_mlflow():
            ml = servers.mlflow(
                root, "--default-artifact-root", str(root / "artifacts"), workers="1"
            )
            try:
                with httpx.Client(base_url=ml.url, timeout=120) as http:
                    started = time.perf_counter()
                    fill_mlflow(http, args.versions)
                    print(f"mlflow: filled in {time.perf_counter() - started:.1f} s", flush=True)
                    rows["mlflow"] = measure_mlflow(http, args.versions, args.samples)
            finally:
                ml.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n{args.versions} versions, median / p95 in ms over HTTP on loopback")
    print(f"{'operation':<44} " + " ".join(f"{name:>20}" for name in rows))
    for op, label in (
        ("resolve", "resolve models:/NAME@production"),
        ("list", f"list {args.versions} versions with metrics"),
        ("reference", "reference: read one artifact / model"),
    ):
        cells = [f"{r[op]['median']:8.2f} / {r[op]['p95']:8.2f}" for r in rows.values()]
        print(f"{label:<44} " + " ".join(f"{c:>20}" for c in cells))


def _has_mlflow() -> bool:
    try:
        import mlflow  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
