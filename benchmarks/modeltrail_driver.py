"""modeltrail under the benchmark: embedded (services in-process), or a real server over HTTP."""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson

from benchmarks import servers
from benchmarks.measure import PeakRss, na, rate, timed
from benchmarks.workload import VALIDATION_KIND, Workload, batches, phases
from modeltrail.sdk.connection import parsed

ROOT = Path(__file__).resolve().parents[1]
API = "/api/v1"
LIST_FILTER = ["kind:eq:validation", "split:eq:test"]
LIST_SORT = "-score"


class Target:
    """One way of talking to modeltrail; the benchmark's operations are written against it."""

    page = 100

    def register_kind(self) -> None: ...
    def batch(self, ops: list[dict]) -> None: ...
    def create(self, body: dict) -> Any: ...
    def read(self, artifact: str) -> Any: ...
    def list(self, cursor: str | None) -> dict: ...
    def upstream(self, artifact: str, depth: int) -> Any: ...
    def impact(self, artifact: str) -> Any: ...
    def dag(self, run: str) -> Any: ...
    def trace(self, experiment: str) -> Any: ...
    def diff(self, a: str, b: str) -> Any: ...
    def as_json(self, answer: Any) -> Any:
        """An answer in the form the server sends (the checks read that form)."""
        return answer

    def pid(self) -> int:
        return os.getpid()

    def settle(self) -> None:
        """After a bulk load, bring PostgreSQL to where it settles by itself within minutes
        of a load, so that the reads are not measured beside the load's aftermath on one of
        the machine's two cores: planner statistics (a freshly loaded table has none, and
        the planner then walks lineage with merge joins over whole tables), the tables
        vacuumed (autovacuum's pass over the new rows), and a checkpoint (the checkpointer
        writes the load's pages over the next minutes otherwise)."""
        url = getattr(self, "url", "")
        if url.startswith("postgresql"):
            from sqlalchemy import create_engine

            engine = create_engine(url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
                conn.exec_driver_sql("CHECKPOINT")
            engine.dispose()

    def close(self) -> None: ...


class Embedded(Target):
    def __init__(self, url: str) -> None:
        from modeltrail.services.metadata import Metadata

        # The services as the server runs them (the SDK's embedded mode leaves the collector
        # alone: it runs in the user's process).
        self.meta = Metadata.open(url, hold_collector=True)

    def register_kind(self) -> None:
        from modeltrail.domain.models import KindCreate
        from modeltrail.services.kinds import register_kind

        self.meta.call(register_kind, KindCreate.model_validate(VALIDATION_KIND))

    def batch(self, ops: list[dict]) -> None:
        from modeltrail.domain.batch import BatchRequest
        from modeltrail.services.batch import run_batch

        run_batch(self.meta, BatchRequest.model_validate({"operations": ops}).operations)

    def create(self, body: dict) -> Any:
        from modeltrail.domain.models import ArtifactCreate

        return self.meta.create("artifact", ArtifactCreate.model_validate(body))[0]

    def read(self, artifact: str) -> Any:
        return self.meta.read("artifact", uuid.UUID(artifact))

    def list(self, cursor: str | None) -> dict:
        from modeltrail.domain.filters import ListOptions, parse_filters, parse_sort

        page = self.meta.list(
            "artifact",
            ListOptions(
                filters=tuple(parse_filters(LIST_FILTER)),
                sort=parse_sort(LIST_SORT),
                limit=self.page,
                cursor=cursor,
            ),
        )
        return {
            "items": [a.model_dump(by_alias=True) for a in page.items],
            "nextCursor": page.next_cursor,
        }

    # The services' answers, as an embedded user gets them (models); ``as_json`` gives the
    # form the server would send, for the checks.

    def upstream(self, artifact: str, depth: int) -> Any:
        from modeltrail.services.graph import lineage

        return self.meta.query(lineage.artifact_lineage, uuid.UUID(artifact), depth=depth)

    def impact(self, artifact: str) -> Any:
        from modeltrail.services.graph import impact

        return self.meta.query(impact.impact, uuid.UUID(artifact))

    def dag(self, run: str) -> Any:
        from modeltrail.services.graph import dag

        return self.meta.query(dag.run_dag, uuid.UUID(run))

    def trace(self, experiment: str) -> Any:
        from modeltrail.services.graph import trace

        return self.meta.query(trace.experiment_trace, uuid.UUID(experiment))

    def diff(self, a: str, b: str) -> Any:
        from modeltrail.services.graph import diff

        return self.meta.query(diff.lineage_diff, uuid.UUID(a), uuid.UUID(b))

    def as_json(self, answer: Any) -> Any:
        return answer.model_dump(mode="json", by_alias=True, exclude_none=True)

    def close(self) -> None:
        self.meta.close()


class Http(Target):
    """modeltrail over HTTP: a server process on the database ``url``."""

    def __init__(self, url: str, workdir: Path) -> None:
        self.url = url
        self.server = servers.modeltrail(url, workdir)
        self.base = self.server.url
        self.proc = self.server.proc
        self.local = threading.local()

    @property
    def client(self) -> httpx.Client:
        c = getattr(self.local, "client", None)
        if c is None:
            c = self.local.client = httpx.Client(base_url=self.base, timeout=300)
        return c

    def pid(self) -> int:
        return self.proc.pid

    def _answer(self, r: httpx.Response) -> Any:
        """The answer's JSON, parsed as the SDK parses it."""
        if r.status_code >= 400:
            raise RuntimeError(
                f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:500]}"
            )
        return parsed(r)

    def _post(self, path: str, body: Any) -> Any:
        return self._answer(
            self.client.post(
                path, content=orjson.dumps(body), headers={"content-type": "application/json"}
            )
        )

    def register_kind(self) -> None:
        self._post(f"{API}/kinds", VALIDATION_KIND)

    def batch(self, ops: list[dict]) -> None:
        self._post(f"{API}/batch", {"operations": ops})

    def create(self, body: dict) -> Any:
        return self._post(f"{API}/artifacts", body)

    def read(self, artifact: str) -> Any:
        return self._answer(self.client.get(f"{API}/artifacts/{artifact}"))

    def list(self, cursor: str | None) -> dict:
        params: list[tuple[str, Any]] = [("filter", f) for f in LIST_FILTER]
        params += [("sort", LIST_SORT), ("limit", self.page)]
        if cursor:
            params.append(("cursor", cursor))
        return self._answer(self.client.get(f"{API}/artifacts", params=params))

    def upstream(self, artifact: str, depth: int) -> Any:
        return self._answer(
            self.client.get(
                f"{API}/artifacts/{artifact}/lineage",
                params={"direction": "upstream", "depth": depth},
            )
        )

    def impact(self, artifact: str) -> Any:
        return self._answer(self.client.get(f"{API}/artifacts/{artifact}/impact"))

    def dag(self, run: str) -> Any:
        return self._answer(self.client.get(f"{API}/runs/{run}/dag"))

    def trace(self, experiment: str) -> Any:
        return self._answer(self.client.get(f"{API}/experiments/{experiment}/trace"))

    def diff(self, a: str, b: str) -> Any:
        return self._answer(self.client.get(f"{API}/artifacts/{a}/diff", params={"against": b}))

    def close(self) -> None:
        self.server.stop()


