"""Pipelines (the executables a run is planned to run): create, read, update, delete, list."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from modeltrail.domain.filters import ListOptions
from modeltrail.domain.models import Page, Pipeline, PipelineCreate, PipelineUpdate
from modeltrail.services.common import (
    apply_update,
    check_revision,
    existing_for_retry,
    get_or_404,
    list_page,
    refuse_if_referenced,
    require_existing,
)
from modeltrail.store.listing import Fields
from modeltrail.store.rows import new_row, to_model
from modeltrail.store.tables import ExecutableRow, PipelineExecutableRow, PipelineRow, RunRow

PIPELINE_FIELDS = Fields(
    columns={
        "id": PipelineRow.id,
        "name": PipelineRow.name,
        "version": PipelineRow.version,
        "createTime": PipelineRow.create_time,
        "uri": PipelineRow.uri,
        "revision": PipelineRow.revision,
    },
    documents={"annotations": PipelineRow.annotations},
)


def _pipeline_executables(session: Session, pipeline_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        session.scalars(
            select(PipelineExecutableRow.executable_id)
            .where(PipelineExecutableRow.pipeline_id == pipeline_id)
            .order_by(PipelineExecutableRow.position)
        )
    )


def to_pipeline(session: Session, row: PipelineRow) -> Pipeline:
    result: Pipeline = to_model("pipeline", row, executables=_pipeline_executables(session, row.id))
    return result


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


def create_pipeline(session: Session, data: PipelineCreate) -> tuple[Pipeline, bool]:
    existing = existing_for_retry(
        session,
        PipelineRow,
        data.id,
        "pipeline",
        equal=lambda r: (
            (r.name, r.version, r.uri, r.annotations, _pipeline_executables(session, r.id))
            == (data.name, data.version, data.uri, data.annotations, data.executables)
        ),
    )
    if existing:
        return to_pipeline(session, existing), False
    row = PipelineRow(**new_row("pipeline", data))
    session.add(row)
    session.flush()
    _set_pipeline_executables(session, row.id, data.executables)
    session.flush()
    return to_pipeline(session, row), True


def read_pipeline(session: Session, pipeline_id: uuid.UUID) -> Pipeline:
    return to_pipeline(session, get_or_404(session, PipelineRow, pipeline_id, "pipeline"))


def update_pipeline(
    session: Session, pipeline_id: uuid.UUID, data: PipelineUpdate, *, if_match: int | None = None
) -> Pipeline:
    row = get_or_404(session, PipelineRow, pipeline_id, "pipeline")
    check_revision(row, if_match, "pipeline")
    changes = data.model_dump(exclude_unset=True)
    executables = changes.pop("executables", None)
    changed = apply_update(row, changes, {})
    if executables is not None and executables != _pipeline_executables(session, pipeline_id):
        _set_pipeline_executables(session, pipeline_id, executables)
        if not changed:
            row.revision += 1
    session.flush()
    return to_pipeline(session, row)


def delete_pipeline(session: Session, pipeline_id: uuid.UUID) -> None:
    row = get_or_404(session, PipelineRow, pipeline_id, "pipeline")
    runs = list(session.scalars(select(RunRow.id).where(RunRow.pipeline_id == pipeline_id)))
    refuse_if_referenced("pipeline", pipeline_id, {"runs": runs})
    session.delete(row)


def list_pipelines(session: Session, options: ListOptions) -> Page[Pipeline]:
    return list_page(
        session, PipelineRow, PIPELINE_FIELDS, lambda r: to_pipeline(session, r), options
    )
