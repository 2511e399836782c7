"""Experiments: create, read, update, delete, list."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain.filters import ListOptions
from modeltrail.domain.models import Experiment, ExperimentCreate, ExperimentUpdate, Page
from modeltrail.services.common import (
    apply_update,
    check_revision,
    existing_for_retry,
    get_or_404,
    list_page,
    refuse_if_referenced,
)
from modeltrail.store.listing import Fields
from modeltrail.store.rows import new_row, to_model
from modeltrail.store.tables import ExperimentRow, RunRow

EXPERIMENT_FIELDS = Fields(
    columns={
        "id": ExperimentRow.id,
        "name": ExperimentRow.name,
        "version": ExperimentRow.version,
        "createTime": ExperimentRow.create_time,
        "revision": ExperimentRow.revision,
    },
    documents={"annotations": ExperimentRow.annotations},
)


def to_experiment(row: ExperimentRow) -> Experiment:
    result: Experiment = to_model("experiment", row)
    return result


def create_experiment(session: Session, data: ExperimentCreate) -> tuple[Experiment, bool]:
    existing = existing_for_retry(
        session,
        ExperimentRow,
        data.id,
        "experiment",
        equal=lambda r: (
            (r.name, r.version, r.annotations) == (data.name, data.version, data.annotations)
        ),
    )
    if existing:
        return to_experiment(existing), False
    row = ExperimentRow(**new_row("experiment", data))
    session.add(row)
    session.flush()
    return to_experiment(row), True


def read_experiment(session: Session, experiment_id: uuid.UUID) -> Experiment:
    return to_experiment(get_or_404(session, ExperimentRow, experiment_id, "experiment"))


def update_experiment(
    session: Session,
    experiment_id: uuid.UUID,
    data: ExperimentUpdate,
    *,
    if_match: int | None = None,
) -> Experiment:
    row = get_or_404(session, ExperimentRow, experiment_id, "experiment")
    check_revision(row, if_match, "experiment")
    apply_update(row, data.model_dump(exclude_unset=True), {})
    session.flush()
    return to_experiment(row)


def delete_experiment(session: Session, experiment_id: uuid.UUID) -> None:
    row = get_or_404(session, ExperimentRow, experiment_id, "experiment")
    runs = list(session.scalars(select(RunRow.id).where(RunRow.experiment_id == experiment_id)))
    refuse_if_referenced("experiment", experiment_id, {"runs": runs})
    session.delete(row)


def list_experiments(session: Session, options: ListOptions) -> Page[Experiment]:
    return list_page(session, ExperimentRow, EXPERIMENT_FIELDS, to_experiment, options)


def find_experiment_by_name(session: Session, name: str) -> list[ExperimentRow]:
    return list(session.scalars(select(ExperimentRow).where(ExperimentRow.name == name)))
