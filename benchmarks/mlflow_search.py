"""MLflow's ``search_runs`` filters at a store of ``--runs`` runs in one experiment, on SQLite
and PostgreSQL, through the services as the server runs them (no HTTP).

Each run reads one of ten datasets (name, digest, a context tag); each filter below is timed
``--repeat`` times after a warm-up for a page of ``--page`` runs (median and 95th percentile,
milliseconds), with the number of runs it matched, after the store is analysed:

- dataset name, digest and context; the artifact URI; a pattern and a list of run ids;
- a param and a metric for comparison (filters the database always answered).

    python -m benchmarks.mlflow_search --runs 1000 --repeat 30 [--mode sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.measure import timed
from benchmarks.modeltrail_driver import store_url
from modeltrail.integrations.mlflow import experiments, lineage, metrics, runs
from modeltrail.integrations.mlflow.routes import _details
from modeltrail.services.metadata import Metadata


def _fill(meta: Metadata, count: int) -> tuple[str, list[str]]:
    experiment = experiments.create_experiment(meta, "bench", None, {})
    ids = []
    for i in range(count):
        rid = runs.create_run(
            meta, experiment=experiment, start_time=None, tags={}, run_name=f"r{i}", user_id=None
        )["info"]["run_id"]
        ids.append(rid)
        point = metrics.parse_metric({"key": "acc", "value": i / count, "timestamp": 1, "step": 0})
        runs.log_batch(
            meta,
            rid,
            params=[("lr", str(i % 7))],
            tags=[],
            metrics_writer=metrics.writer([point], [False]),
        )
        dataset = {
            "dataset": {"name": f"digits-{i % 10}", "digest": f"d{i % 10:03}", "source_type": "s"},
            "tags": [{"key": "mlflow.data.context", "value": "train" if i % 2 else "eval"}],
        }
        lineage.log_inputs(meta, rid, [dataset], [])
    return experiment, ids


def measure(url: str, count: int, repeat: int, page: int) -> list[dict[str, Any]]:
    meta = Metadata.open(url)
    try:
        experiment, ids = _fill(meta, count)
        # As a store in use is: the planner's statistics up to date (PostgreSQL's autovacuum
        # analyses a table once enough of it changed; a bulk fill outruns it).
        with meta.db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        filters = {
            "datasets.name": "datasets.name = 'digits-3'",
            "datasets.digest": "datasets.digest LIKE 'd00%'",
            "datasets.context": "datasets.context = 'train'",
            "attributes.artifact_uri": f"attributes.artifact_uri LIKE '%/{ids[5][:6]}%'",
            "attributes.run_id LIKE": f"attributes.run_id LIKE '{ids[7][:2]}%'",
            "attributes.run_id IN": "attributes.run_id IN ("
            + ", ".join(f"'{i}'" for i in ids[:50])
            + ")",
            "params.lr (SQL before too)": "params.lr = '3'",
            "metrics.acc (SQL before too)": "metrics.acc > 0.5",
        }
        rows = []
        for label, text in filters.items():

            def search(text: str = text) -> dict[str, Any]:
                return runs.search_runs(
                    meta,
                    experiment_ids=[experiment],
                    filter_string=text,
                    view=1,
                    max_results=page,
                    order_by=[],
                    page_token=None,
                    extras=_details,
                )

            found = len(
                runs.search_runs(
                    meta,
                    experiment_ids=[experiment],
                    filter_string=text,
                    view=1,
                    max_results=count,
                    order_by=[],
                    page_token=None,
                    extras=_details,
                )["runs"]
            )
            rows.append({"filter": label, "matched": found, **timed(search, repeat)})
        return rows
    finally:
        meta.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--page", type=int, default=100)
    parser.add_argument("--mode", choices=["sqlite", "postgresql"], action="append")
    args = parser.parse_args()
    for mode in args.mode or ["sqlite", "postgresql"]:
        with tempfile.TemporaryDirectory() as tmp, store_url(mode, Path(tmp)) as url:
            print(f"{mode}: {args.runs} runs, a page of {args.page}")
            for row in measure(url, args.runs, args.repeat, args.page):
                print(
                    f"  {row['filter']:<30} {row['matched']:>5} runs  "
                    f"median {row['median']:7.2f} ms  p95 {row['p95']:7.2f} ms"
                )


if __name__ == "__main__":
    main()
