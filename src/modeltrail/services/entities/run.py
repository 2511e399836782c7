"""Runs (one execution of a pipeline, in an experiment): create, delete, how a change is
settled, what lists of them filter on (read, update and list: ``crud``)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain.entities import ENTITIES
from modeltrail.domain.models import Run, RunCreate
from modeltrail.domain.status import settle_create, settle_update
from modeltrail.services import access
from modeltrail.services.common import (
    apply_update,
    refuse_if_referenced,
    require_existing,
)
from modeltrail.services.entities.crud import Service
from modeltrail.store.dialect import seconds_between
from modeltrail.store.fields import entity_fields
from modeltrail.store.metric_columns import metric_column, metric_joins
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


# Beyond its columns: its experiment, pipeline and event by name, its metrics and duration.
RUN_FIELDS = replace(
    entity_fields(RunRow),
    named={"experiment": ExperimentRow, "pipeline": PipelineRow, "event": ArtifactRow},
    derived={
        "metrics": lambda dialect, path: metric_column(dialect, RunRow.id, path),
        "duration": lambda dialect, path: _run_duration(dialect, path),
    },
    joined={"metrics": lambda dialect, paths: metric_joins(dialect, RunRow.id, paths)},
)

RUN_COLUMNS = ENTITIES["run"].columns


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


def _change(
    session: Session, row: RunRow, changes: dict[str, Any], data: Any, *, mirror: bool = False
) -> None:
    """A finished run stays finished (``domain.status``; ``mirror``: an importer that mirrors
    another system's state may correct it); a new pipeline or event must exist, and the
    request's scope must allow the change."""
    changes = settle_update(
        "run",
        row.id,
        status=row.status,
        end_time=row.end_time,
        changes=changes,
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


SERVICE: Service[Run] = Service(
    "run", fields=RUN_FIELDS, change=_change, settled=frozenset({"end_time"})
)


def create_run(session: Session, data: RunCreate) -> tuple[Run, bool]:
    stored = SERVICE.retried(session, data)
    if stored is not None:
        return stored, False
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
    row = SERVICE.insert(session, data, end_time=end["end_time"])
    return SERVICE.to_model(session, row), True


def delete_run(session: Session, run_id: uuid.UUID) -> None:
    row = SERVICE.get(session, run_id)
    executions = list(session.scalars(select(ExecutionRow.id).where(ExecutionRow.run_id == run_id)))
    refuse_if_referenced("run", run_id, {"executions": executions})
    session.delete(row)
