"""Writing a store (or one experiment) out as NDJSON records, from one snapshot."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Table, and_, func, select
from sqlalchemy.orm import Session

from modeltrail.domain.errors import NotFound
from modeltrail.store.portability.encoding import (
    CHUNK,
    FORMAT,
    FORMAT_VERSION,
    SCRUBBED,
    non_finite_columns,
    spelt_out,
    tables,
)
from modeltrail.store.tables import (
    ArtifactReferenceRow,
    ArtifactRow,
    ExecutableRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    ExecutionSuccessorRow,
    ExperimentRow,
    FlagRow,
    MetricChunkRow,
    MetricSeriesRow,
    PipelineExecutableRow,
    PipelineRow,
    RunMetricRow,
    RunRow,
)

# ---------------------------------------------------------------- export


def experiment_scope(session: Session, experiment: uuid.UUID) -> dict[str, Any]:
    """The rows that belong to one experiment: its runs, their executions, and everything those
    read, wrote, ran or were triggered by (referenced artifacts followed transitively)."""
    if session.get(ExperimentRow, experiment) is None:
        raise NotFound(f"experiment {experiment} does not exist")
    runs = set(session.scalars(select(RunRow.id).where(RunRow.experiment_id == experiment)))
    executions = set(session.scalars(select(ExecutionRow.id).where(ExecutionRow.run_id.in_(runs))))
    artifacts: set[uuid.UUID] = set()
    for edge in (ExecutionInputRow, ExecutionOutputRow):
        artifacts |= set(
            session.scalars(select(edge.artifact_id).where(edge.execution_id.in_(executions)))
        )
    artifacts |= {
        e for e in session.scalars(select(RunRow.event_id).where(RunRow.id.in_(runs))) if e
    }
    frontier = set(artifacts)
    while frontier:
        found = set(
            session.scalars(
                select(ArtifactReferenceRow.target_id).where(
                    ArtifactReferenceRow.artifact_id.in_(frontier)
                )
            )
        )
        frontier = found - artifacts
        artifacts |= found
    # Executions reused from outside the experiment are kept as references only (no rows).
    pipelines = {
        p for p in session.scalars(select(RunRow.pipeline_id).where(RunRow.id.in_(runs))) if p
    }
    executables = set(
        session.scalars(select(ExecutionRow.executable_id).where(ExecutionRow.id.in_(executions)))
    )
    executables |= set(
        session.scalars(
            select(PipelineExecutableRow.executable_id).where(
                PipelineExecutableRow.pipeline_id.in_(pipelines)
            )
        )
    )
    return {
        "experiments": ExperimentRow.id == experiment,
        "runs": RunRow.id.in_(runs),
        "executions": ExecutionRow.id.in_(executions),
        "artifacts": ArtifactRow.id.in_(artifacts),
        "pipelines": PipelineRow.id.in_(pipelines),
        "executables": ExecutableRow.id.in_(executables),
        "pipeline_executables": PipelineExecutableRow.pipeline_id.in_(pipelines),
        "execution_inputs": ExecutionInputRow.execution_id.in_(executions),
        "execution_outputs": ExecutionOutputRow.execution_id.in_(executions),
        "execution_successors": and_(
            ExecutionSuccessorRow.execution_id.in_(executions),
            ExecutionSuccessorRow.successor_id.in_(executions),
        ),
        "artifact_references": ArtifactReferenceRow.artifact_id.in_(artifacts),
        "flags": FlagRow.artifact_id.in_(artifacts),
        "metric_series": MetricSeriesRow.run_id.in_(runs),
        "metric_chunks": MetricChunkRow.series_id.in_(
            select(MetricSeriesRow.id).where(MetricSeriesRow.run_id.in_(runs))
        ),
        "run_metrics": RunMetricRow.run_id.in_(runs),
        "kinds": True,
        "_executions": executions,
    }


def where_in_scope(scope: dict[str, Any] | None, table: Table) -> Any:
    if scope is None:
        return None
    clause = scope.get(table.name)
    if clause is None:
        return False  # a table this export does not know how to scope: left out
    return clause


def count_rows(session: Session, *, experiment: uuid.UUID | None = None) -> dict[str, int]:
    """How many rows each table will export (for progress bars)."""
    scope = experiment_scope(session, experiment) if experiment else None
    out = {}
    for table in tables():
        where = where_in_scope(scope, table)
        if where is False:
            continue
        query = select(func.count()).select_from(table)
        if where is not None and where is not True:
            query = query.where(where)
        out[table.name] = int(session.scalar(query) or 0)
    return out


def export_records(
    session: Session, *, experiment: uuid.UUID | None = None, schema_revision: str | None = None
) -> Iterator[dict[str, Any]]:
    """The header, then every row of every table in foreign-key order."""
    scope = experiment_scope(session, experiment) if experiment else None
    yield {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "schemaRevision": schema_revision,
        "experiment": str(experiment) if experiment else None,
    }
    for table in tables():
        where = where_in_scope(scope, table)
        if where is False:
            continue
        non_finite = non_finite_columns(table)
        query = select(table).order_by(*table.primary_key.columns)
        if where is not None and where is not True:
            query = query.where(where)
        for row in session.execute(query.execution_options(yield_per=CHUNK)).mappings():
            data = {str(k): v for k, v in row.items()}  # keys may be str subclasses
            if non_finite:
                data = spelt_out(data, non_finite)
            if table.name in SCRUBBED:
                data = SCRUBBED[table.name](data)
            if (
                scope is not None
                and table.name == "executions"
                and data["reused_from_id"] not in scope["_executions"]
            ):
                data["reused_from_id"] = None  # reused from another experiment: not in this export
            yield {"table": table.name, "row": data}
