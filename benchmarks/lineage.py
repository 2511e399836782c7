"""Lineage query latencies on a store of a million artifacts and executions.

    python benchmarks/lineage.py                                   # SQLite file, full scale
    python benchmarks/lineage.py --database postgresql+psycopg://postgres@127.0.0.1/bench
    python benchmarks/lineage.py --runs 2000                       # a small smoke run
    python benchmarks/lineage.py --runs 2000 --only impact         # one query

The graph is built with bulk inserts (SQLAlchemy core executemany) and looks like real
pipelines: background runs of a four-step pipeline (ingest -> prepare -> train -> evaluate,
the evaluation writing a metric that references the model), long chains of steps (each also
reading a shared side input: fan-in), and one experiment of 1,000 runs that all train on one
dataset (half read the same artifact, half an equal copy logged by their own run: fan-out
through equality). Each query runs through the services in-process, as the server would call
it (one transaction, result models built), and the median and p95 are printed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import func, select  # noqa: E402

from modeltrail.services.graph import dag, diff, impact, lineage, trace  # noqa: E402
from modeltrail.services.metadata import Metadata  # noqa: E402
from modeltrail.store.tables import (  # noqa: E402
    ArtifactReferenceRow,
    ArtifactRow,
    ExecutableRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    ExperimentRow,
    RunRow,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
BATCH = 20_000


def _fp(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


class Builder:
    """Rows collected in memory and written in batches with executemany."""

    def __init__(self, meta: Metadata) -> None:
        self.meta = meta
        self.rows: dict[Any, list[dict[str, Any]]] = {}
        self.clock = 0
        self.counts: dict[str, int] = {}

    def tick(self) -> datetime:
        self.clock += 1
        return T0 + timedelta(seconds=self.clock)

    def add(self, table: Any, **row: Any) -> None:
        self.rows.setdefault(table, []).append(row)
        name = table.__tablename__
        self.counts[name] = self.counts.get(name, 0) + 1
        if len(self.rows[table]) >= BATCH:
            self.flush()

    def flush(self) -> None:
        order = [
            ExperimentRow,
            ExecutableRow,
            ArtifactRow,
            RunRow,
            ExecutionRow,
            ExecutionInputRow,
            ExecutionOutputRow,
            ArtifactReferenceRow,
        ]
        with self.meta.db.engine.begin() as conn:
            for table in order:
                rows = self.rows.pop(table, None)
                if rows:
                    conn.execute(table.__table__.insert(), rows)

    def experiment(self, name: str) -> uuid.UUID:
        eid = uuid.uuid4()
        self.add(
            ExperimentRow,
            id=eid,
            name=name,
            version="1",
            create_time=self.tick(),
            annotations={},
            revision=1,
        )
        return eid

    def executable(self, name: str) -> uuid.UUID:
        xid = uuid.uuid4()
        self.add(
            ExecutableRow,
            id=xid,
            name=name,
            version="1",
            create_time=self.tick(),
            annotations={},
            revision=1,
            uri=f"git+https://git.example.org/p.git#{name}",
        )
        return xid

    def artifact(
        self,
        name: str,
        kind: str,
        uri: str,
        fingerprint: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> tuple[uuid.UUID, str]:
        aid = uuid.uuid4()
        fp = fingerprint or _fp(aid)
        self.add(
            ArtifactRow,
            id=aid,
            name=name,
            version="1",
            create_time=self.tick(),
            annotations={},
            revision=1,
            kind=kind,
            kind_version=1,
            uri=uri,
            attributes=attributes or {},
            fingerprint=fp,
        )
        return aid, fp

    def run(self, experiment: uuid.UUID, name: str, event: uuid.UUID | None = None) -> uuid.UUID:
        rid = uuid.uuid4()
        self.add(
            RunRow,
            id=rid,
            name=name,
            version="1",
            create_time=self.tick(),
            annotations={},
            revision=1,
            experiment_id=experiment,
            status="SUCCESS",
            configuration={"seed": 1},
            event_id=event,
        )
        return rid

    def execution(
        self,
        run: uuid.UUID,
        exe: uuid.UUID,
        name: str,
        kind: str,
        inputs: list[uuid.UUID],
        outputs: list[uuid.UUID],
        configuration: dict[str, Any] | None = None,
    ) -> uuid.UUID:
        xid = uuid.uuid4()
        at = self.tick()
        self.add(
            ExecutionRow,
            id=xid,
            name=name,
            version="1",
            create_time=at,
            start_time=at,
            annotations={},
            revision=1,
            run_id=run,
            executable_id=exe,
            kind=kind,
            status="SUCCESS",
            configuration=configuration or {},
            fingerprint=_fp(xid),
        )
        for i, a in enumerate(inputs):
            self.add(ExecutionInputRow, execution_id=xid, artifact_id=a, position=i)
        for i, a in enumerate(outputs):
            self.add(ExecutionOutputRow, execution_id=xid, artifact_id=a, position=i)
        return xid


def build(
    meta: Metadata, background_runs: int, chains: int, chain_length: int, hot_runs: int
) -> dict[str, Any]:
    b = Builder(meta)
    steps = {
        s: b.executable(f"{s}.py")
        for s in ("ingest", "prepare", "train", "evaluate", "deploy", "step")
    }
    background = b.experiment("background")
    started = time.perf_counter()
    sample_run = None
    for n in range(background_runs):
        event, _ = b.artifact(f"trigger-{n}", "event", "", attributes={"cause": "schedule"})
        run = b.run(background, f"bg-{n}", event)
        sample_run = sample_run or run
        raw, _ = b.artifact("raw", "dataset", f"s3://raw/{n}")
        clean, _ = b.artifact("clean", "dataset", f"s3://clean/{n}")
        model, _ = b.artifact("model", "model", f"s3://models/{n}")
        metric, _ = b.artifact(
            "accuracy", "metrics", "", attributes={"reference": str(model), "value": 0.9}
        )
        b.add(ArtifactReferenceRow, artifact_id=metric, attribute="reference", target_id=model)
        b.execution(run, steps["ingest"], "ingest", "ingest", [], [raw])
        b.execution(run, steps["prepare"], "prepare", "prepare", [raw], [clean])
        b.execution(run, steps["train"], "train", "train", [clean], [model], {"lr": 0.01})
        b.execution(run, steps["evaluate"], "evaluate", "evaluate", [model, clean], [metric])
        if n % 20_000 == 0 and n:
            print(f"  {n} background runs ({time.perf_counter() - started:.0f} s)", flush=True)

    chain_experiment = b.experiment("chains")
    chain_ends: list[list[uuid.UUID]] = []
    for c in range(chains):
        run = b.run(chain_experiment, f"chain-{c}")
        side, _ = b.artifact("shared-config", "dataset", f"s3://config/{c}")
        current, _ = b.artifact("seed", "dataset", f"s3://chain/{c}/0")
        positions = [current]
        for i in range(1, chain_length + 1):
            nxt, _ = b.artifact(f"chain-{c}-{i}", "dataset", f"s3://chain/{c}/{i}")
            b.execution(run, steps["step"], f"step-{i}", "transformation", [current, side], [nxt])
            positions.append(nxt)
            current = nxt
        chain_ends.append(positions)

    hot = b.experiment("hot-dataset")
    hot_data, hot_fp = b.artifact(
        "mnist", "dataset", "s3://datasets/mnist.npz", fingerprint=_fp("mnist")
    )
    models = []
    for n in range(hot_runs):
        event, _ = b.artifact(
            f"hot-trigger-{n}",
            "event",
            "",
            attributes={"cause": "data change" if n % 3 else "manual"},
        )
        run = b.run(hot, f"hot-{n}", event)
        data = (
            hot_data
            if n % 2 == 0
            else b.artifact("mnist", "dataset", "s3://datasets/mnist.npz", fingerprint=hot_fp)[0]
        )
        prepared, _ = b.artifact("training-data", "dataset", f"s3://hot/{n}/train.npz")
        model, _ = b.artifact("cnn", "model", f"s3://hot/{n}/model.h5")
        metric, _ = b.artifact(
            "accuracy", "metrics", "", attributes={"reference": str(model), "value": 0.9}
        )
        b.add(ArtifactReferenceRow, artifact_id=metric, attribute="reference", target_id=model)
        deployment, _ = b.artifact("service", "deployment", f"http://seldon/{n}")
        b.execution(run, steps["prepare"], "prepare", "prepare", [data], [prepared])
        b.execution(
            run,
            steps["train"],
            "train",
            "train",
            [prepared],
            [model, metric],
            {"learning-rate": 0.001 * (1 + n % 5)},
        )
        b.execution(run, steps["deploy"], "deploy", "deploy", [model], [deployment])
        models.append(model)
    b.flush()
    print(f"built {b.counts} in {time.perf_counter() - started:.0f} s", flush=True)
    return {
        "chains": chain_ends,
        "hot_data": hot_data,
        "hot_experiment": hot,
        "models": models,
        "sample_run": sample_run,
        "chain_runs": chain_experiment,
    }


def existing(meta: Metadata) -> dict[str, Any] | None:
    """The probes of a store this script built before (so a second run skips the build)."""
    with meta.session() as s:
        hot = s.scalar(select(ExperimentRow.id).where(ExperimentRow.name == "hot-dataset"))
        if hot is None:
            return None
        hot_data = s.scalar(
            select(ArtifactRow.id)
            .where(ArtifactRow.name == "mnist")
            .order_by(ArtifactRow.create_time)
        )
        models = list(
            s.scalars(
                select(ArtifactRow.id)
                .where(ArtifactRow.name == "cnn")
                .order_by(ArtifactRow.create_time)
            )
        )
        sample_run = s.scalar(select(RunRow.id).where(RunRow.name == "bg-0"))
        chains = []
        for c in range(3):
            names = {f"chain-{c}-{i}": i for i in (20, 100)}
            rows = dict(
                s.execute(
                    select(ArtifactRow.name, ArtifactRow.id).where(ArtifactRow.name.in_(names))
                ).all()
            )
            chain = {names[k]: v for k, v in rows.items()}
            chains.append(chain)
        return {
            "chains": chains,
            "hot_data": hot_data,
            "hot_experiment": hot,
            "models": models,
            "sample_run": sample_run,
        }


def measure(
    meta: Metadata, fn: Callable[..., Any], *args: Any, repeat: int, **kwargs: Any
) -> tuple[float, float, float, Any]:
    """Median and p95 wall time, and median CPU time of this process (ms). On a shared
    machine the CPU time shows the cost of the query itself, the wall time what a caller
    waited."""
    for _ in range(3):
        result = meta.query(fn, *args, **kwargs)
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = meta.query(fn, *args, **kwargs)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    wall.sort()
    return (
        statistics.median(wall),
        wall[min(len(wall) - 1, int(len(wall) * 0.95))],
        statistics.median(cpu),
        result,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database", default=f"sqlite:///{ROOT / 'benchmarks' / 'lineage-bench.db'}"
    )
    parser.add_argument(
        "--runs", type=int, default=112_000, help="background pipeline runs (9 rows each)"
    )
    parser.add_argument("--chains", type=int, default=3)
    parser.add_argument("--chain-length", type=int, default=120)
    parser.add_argument("--hot-runs", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--rebuild", action="store_true", help="drop an existing store first")
    parser.add_argument(
        "--only", default="", help="time only the queries whose name contains this text"
    )
    args = parser.parse_args()

    if args.rebuild and args.database.startswith("sqlite:///"):
        Path(args.database.removeprefix("sqlite:///")).unlink(missing_ok=True)
    meta = Metadata.open(args.database, hold_collector=True)  # as the server opens it
    probes = existing(meta)
    if probes is None:
        print(f"building on {args.database} ...", flush=True)
        probes = build(meta, args.runs, args.chains, args.chain_length, args.hot_runs)
        probes["chains"] = [{20: c[20], 100: c[100]} for c in probes["chains"]]
        if meta.db.dialect == "sqlite":
            with meta.db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
        else:
            with meta.db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
    with meta.session() as s:
        artifacts = s.scalar(select(func.count()).select_from(ArtifactRow))
        executions = s.scalar(select(func.count()).select_from(ExecutionRow))
    print(
        f"store: {artifacts:,} artifacts + {executions:,} executions = {artifacts + executions:,} "
        f"({meta.db.dialect})",
        flush=True,
    )

    chain = probes["chains"][0]
    cases: list[
        tuple[str, Callable[..., Any], tuple[Any, ...], dict[str, Any], Callable[[Any], str]]
    ] = [
        (
            "upstream lineage, 20 hops",
            lineage.artifact_lineage,
            (chain[20],),
            {},
            lambda r: f"{len(r.nodes)} nodes, truncated={r.truncated}",
        ),
        (
            "upstream lineage, 100 hops",
            lineage.artifact_lineage,
            (chain[100],),
            {},
            lambda r: f"{len(r.nodes)} nodes, truncated={r.truncated}",
        ),
        (
            "upstream lineage, 100 hops, depth limit 50",
            lineage.artifact_lineage,
            (chain[100],),
            {"depth": 50},
            lambda r: f"{len(r.nodes)} nodes, truncated={r.truncated}",
        ),
        (
            f"downstream impact, dataset used by {args.hot_runs:,} runs",
            impact.impact,
            (probes["hot_data"],),
            {},
            lambda r: (
                f"{r.counts['artifacts']} artifacts, {r.counts['runs']} runs, "
                f"{r.counts['deployments']} deployments"
            ),
        ),
        (
            "run DAG (4 steps)",
            dag.run_dag,
            (probes["sample_run"],),
            {},
            lambda r: f"{len(r.nodes)} nodes, {len(r.edges)} edges",
        ),
        (
            f"experiment trace, {args.hot_runs:,} runs",
            trace.experiment_trace,
            (probes["hot_experiment"],),
            {},
            lambda r: (
                f"{len(r.runs)} runs, {len(r.artifacts)} artifact nodes, "
                f"{sum(len(x.inputs) + len(x.outputs) for run in r.runs for x in run.executions)}"
                " inputs and outputs"
            ),
        ),
        (
            "lineage diff of two models",
            diff.lineage_diff,
            (probes["models"][-1], probes["models"][-2]),
            {},
            lambda r: f"{len(r.differences)} differences",
        ),
    ]
    print(
        "load average before: "
        + ", ".join(f"{x:.1f}" for x in os.getloadavg())
        + f" on {os.cpu_count()} cores"
    )
    print(f"{'query':50} {'median ms':>10} {'p95 ms':>10} {'cpu ms':>8}  result")
    for name, fn, fn_args, kwargs, describe in cases:
        if args.only not in name:
            continue
        repeat = (
            args.repeat
            if "trace" not in name and "impact" not in name
            else max(10, args.repeat // 3)
        )
        median, p95, cpu, result = measure(meta, fn, *fn_args, repeat=repeat, **kwargs)
        print(f"{name:50} {median:10.2f} {p95:10.2f} {cpu:8.2f}  {describe(result)}", flush=True)
    meta.close()


if __name__ == "__main__":
    main()
