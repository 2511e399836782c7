"""Runs (one execution of a pipeline, in an experiment): create, read, update, delete, list."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain.entities import ENTITIES
from modeltrail.domain.filters import ListOptions
from modeltrail.domain.models import Page, Run, RunCreate, RunUpdate
from modeltrail.domain.status import settle_create, settle_update
from modeltrail.services import access
from modeltrail.services.common import (
    apply_update,
    check_revision,
    existing_for_retry,
    get_or_404,
    list_page,
    refuse_if_referenced,
    require_existing,
)
from modeltrail.store.dialect import seconds_between
from modeltrail.store.listing import Fields
from modeltrail.store.metric_columns import metric_column, metric_joins
from modeltrail.store.rows import new_row, to_model
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutionRow,
    ExperimentRow,
    PipelineRow,
    RunRow,
    utcnow,
)


def _run_duration(dialect: str, path: tuple[str, ...]) -> Any:
    """A run's duration in seconds (NULL while it runs): sortable and searchable like a metric."""
    if path:
        raise ValueError("'duration' has no sub-fields")
    return seconds_between(dialect, RunRow.create_time, RunRow.end_time)


RUN_FIELDS = Fields(
    columns={
        "id": RunRow.id,
        "experiment": RunRow.experiment_id,
        "name": RunRow.name,
        "version": RunRow.version,
        "createTime": RunRow.create_time,
        "endTime": RunRow.end_time,
        "uri": RunRow.uri,
        "status": RunRow.status,
        "pipeline": RunRow.pipeline_id,
        "event": RunRow.event_id,
        "revision": RunRow.revision,
    },
    documents={"annotations": RunRow.annotations, "configuration": RunRow.configuration},
    named={"experiment": ExperimentRow, "pipeline": PipelineRow, "event": ArtifactRow},
    derived={
        "metrics": lambda dialect, path: metric_column(dialect, RunRow.id, path),
        "duration": lambda dialect, path: _run_duration(dialect, path),
    },
    joined={"metrics": lambda dialect, paths: metric_joins(dialect, RunRow.id, paths)},
)

RUN_COLUMNS = ENTITIES["run"].columns


def to_run(row: RunRow) -> Run:
    result: Run = to_model("run", row)
    return result


def _check_run_references(
    session: Session, pipeline: uuid.UUID | None, event: uuid.UUID | None
) -> None:
    if pipeline is not None:
        require_existing(
            session, PipelineRow, [pipeline], pointer="/pipeline", what="pipeline", indexed=False
        )
    if event is not None:
        require_existing(
            session, ArtifactRow, [event], pointer="/event", what="artifact", indexed=False
        )


def create_run(session: Session, data: RunCreate) -> tuple[Run, bool]:
    content = data.model_dump(exclude={"id", "create_time"})
    existing = existing_for_retry(
        session,
        RunRow,
        data.id,
        "run",
        equal=lambda r: to_run(r).model_dump(include=set(content)) == content,
    )
    if existing:
        return to_run(existing), False
    require_existing(
        session,
        ExperimentRow,
        [data.experiment],
        pointer="/experiment",
        what="experiment",
        indexed=False,
    )
    _check_run_references(session, data.pipeline, data.event)
    access.check_run(session, data.experiment, event=(None, data.event))
    end = settle_create("run", {"status": data.status, "end_time": data.end_time}, now=utcnow())
    row = RunRow(**new_row("run", data, end_time=end["end_time"]))
    session.add(row)
    session.flush()
    return to_run(row), True


def read_run(session: Session, run_id: uuid.UUID) -> Run:
    return to_run(get_or_404(session, RunRow, run_id, "run"))


def update_run(
    session: Session,
    run_id: uuid.UUID,
    data: RunUpdate,
    *,
    if_match: int | None = None,
    mirror: bool = False,
) -> Run:
    """Change a run; a finished one stays finished (``domain.status``; ``mirror``: an importer
    that mirrors another system's state may correct it)."""
    row = get_or_404(session, RunRow, run_id, "run")
    check_revision(row, if_match, "run")
    changes = settle_update(
        "run",
        row.id,
        status=row.status,
        end_time=row.end_time,
        changes=data.model_dump(exclude_unset=True),
        now=utcnow(),
        mirror=mirror,
    )
    _check_run_references(session, changes.get("pipeline"), changes.get("event"))
    access.check_run(
        session,
        row.experiment_id,
        event=(row.event_id, changes["event"]) if "event" in changes else None,
    )
    apply_update(row, changes, RUN_COLUMNS)
    session.flush()
    return to_run(row)


def delete_run(session: Session, run_id: uuid.UUID) -> None:
    row = get_or_404(session, RunRow, run_id, "run")
    executions = list(session.scalars(select(ExecutionRow.id).where(ExecutionRow.run_id == run_id)))
    refuse_if_referenced("run", run_id, {"executions": executions})
    session.delete(row)


def list_runs(session: Session, options: ListOptions) -> Page[Run]:
    return list_page(session, RunRow, RUN_FIELDS, to_run, options)
