"""Executables (the code a step runs): create, delete, find (read, update and list: ``crud``)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain.models import Executable, ExecutableCreate
from modeltrail.services.common import existing_for_retry, refuse_if_referenced
from modeltrail.services.entities.crud import Service
from modeltrail.store.rows import new_row
from modeltrail.store.tables import ExecutableRow, ExecutionRow, PipelineExecutableRow

SERVICE: Service[Executable] = Service("executable")


def _executable_content(
    name: str, version: str, uri: str | None, description: str | None, annotations: dict[str, str]
) -> tuple[Any, ...]:
    return (name, version, uri, description, annotations)


def create_executable(session: Session, data: ExecutableCreate) -> tuple[Executable, bool]:
    sent = _executable_content(
        data.name, data.version, data.uri, data.description, data.annotations
    )
    existing = existing_for_retry(
        session,
        ExecutableRow,
        data.id,
        "executable",
        equal=lambda r: (
            _executable_content(r.name, r.version, r.uri, r.description, r.annotations) == sent
        ),
    )
    if existing:
        return SERVICE.to_model(session, existing), False
    row = ExecutableRow(**new_row("executable", data))
    session.add(row)
    session.flush()
    return SERVICE.to_model(session, row), True


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
