"""Query plans of the key queries on SQLite and PostgreSQL, on a store of the chosen scale.

``python -m benchmarks plans --scale 100k`` loads the workload into a scratch store of each
dialect (through the batch service), runs each key query once while recording the SQL it
sends, and prints that SQL's plan: ``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN ANALYZE`` on
PostgreSQL.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text

from benchmarks.modeltrail_driver import LIST_FILTER, LIST_SORT
from benchmarks.workload import VALIDATION_KIND, Workload, batches


def load(url: str, w: Workload) -> Any:
    from modeltrail.domain.batch import BatchRequest
    from modeltrail.domain.models import KindCreate
    from modeltrail.services.batch import run_batch
    from modeltrail.services.kinds import register_kind
    from modeltrail.services.metadata import Metadata

    meta = Metadata.open(url)
    meta.call(register_kind, KindCreate.model_validate(VALIDATION_KIND))
    for ops in [w.setup, *batches(w.runs, 5000)]:
        run_batch(meta, BatchRequest.model_validate({"operations": ops}).operations)
    with meta.db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return meta


def queries(meta: Any, w: Workload) -> dict[str, Any]:
    from modeltrail.domain.filters import ListOptions, parse_filters, parse_sort
    from modeltrail.services.graph import dag, impact, lineage, trace

    options = ListOptions(
        filters=tuple(parse_filters(LIST_FILTER)), sort=parse_sort(LIST_SORT), limit=100
    )
    return {
        "list artifacts: kind=validation, split=test, sorted by -score, first page": lambda: (
            meta.list("artifact", options)
        ),
        "upstream lineage, 100 hops": lambda: meta.call(
            lineage.artifact_lineage, uuid.UUID(w.chain[-1]), depth=100
        ),
        "downstream impact of the popular dataset": lambda: meta.call(
            impact.impact, uuid.UUID(w.popular_dataset)
        ),
        "experiment trace": lambda: meta.call(
            trace.experiment_trace, uuid.UUID(w.trace_experiment)
        ),
        "run DAG": lambda: meta.call(dag.run_dag, uuid.UUID(w.dag_run)),
    }


def explain(meta: Any, w: Workload) -> list[tuple[str, str, str]]:
    engine = meta.db.engine
    out = []
    for title, fn in queries(meta, w).items():
        seen: list[tuple[str, Any]] = []

        def capture(
            conn: Any,
            cursor: Any,
            statement: str,
            parameters: Any,
            context: Any,
            many: bool,
            seen: list[tuple[str, Any]] = seen,
        ) -> None:
            if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                seen.append((statement, parameters))

        engines = {engine, meta.db.read_engine}  # reads may go through SQLite's read engine
        for e in engines:
            event.listen(e, "before_cursor_execute", capture)
        try:
            fn()
        finally:
            for e in engines:
                event.remove(e, "before_cursor_execute", capture)
        statement, parameters = max(seen, key=lambda s: len(s[0]))
        prefix = (
            "EXPLAIN QUERY PLAN "
            if engine.dialect.name == "sqlite"
            else "EXPLAIN (ANALYZE, COSTS OFF) "
        )
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(prefix + statement, parameters).all()
        if engine.dialect.name == "sqlite":
            plan = "\n".join(f"{r[0]:>3} {r[1]:>3}  {r[3]}" for r in rows)
        else:
            plan = "\n".join(r[0] for r in rows)
        out.append((title, statement, plan))
    return out


def main(scale: str, workdir: Path, postgres_admin: str) -> str:
    from benchmarks.workload import generate

    w = generate(scale)
    workdir.mkdir(parents=True, exist_ok=True)
    sections = []
    db = workdir / "plans.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    name = f"modeltrail_plans_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        for dialect, url in (
            ("SQLite", f"sqlite:///{db}"),
            ("PostgreSQL", admin.url.set(database=name).render_as_string(hide_password=False)),
        ):
            meta = load(url, w)
            try:
                for title, _statement, plan in explain(meta, w):
                    sections.append(f"#### {title} — {dialect}\n\n```\n{plan}\n```\n")
            finally:
                meta.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return "\n".join(sections)
