"""Pipelines (the executables a run is planned to run): create, delete, and their executables
in order (read, update and list: ``crud``)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from modeltrail.domain.models import Pipeline, PipelineCreate
from modeltrail.services.common import (
    apply_update,
    refuse_if_referenced,
    require_existing,
)
from modeltrail.services.entities.crud import Service
from modeltrail.store.rows import to_model
from modeltrail.store.tables import ExecutableRow, PipelineExecutableRow, PipelineRow, RunRow


def _executables_of(
    session: Session, pipeline_ids: list[uuid.UUID]
) -> defaultdict[uuid.UUID, list[uuid.UUID]]:
    """The executables of each pipeline, in their order, in one statement."""
    found: defaultdict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if pipeline_ids:
        for pipeline, executable in session.execute(
            select(PipelineExecutableRow.pipeline_id, PipelineExecutableRow.executable_id)
            .where(PipelineExecutableRow.pipeline_id.in_(pipeline_ids))
            .order_by(PipelineExecutableRow.pipeline_id, PipelineExecutableRow.position)
        ):
            found[pipeline].append(executable)
    return found


def _to_pipelines(session: Session, rows: Sequence[PipelineRow]) -> list[Pipeline]:
    executables = _executables_of(session, [r.id for r in rows])
    return [to_model("pipeline", r, executables=executables[r.id]) for r in rows]


def _set_pipeline_executables(
    session: Session, pipeline_id: uuid.UUID, executables: list[uuid.UUID]
) -> None:
    require_existing(session, ExecutableRow, executables, pointer="/executables", what="executable")
    session.execute(
        delete(PipelineExecutableRow).where(PipelineExecutableRow.pipeline_id == pipeline_id)
    )
    session.add_all(
        PipelineExecutableRow(pipeline_id=pipeline_id, position=i, executable_id=e)
        for i, e in enumerate(executables)
    )


def _change(session: Session, row: PipelineRow, changes: dict[str, Any], data: Any) -> None:
    """Its executables are rows of their own: a new list of them is a new revision too."""
    executables = changes.pop("executables", None)
    changed = apply_update(row, changes, {})
    if executables is not None and executables != _executables_of(session, [row.id])[row.id]:
        _set_pipeline_executables(session, row.id, executables)
        if not changed:
            row.revision += 1


SERVICE: Service[Pipeline] = Service("pipeline", to_models=_to_pipelines, change=_change)


def create_pipeline(session: Session, data: PipelineCreate) -> tuple[Pipeline, bool]:
    stored = SERVICE.retried(session, data)
    if stored is not None:
        return stored, False
    row = SERVICE.insert(session, data)
    _set_pipeline_executables(session, row.id, data.executables)
    session.flush()
    return SERVICE.to_model(session, row), True


def delete_pipeline(session: Session, pipeline_id: uuid.UUID) -> None:
    row = SERVICE.get(session, pipeline_id)
    runs = list(session.scalars(select(RunRow.id).where(RunRow.pipeline_id == pipeline_id)))
    refuse_if_referenced("pipeline", pipeline_id, {"runs": runs})
    session.delete(row)
