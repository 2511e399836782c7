"""A realistic, reproducible pipeline-metadata workload at a chosen scale.

E experiments x R runs x K steps. Every run is started by a trigger event; its first step reads
one or two datasets from a pool shared by all runs (one "popular" dataset is read by up to
1,000 runs), every step reads 1-3 artifacts and writes 1-3, the last step writes a model and a
metric that references it, middle steps write datasets and artifacts of a custom kind
(``validation``). Everything carries annotations. One extra run refines a dataset through a
chain of ``CHAIN`` steps, so that deep lineage (20 and 100 hops) can be asked of every scale.

The workload is plain data in the shape of modeltrail's batch operations (entity + body with
client-chosen ids); the peers' drivers translate the same operations into their own calls. Only
the standard library is used, so a peer's own virtualenv can generate it too.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

CHAIN = 100
VALIDATION_KIND = {
    "name": "validation",
    "description": "A data or model check (a user's own kind).",
    "schema": {
        "type": "object",
        "properties": {
            "split": {"type": "string", "enum": ["train", "test", "holdout"]},
            "score": {"type": "number", "x-index": True},  # sorted on: indexed
            "checks": {"type": "integer"},
            "tool": {"type": "string"},
        },
        "required": ["split", "score"],
    },
}


@dataclass(frozen=True)
class Scale:
    name: str
    experiments: int
    runs: int  # per experiment
    steps: int  # per run
    shared_datasets: int  # per experiment
    deep_page: int  # which page of the filtered list is "deep" (0-based)
    samples: int  # repetitions of every timed read
    page_size: int = 100


SCALES = {
    "small": Scale(
        "small",
        experiments=2,
        runs=12,
        steps=4,
        shared_datasets=4,
        deep_page=2,
        samples=15,
        page_size=4,
    ),
    "100k": Scale(
        "100k", experiments=6, runs=1000, steps=5, shared_datasets=20, deep_page=10, samples=50
    ),
    "1m": Scale(
        "1m", experiments=60, runs=1000, steps=5, shared_datasets=50, deep_page=50, samples=50
    ),
}


@dataclass
class Workload:
    """What to write (``setup`` then ``runs``, each a list of batch operations) and the
    landmarks the read operations ask about."""

    scale: Scale
    setup: list[dict[str, Any]] = field(default_factory=list)
    runs: list[list[dict[str, Any]]] = field(default_factory=list)
    experiments: list[str] = field(default_factory=list)
    trace_experiment: str = ""
    popular_dataset: str = ""
    popular_runs: int = 0
    chain: list[str] = field(default_factory=list)  # artifact ids, source first
    dag_run: str = ""
    diff_pair: tuple[str, str] = ("", "")
    run_ids: list[str] = field(default_factory=list)

    @property
    def entities(self) -> int:
        return sum(len(b) for b in self.runs) + sum(1 for op in self.setup if op["op"] == "create")

    def all_operations(self) -> list[dict[str, Any]]:
        return [*self.setup, *(op for b in self.runs for op in b)]


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def __call__(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def _create(entity: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"op": "create", "entity": entity, "body": body}


def generate(scale: Scale | str, *, seed: int = 7) -> Workload:
    scale = SCALES[scale] if isinstance(scale, str) else scale
    rng = random.Random(seed)
    new_id = _Ids(rng)
    clock = datetime(2026, 1, 1, tzinfo=UTC)
    w = Workload(scale)

    def tick() -> str:
        nonlocal clock
        clock += timedelta(milliseconds=rng.randint(1, 900))
        return clock.isoformat()

    def artifact(kind: str, name: str, attributes: dict[str, Any], **extra: Any) -> dict[str, Any]:
        body = {
            "id": new_id(),
            "name": name,
            "version": str(rng.randint(1, 9)),
            "kind": kind,
            "createTime": tick(),
            "uri": f"s3://lake/{kind}/{name}/{rng.getrandbits(40):x}",
            "annotations": {
                "owner": rng.choice(["ana", "ben", "chen", "dev"]),
                "stage": rng.choice(["dev", "staging", "prod"]),
            },
            "attributes": attributes,
            **extra,
        }
        return _create("artifact", body)

    steps = ["ingest", *(f"prepare-{i}" for i in range(1, scale.steps - 1)), "train"]
    executables = {}
    for name in [*steps, "refine"]:
        eid = new_id()
        executables[name] = eid
        w.setup.append(
            _create(
                "executable",
                {
                    "id": eid,
                    "name": f"{name}.py",
                    "version": "1",
                    "uri": f"git://repo/steps/{name}.py",
                },
            )
        )
    pools: list[list[str]] = []
    for e in range(scale.experiments):
        exp = new_id()
        w.experiments.append(exp)
        w.setup.append(
            _create(
                "experiment",
                {"id": exp, "name": f"experiment-{e}", "annotations": {"team": f"team-{e % 5}"}},
            )
        )
        pool = []
        for d in range(scale.shared_datasets):
            op = artifact(
                "dataset", f"source-{e}-{d}", {"type": rng.choice(["Blob", "SQL", "HDFS"])}
            )
            w.setup.append(op)
            pool.append(op["body"]["id"])
        pools.append(pool)
    popular = artifact("dataset", "popular-source", {"type": "Blob", "rows": 70000})
    w.setup.append(popular)
    w.popular_dataset = popular["body"]["id"]
    w.trace_experiment = w.experiments[0]

    total_runs = scale.experiments * scale.runs
    popular_every = max(1, total_runs // 1000)
    run_no = 0
    models: list[str] = []
    for e, exp in enumerate(w.experiments):
        for _ in range(scale.runs):
            ops: list[dict[str, Any]] = []
            run_id = new_id()
            event = artifact(
                "event",
                f"trigger-{run_no}",
                {"cause": rng.choice(["manual", "schedule", "data change"])},
            )
            ops.append(event)
            ops.append(
                _create(
                    "run",
                    {
                        "id": run_id,
                        "experiment": exp,
                        "name": f"run-{run_no}",
                        "createTime": tick(),
                        "event": event["body"]["id"],
                        "status": "SUCCESS",
                        "configuration": {
                            "learningRate": round(rng.uniform(1e-4, 1e-1), 5),
                            "epochs": rng.randint(1, 50),
                            "optimizer": rng.choice(["adam", "sgd"]),
                        },
                        "annotations": {"git": f"{rng.getrandbits(32):08x}"},
                    },
                )
            )
            available: list[str] = []
            for s, step in enumerate(steps):
                if s == 0:
                    inputs = rng.sample(pools[e], k=rng.randint(1, 2))
                    if run_no % popular_every == 0 and w.popular_runs < 1000:
                        inputs = [w.popular_dataset, *inputs[:1]]
                        w.popular_runs += 1
                else:
                    inputs = rng.sample(available, k=min(len(available), rng.randint(1, 3)))
                outs: list[dict[str, Any]] = []
                if step == "train":
                    model = artifact(
                        "model",
                        f"model-{run_no}",
                        {
                            "type": rng.choice(["CNN", "SVM", "Linear Regression"]),
                            "framework": {"value1": "torch", "value2": "2.4"},
                            "hyperParameters": {
                                "learningRate": rng.uniform(1e-4, 1e-1),
                                "layers": rng.randint(2, 9),
                            },
                        },
                    )
                    outs.append(model)
                    models.append(model["body"]["id"])
                    outs.append(
                        artifact(
                            "metrics",
                            f"accuracy-{run_no}",
                            {
                                "reference": model["body"]["id"],
                                "schema": "number",
                                "value": rng.uniform(0.6, 0.99),
                            },
                        )
                    )
                else:
                    for o in range(rng.randint(1, 3)):
                        if o == 1 and rng.random() < 0.7:
                            outs.append(
                                artifact(
                                    "validation",
                                    f"check-{run_no}-{s}",
                                    {
                                        "split": rng.choice(["train", "test", "holdout"]),
                                        "score": round(rng.random(), 6),
                                        "checks": rng.randint(1, 40),
                                        "tool": rng.choice(["great-expectations", "deequ", "tfdv"]),
                                    },
                                )
                            )
                        else:
                            outs.append(
                                artifact(
                                    "dataset",
                                    f"{step}-{run_no}-{o}",
                                    {"type": "Blob", "rows": rng.randint(1000, 10**6)},
                                )
                            )
                ops.extend(outs)
                exec_id = new_id()
                ops.append(
                    _create(
                        "execution",
                        {
                            "id": exec_id,
                            "run": run_id,
                            "executable": executables[step],
                            "name": step,
                            "kind": step.split("-")[0],
                            "status": "SUCCESS",
                            "startTime": tick(),
                            "endTime": tick(),
                            "inputArtifacts": inputs,
                            "outputArtifacts": [o["body"]["id"] for o in outs],
                            "successors": [],
                            "configuration": {
                                "seed": rng.randint(0, 999),
                                "batch": rng.choice([32, 64, 128]),
                            },
                            "annotations": {"host": f"node-{rng.randint(1, 8)}"},
                        },
                    )
                )
                available.extend(o["body"]["id"] for o in outs if o["body"]["kind"] != "metrics")
            w.runs.append(ops)
            w.run_ids.append(run_id)
            run_no += 1
    w.dag_run = w.run_ids[0]
    w.diff_pair = (models[1], models[0])
    w.runs.append(_chain(w, new_id, artifact, executables["refine"], tick))
    return w


def _chain(
    w: Workload, new_id: Any, artifact: Any, executable: str, tick: Any
) -> list[dict[str, Any]]:
    """One run that refines a dataset through CHAIN steps: a lineage CHAIN hops deep."""
    run_id = new_id()
    ops = [
        _create(
            "run",
            {
                "id": run_id,
                "experiment": w.experiments[-1],
                "name": "refinement",
                "status": "SUCCESS",
                "createTime": tick(),
            },
        )
    ]
    source = artifact("dataset", "chain-0", {"type": "Blob"})
    ops.append(source)
    w.chain = [source["body"]["id"]]
    for i in range(1, CHAIN + 1):
        out = artifact("dataset", f"chain-{i}", {"type": "Blob", "generation": i})
        ops.append(out)
        ops.append(
            _create(
                "execution",
                {
                    "id": new_id(),
                    "run": run_id,
                    "executable": executable,
                    "name": f"refine-{i}",
                    "kind": "refine",
                    "status": "SUCCESS",
                    "inputArtifacts": [w.chain[-1]],
                    "outputArtifacts": [out["body"]["id"]],
                },
            )
        )
        w.chain.append(out["body"]["id"])
    return ops


def phases(w: Workload) -> tuple[list[list[dict]], list[list[dict]], list[list[dict]]]:
    """Runs ingested by one client (timed), by eight (timed), and the rest (not timed)."""
    share = min(20_000, w.entities // 2)
    a: list[list[dict]] = []
    b: list[list[dict]] = []
    i, n = 0, 0
    while i < len(w.runs) and n < share:
        a.append(w.runs[i])
        n += len(w.runs[i])
        i += 1  # noqa: E702
    n = 0
    while i < len(w.runs) and n < share:
        b.append(w.runs[i])
        n += len(w.runs[i])
        i += 1  # noqa: E702
    # the deep-lineage chain is always stored (it is the last run)
    rest = w.runs[i:]
    return a, b, rest


def batches(runs: list[list[dict]], size: int = 1000) -> list[list[dict]]:
    """Whole runs grouped into requests of about ``size`` entities (client-side buffering)."""
    out: list[list[dict]] = []
    current: list[dict] = []
    for ops in runs:
        current.extend(ops)
        if len(current) >= size:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out
