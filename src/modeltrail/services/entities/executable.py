"""Executables (the code a step runs): create, delete, find (read, update and list: ``crud``)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain.models import Executable, ExecutableCreate
from modeltrail.services.common import refuse_if_referenced
from modeltrail.services.entities.crud import Service
from modeltrail.store.tables import ExecutableRow, ExecutionRow, PipelineExecutableRow

SERVICE: Service[Executable] = Service("executable")


def create_executable(session: Session, data: ExecutableCreate) -> tuple[Executable, bool]:
    stored = SERVICE.retried(session, data)
    if stored is not None:
        return stored, False
    return SERVICE.to_model(session, SERVICE.insert(session, data)), True


def find_executable(session: Session, data: ExecutableCreate) -> Executable | None:
    """The executable with this name, version and uri, if one is stored.

    Executables are shared by every execution of the same step, so steps that name the same
    code are recognised as the same step (FR6).
    """
    row = session.scalars(
        select(ExecutableRow)
        .where(
            ExecutableRow.name == data.name,
            ExecutableRow.version == data.version,
            ExecutableRow.uri.is_(None) if data.uri is None else ExecutableRow.uri == data.uri,
        )
        .order_by(ExecutableRow.create_time)
        .limit(1)
    ).first()
    return None if row is None else SERVICE.to_model(session, row)


def delete_executable(session: Session, executable_id: uuid.UUID) -> None:
    row = SERVICE.get(session, executable_id)
    refuse_if_referenced(
        "executable",
        executable_id,
        {
            "executions": list(
                session.scalars(
                    select(ExecutionRow.id).where(ExecutionRow.executable_id == executable_id)
                )
            ),
            "pipelines": list(
                session.scalars(
                    select(PipelineExecutableRow.pipeline_id).where(
                        PipelineExecutableRow.executable_id == executable_id
                    )
                )
            ),
        },
    )
    session.delete(row)
