"""Free-text search at the benchmark's store size, on SQLite and PostgreSQL.

The ``100k`` workload (``benchmarks.workload``: 102,270 entities with names, uris and
annotations) is written through the batch path, as clients write it, timed: the search
index is kept by triggers on every write, and ``--without-index`` drops those triggers
first, to measure what keeping the index costs the writes. Then each search below is
measured ``--repeat`` times after a warm-up (median and 95th percentile, in-process through
the services, as the server runs them):

- a frequent word (every run and step: ``run``), a rare one, a two-letter beginning, two
  words, an id's first 8 characters and a whole id.

    python -m benchmarks.search --scale 100k --repeat 30 [--mode sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.modeltrail_driver import Embedded, store_url
from benchmarks.workload import batches, generate


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def _drop_triggers(target: Embedded) -> None:
    from sqlalchemy import text

    tables = [
        "experiments",
        "executables",
        "pipelines",
        "runs",
        "executions",
        "artifacts",
        "registered_models",
    ]
    with target.meta.db.engine.begin() as conn:
        for table in tables:
            if target.meta.db.dialect == "postgresql":
                conn.execute(text(f"DROP TRIGGER search_{table}_write ON {table}"))
                conn.execute(text(f"DROP TRIGGER search_{table}_delete ON {table}"))
            else:
                for event in ("insert", "update", "delete"):
                    conn.execute(text(f"DROP TRIGGER search_{table}_{event}"))


def run(mode: str, scale: str, repeat: int, without_index: bool) -> dict[str, Any]:
    from modeltrail.services.search import search

    w = generate(scale)
    with tempfile.TemporaryDirectory() as tmp, store_url(mode, Path(tmp)) as url:
        target = Embedded(url)
        try:
            target.register_kind()
            if without_index:
                _drop_triggers(target)
            target.batch(w.setup)
            work = batches(w.runs)
            entities = sum(len(b) for b in work)
            t0 = time.perf_counter()
            for ops in work:
                target.batch(ops)
            seconds = time.perf_counter() - t0
            out: dict[str, Any] = {
                "mode": mode,
                "entities": w.entities,
                "ingest entities/s": round(entities / seconds),
                "index": not without_index,
            }
            if without_index:
                return out
            target.settle()
            run_id = w.run_ids[len(w.run_ids) // 2]
            run_name = next(
                op["body"]["name"]
                for ops in w.runs
                for op in ops
                if op["entity"] == "run" and op["body"].get("id") == run_id
            )
            queries = {
                "frequent word (run)": "run",
                f"rare words ({run_name})": run_name,
                "two letters (tr)": "tr",
                "two words (lake model)": "lake model",
                "id, first 8": run_id[:8],
                "whole id": run_id,
            }
            for label, text in queries.items():
                answer = target.meta.query(search, text)
                assert answer.items, label
                median, p95 = _timed(lambda t=text: target.meta.query(search, t), repeat)
                out[label] = f"{median:.1f} ms (p95 {p95:.1f})"
            return out
        finally:
            target.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="100k")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--mode", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--without-index", action="store_true")
    args = parser.parse_args()
    for mode in args.mode or ["sqlite", "postgresql"]:
        result = run(mode, args.scale, args.repeat, args.without_index)
        for key, value in result.items():
            print(f"{key:28} {value}")
        print()


if __name__ == "__main__":
    main()
