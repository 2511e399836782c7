"""Experiments: create and delete (read, update and list: ``crud``)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain.models import Experiment, ExperimentCreate
from modeltrail.services.common import refuse_if_referenced
from modeltrail.services.entities.crud import Service
from modeltrail.store.tables import RunRow

SERVICE: Service[Experiment] = Service("experiment")


def create_experiment(session: Session, data: ExperimentCreate) -> tuple[Experiment, bool]:
    stored = SERVICE.retried(session, data)
    if stored is not None:
        return stored, False
    return SERVICE.to_model(session, SERVICE.insert(session, data)), True


def delete_experiment(session: Session, experiment_id: uuid.UUID) -> None:
    row = SERVICE.get(session, experiment_id)
    runs = list(session.scalars(select(RunRow.id).where(RunRow.experiment_id == experiment_id)))
    refuse_if_referenced("experiment", experiment_id, {"runs": runs})
    session.delete(row)
