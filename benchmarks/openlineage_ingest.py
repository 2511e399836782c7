"""How fast the OpenLineage receiver stores events, in-process (no HTTP), on SQLite or PostgreSQL.

    python benchmarks/openlineage_ingest.py [DATABASE_URL] [--dags 50] [--tasks 5]

Each DAG run is a START and a COMPLETE of every task, each task reading the previous task's
output; the events are sent in order, then all again shuffled (the duplicate path).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "src"))

from modeltrail.integrations.openlineage.translator import ingest  # noqa: E402
from modeltrail.services.metadata import Metadata  # noqa: E402

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/client/python"


def events(dags: int, tasks: int) -> list[dict]:
    out = []
    for d in range(dags):
        dag_run = str(uuid.uuid4())
        for t in range(tasks):
            run_id = str(uuid.uuid4())
            for kind, second in (("START", 0), ("COMPLETE", 30)):
                out.append(
                    {
                        "eventType": kind,
                        "eventTime": f"2024-05-01T{d % 24:02d}:{t:02d}:{second:02d}Z",
                        "producer": PRODUCER,
                        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json",
                        "run": {
                            "runId": run_id,
                            "facets": {
                                "parent": {
                                    "_producer": PRODUCER,
                                    "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/x.json",
                                    "run": {"runId": dag_run},
                                    "job": {"namespace": "bench", "name": "dag"},
                                }
                            },
                        },
                        "job": {"namespace": "bench", "name": f"dag.task{t}"},
                        "inputs": [{"namespace": "s3://lake", "name": f"d{d}/t{t - 1}"}]
                        if t
                        else [],
                        "outputs": [{"namespace": "s3://lake", "name": f"d{d}/t{t}"}],
                    }
                )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?")
    parser.add_argument("--dags", type=int, default=50)
    parser.add_argument("--tasks", type=int, default=5)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    meta = Metadata.open(url)
    batch = events(args.dags, args.tasks)
    start = time.perf_counter()
    for event in batch:
        ingest(meta, event)
    first = time.perf_counter() - start
    shuffled = random.Random(1).sample(batch, len(batch))
    start = time.perf_counter()
    for event in shuffled:
        ingest(meta, event)
    again = time.perf_counter() - start
    n = len(batch)
    print(
        f"{meta.db.dialect}: {n} events in {first:.2f} s ({n / first:.0f} events/s, "
        f"{1000 * first / n:.1f} ms each); the same again shuffled (duplicates): "
        f"{again:.2f} s ({n / again:.0f} events/s)"
    )
    meta.close()


if __name__ == "__main__":
    main()
