"""The runs grid and the comparison of many runs, side by side with MLflow's ``search_runs``.

One experiment of N runs (default 10,000), each with 5 parameters and 5 metrics, is written
into a modeltrail store on SQLite (as metric series: their per-run summaries, and the points
themselves for the 100 runs compared) and into an MLflow tracking store on SQLite (MLflow's
own ``SqlAlchemyStore``, as ``mlflow server`` uses it). Then, each measured ``--repeat`` times
after a warm-up, median and 95th percentile:

- modeltrail: ``GET /api/v1/runs?experiment=...&columns=<5 params>,<5 metrics>&sort=-metrics.m0``
  first page (50 runs), through the app in-process;
- MLflow: ``search_runs(order_by=["metrics.m0 DESC"], max_results=50)`` on its store, which
  answers every run with all its params and metrics;
- modeltrail: ``GET /api/v1/compare/runs`` of 100 runs with two metric series each.

Both stores are filled by writing rows directly (the same values on both sides), since how
fast runs are logged is measured elsewhere.

    python -m benchmarks.runs_grid --runs 10000 --repeat 20
    python -m benchmarks.runs_grid --database postgresql+psycopg://USER@HOST/DATABASE

``--database`` names an empty database for modeltrail's store (a fresh SQLite file without
it); MLflow's store is always SQLite.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PARAMS = [f"p{i}" for i in range(5)]
METRICS = [f"m{i}" for i in range(5)]
PAGE = 50


def _values(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        {
            "name": f"run-{i}",
            "start": start + timedelta(seconds=i),
            "params": {
                p: rng.choice(["adam", "sgd", "rmsprop"]) if j == 0 else rng.random()
                for j, p in enumerate(PARAMS)
            },
            "metrics": {m: [rng.random() for _ in range(3)] for m in METRICS},
        }
        for i in range(n)
    ]


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    fn()  # warm-up: caches, prepared statements
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


# ---------------------------------------------------------------- modeltrail


def fill_modeltrail(url: str, runs: list[dict[str, Any]], *, series: int = 100) -> Any:
    """Runs with their parameters and metric summaries (``run_metrics``, what logging series
    keeps); the first ``series`` runs also get their points as series, logged through the
    service, for the comparison."""
    from sqlalchemy import insert

    from modeltrail.domain.series import MetricsAppend
    from modeltrail.services.metadata import Metadata
    from modeltrail.services.tracking.series import append_metrics
    from modeltrail.store.tables import ExperimentRow, RunMetricRow, RunRow

    meta = Metadata.open(url)
    experiment = uuid.uuid4()
    common = {"version": "1", "annotations": {}, "revision": 1}
    run_rows, summary_rows, logged = [], [], []
    for r in runs:
        run_id = uuid.uuid4()
        run_rows.append(
            {
                "id": run_id,
                "name": r["name"],
                "experiment_id": experiment,
                "status": "SUCCESS",
                "create_time": r["start"],
                "end_time": r["start"] + timedelta(minutes=5),
                "configuration": r["params"],
                **common,
            }
        )
        if len(logged) < series:
            logged.append((run_id, r["metrics"]))
            continue
        for key, values in r["metrics"].items():
            summary_rows.append(
                {
                    "run_id": run_id,
                    "key": key,
                    "count": len(values),
                    "min_value": min(values),
                    "max_value": max(values),
                    "latest_value": values[-1],
                    "latest_step": len(values) - 1,
                    "latest_timestamp": 0,
                    "first_step": 0,
                    "last_step": len(values) - 1,
                }
            )
    with meta.db.engine.begin() as conn:
        conn.execute(
            insert(ExperimentRow),
            [{"id": experiment, "name": "grid", "create_time": datetime.now(UTC), **common}],
        )
        for table, rows in ((RunRow, run_rows), (RunMetricRow, summary_rows)):
            for i in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[i : i + 5000])
    for run_id, metrics in logged:
        points = [
            {"key": k, "value": v, "step": step}
            for k, values in metrics.items()
            for step, v in enumerate(values)
        ]
        meta.call(append_metrics, run_id, MetricsAppend.model_validate({"points": points}))
    return meta


# ---------------------------------------------------------------- MLflow


def fill_mlflow(path: Path, runs: list[dict[str, Any]]) -> tuple[Any, str]:
    """MLflow's store with one run logged through its API, then copied row for row with the
    values of every other run (its tables' columns are read, not assumed)."""
    from mlflow.entities import Metric, Param
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from sqlalchemy import MetaData, create_engine, insert, select

    url = f"sqlite:///{path}"
    store = SqlAlchemyStore(url, str(path.parent / "mlruns"))
    experiment = store.create_experiment("grid")
    template = store.create_run(experiment, "bench", 0, [], "template")
    tid = template.info.run_id
    store.log_batch(
        tid,
        metrics=[Metric(m, 0.0, 0, 0) for m in METRICS],
        params=[Param(p, "x") for p in PARAMS],
        tags=[],
    )
    engine = create_engine(url)
    md = MetaData()
    md.reflect(engine, only=["runs", "params", "metrics", "latest_metrics"])
    with engine.begin() as conn:
        base = dict(
            conn.execute(select(md.tables["runs"]).where(md.tables["runs"].c.run_uuid == tid))
            .mappings()
            .one()
        )
        run_rows, param_rows, metric_rows, latest_rows = [], [], [], []
        for r in runs:
            rid = uuid.uuid4().hex
            ms = int(r["start"].timestamp() * 1000)
            run_rows.append(
                base
                | {
                    "run_uuid": rid,
                    "name": r["name"],
                    "start_time": ms,
                    "end_time": ms + 300_000,
                    "status": "FINISHED",
                }
            )
            param_rows += [
                {"key": k, "value": str(v), "run_uuid": rid} for k, v in r["params"].items()
            ]
            for k, values in r["metrics"].items():
                for step, v in enumerate(values):
                    metric_rows.append(
                        {
                            "key": k,
                            "value": v,
                            "timestamp": ms + step,
                            "step": step,
                            "is_nan": False,
                            "run_uuid": rid,
                        }
                    )
                latest_rows.append(
                    {
                        "key": k,
                        "value": values[-1],
                        "timestamp": ms + 2,
                        "step": 2,
                        "is_nan": False,
                        "run_uuid": rid,
                    }
                )
        conn.execute(md.tables["runs"].delete().where(md.tables["runs"].c.run_uuid == tid))
        for name in ("params", "metrics", "latest_metrics"):
            conn.execute(md.tables[name].delete().where(md.tables[name].c.run_uuid == tid))
        for name, rows in (
            ("runs", run_rows),
            ("params", param_rows),
            ("metrics", metric_rows),
            ("latest_metrics", latest_rows),
        ):
            for i in range(0, len(rows), 5000):
                conn.execute(insert(md.tables[name]), rows[i : i + 5000])
    return store, experiment


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database", default=None, help="modeltrail's store (an empty database)")
    args = parser.parse_args()

    from starlette.testclient import TestClient

    from modeltrail.server.app import create_app

    runs = _values(args.runs)
    work = Path(tempfile.mkdtemp(prefix="runs-grid-"))
    t0 = time.perf_counter()
    meta = fill_modeltrail(args.database or f"sqlite:///{work / 'modeltrail.db'}", runs)
    store, experiment = fill_mlflow(work / "mlflow.db", runs)
    print(
        f"filled {args.runs} runs x {len(PARAMS)} params x {len(METRICS)} metrics "
        f"(3 points each) in both stores in {time.perf_counter() - t0:.0f} s"
    )

    columns = ",".join(
        [*(f"configuration.{p}" for p in PARAMS), *(f"metrics.{m}" for m in METRICS)]
    )
    client = TestClient(create_app(meta), base_url="http://testserver")
    params = {"experiment": "grid", "columns": columns, "sort": "-metrics.m0", "limit": PAGE}

    def grid() -> None:
        page = client.get("/api/v1/runs", params=params)
        assert page.status_code == 200 and len(page.json()["items"]) == PAGE, page.text

    def grid_filtered() -> None:
        page = client.get(
            "/api/v1/runs",
            params=params | {"q": 'metrics.m1 > 0.5 and params.p0 = "adam"'},
        )
        assert page.status_code == 200, page.text

    def mlflow_search() -> None:
        found = store.search_runs(
            [experiment], "", 1, max_results=PAGE, order_by=["metrics.m0 DESC"]
        )
        assert len(found) == PAGE

    def mlflow_filtered() -> None:
        store.search_runs(
            [experiment],
            "metrics.m1 > 0.5 and params.p0 = 'adam'",
            1,
            max_results=PAGE,
            order_by=["metrics.m0 DESC"],
        )

    ids = [i["id"] for i in client.get("/api/v1/runs", params={"limit": 100}).json()["items"]]

    def compare() -> None:
        answer = client.get(
            "/api/v1/compare/runs", params={"ids": ",".join(ids), "metrics": "m0,m1"}
        )
        assert answer.status_code == 200 and len(answer.json()["runs"]) == 100, answer.text

    rows = [
        (
            "grid, first page sorted on a metric",
            grid,
            "search_runs, order_by metric",
            mlflow_search,
        ),
        (
            "grid, q with or/in on a metric and a param",
            grid_filtered,
            "search_runs, same filter",
            mlflow_filtered,
        ),
        ("compare 100 runs, 2 series each", compare, None, None),
    ]
    print(
        f"\n| operation ({args.runs} runs, {meta.db.dialect}) | modeltrail median / p95 ms | "
        "MLflow | MLflow median / p95 ms |"
    )
    print("| --- | --- | --- | --- |")
    for label, ours, peer_label, peer in rows:
        m, p = _timed(ours, args.repeat)
        if peer is None:
            print(f"| {label} | {m:.1f} / {p:.1f} | - | - |")
            continue
        pm, pp = _timed(peer, args.repeat)
        print(f"| {label} | {m:.1f} / {p:.1f} | {peer_label} | {pm:.1f} / {pp:.1f} |")


if __name__ == "__main__":
    main()