def ingest(target: Target, runs: list[list[dict]], clients: int) -> dict[str, float]:
    work = batches(runs)
    entities = sum(len(b) for b in work)
    times: list[float] = []
    lock = threading.Lock()

    def worker(mine: list[list[dict]]) -> None:
        for ops in mine:
            start = time.perf_counter()
            target.batch(ops)
            with lock:
                times.append(time.perf_counter() - start)

    start = time.perf_counter()
    if clients == 1:
        worker(work)
    else:
        threads = [
            threading.Thread(target=worker, args=(work[i::clients],)) for i in range(clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return rate(entities, time.perf_counter() - start, times)


def _ids(node: dict[str, Any]) -> list[str]:
    """A lineage node's artifact ids: equal artifacts merged into it are listed in ``artifacts``."""
    return node.get("artifacts") or [node["id"]]


def _reached(lineage: dict[str, Any], expected: str) -> dict[str, Any]:
    """How far an upstream answer of the lineage endpoint went, and whether it reached the
    artifact ``expected`` at its far end."""
    artifacts = [n for n in lineage["nodes"] if n["type"] == "artifact" and "depth" in n]
    hops = max(n["depth"] for n in artifacts)
    far = {i for n in artifacts if n["depth"] == hops for i in _ids(n)}
    return {
        "hops": hops,
        "reaches": expected if expected in far else sorted(far)[0],
        "expected": expected,
    }


def reads(target: Target, w: Workload) -> tuple[dict[str, tuple[Callable[[], Any], int]], list]:
    """The timed reads of the comparison, each with its number of samples, against a loaded
    target; and the pages of the filtered list up to the deep one (for the checks)."""
    samples = w.scale.samples
    target.page = w.scale.page_size
    rng = random.Random(1)
    artifacts = [op["body"]["id"] for ops in w.runs for op in ops if op["entity"] == "artifact"]
    pages = [target.list(None)]
    cursor = pages[0]["nextCursor"]
    for _ in range(w.scale.deep_page - 1):
        if not cursor:
            break
        pages.append(target.list(cursor))
        cursor = pages[-1]["nextCursor"]
    if cursor:
        pages.append(target.list(cursor))
    few = max(5, samples // 5)  # the large answers: the impact and the trace
    out: dict[str, tuple[Callable[[], Any], int]] = {
        "read": (lambda: target.read(rng.choice(artifacts)), samples * 4),
        "list_first": (lambda: target.list(None), samples),
    }
    if cursor:
        out["list_deep"] = (lambda: target.list(cursor), samples)
    out |= {
        "up_20": (lambda: target.upstream(w.chain[-1], 20), samples),
        "up_100": (lambda: target.upstream(w.chain[-1], 100), samples),
        "impact": (lambda: target.impact(w.popular_dataset), few),
        "dag": (lambda: target.dag(w.dag_run), samples),
        "trace": (lambda: target.trace(w.trace_experiment), few),
        "diff": (lambda: target.diff(*w.diff_pair), samples),
    }
    return out, pages


def load(target: Target, w: Workload) -> None:
    """The whole workload, untimed."""
    target.register_kind()
    target.batch(w.setup)
    ingest(target, w.runs, 1)
    target.settle()


def run(target: Target, w: Workload, *, http: bool) -> dict[str, Any]:
    """Every operation of the comparison against one modeltrail target."""
    out: dict[str, Any] = {"notes": {}, "checks": {}}
    a, b, rest = phases(w)
    with PeakRss(target.pid()) as rss_ingest:
        target.register_kind()
        target.batch(w.setup)
        out["ingest_1"] = ingest(target, a, 1)
        if http:
            out["ingest_8"] = ingest(target, b, 8)
        else:
            ingest(target, b, 1)
            out["ingest_8"] = na("in-process: no HTTP clients")
        ingest(target, rest, 1)
    out["rss_ingest"] = rss_ingest.mib
    target.settle()

    counter = iter(range(10**9))
    with PeakRss(target.pid()) as rss_query:
        out["create"] = timed(
            lambda: target.create(
                {
                    "name": f"probe-{next(counter)}",
                    "kind": "dataset",
                    "attributes": {"type": "Blob"},
                    "annotations": {"owner": "bench"},
                }
            ),
            w.scale.samples * 4,
        )
        timed_reads, pages = reads(target, w)
        for key, (read, samples) in timed_reads.items():
            out[key] = timed(read, samples)
        if "list_deep" not in out:
            out["list_deep"] = na("too few pages")
        out["checks"] = checks(target, w, pages)
    out["rss_query"] = rss_query.mib
    return out


def checks(target: Target, w: Workload, pages: list[dict]) -> dict[str, Any]:
    """What the reads answered, for the smoke test to compare with the workload."""
    out: dict[str, Any] = {}
    listed = [i for p in pages for i in p["items"]]
    scores = [i["attributes"]["score"] for i in listed]
    out["list"] = {
        "items": len(listed),
        "all_match": all(
            i["kind"] == "validation" and i["attributes"]["split"] == "test" for i in listed
        ),
        "sorted": scores == sorted(scores, reverse=True),
        "distinct": len({i["id"] for i in listed}) == len(listed),
    }
    for hops in (20, 100):
        result = target.as_json(target.upstream(w.chain[-1], hops))
        out[f"up_{hops}"] = _reached(result, w.chain[-1 - hops])
    impact = target.as_json(target.impact(w.popular_dataset))
    out["impact"] = {
        "artifacts": len({i for a in impact["artifacts"] for i in _ids(a["artifact"])}),
        "runs_reading": w.popular_runs,
    }
    dag = target.as_json(target.dag(w.dag_run))
    out["dag"] = {
        "executions": sum(n["type"] == "execution" for n in dag["nodes"]),
        "expected": w.scale.steps,
        "edges": sum(e["type"] in ("input", "output") for e in dag["edges"]),
    }
    trace = target.as_json(target.trace(w.trace_experiment))
    steps = [e for r in trace["runs"] for e in r["executions"]]
    out["trace"] = {
        "executions": len(steps),
        "artifacts": len(trace["artifacts"]),
        "edges": sum(len(e["inputs"]) + len(e["outputs"]) for e in steps),
        "expected_executions": w.scale.runs * w.scale.steps,
    }
    out["diff"] = {"differences": len(target.as_json(target.diff(*w.diff_pair))["differences"])}
    return out


@contextmanager
def store_url(mode: str, workdir: Path, postgres_admin: str | None = None) -> Iterator[str]:
    """The URL of an empty store for ``mode``: a scratch PostgreSQL database (dropped after)
    or a new SQLite file in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    if mode != "postgresql":
        # Absolute: the servers run in ``workdir`` and would read a relative path from there.
        db = workdir.resolve() / f"modeltrail-{mode}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        yield f"sqlite:///{db}"
        return
    from sqlalchemy import create_engine, text

    name = f"modeltrail_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        postgres_admin or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_mode(
    mode: str, w: Workload, workdir: Path, postgres_admin: str | None = None
) -> dict[str, Any]:
    with store_url(mode, workdir, postgres_admin) as url:
        target: Target = Embedded(url) if mode == "embedded" else Http(url, workdir)
        try:
            result = run(target, w, http=mode != "embedded")
        finally:
            target.close()
    if mode == "embedded":
        result["notes"]["rss_ingest"] = result["notes"]["rss_query"] = (
            "the benchmark process itself"
        )
    return result
