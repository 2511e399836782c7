"""Experiments: create and delete (read, update and list: ``crud``)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain.models import Experiment, ExperimentCreate
from modeltrail.services.common import existing_for_retry, refuse_if_referenced
from modeltrail.services.entities.crud import Service
from modeltrail.store.rows import new_row
from modeltrail.store.tables import ExperimentRow, RunRow

SERVICE: Service[Experiment] = Service("experiment")


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
        return SERVICE.to_model(session, existing), False
    row = ExperimentRow(**new_row("experiment", data))
    session.add(row)
    session.flush()
    return SERVICE.to_model(session, row), True


def delete_experiment(session: Session, experiment_id: uuid.UUID) -> None:
    row = SERVICE.get(session, experiment_id)
    runs = list(session.scalars(select(RunRow.id).where(RunRow.experiment_id == experiment_id)))
    refuse_if_referenced("experiment", experiment_id, {"runs": runs})
    session.delete(row)
