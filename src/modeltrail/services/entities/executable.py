"""Executables (the code a step runs): create, read, update, delete, list, find."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain.filters import ListOptions
from modeltrail.domain.models import Executable, ExecutableCreate, ExecutableUpdate, Page
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
from modeltrail.store.tables import ExecutableRow, ExecutionRow, PipelineExecutableRow

EXECUTABLE_FIELDS = Fields(
    columns={
        "id": ExecutableRow.id,
        "name": ExecutableRow.name,
        "version": ExecutableRow.version,
        "createTime": ExecutableRow.create_time,
        "uri": ExecutableRow.uri,
        "description": ExecutableRow.description,
        "revision": ExecutableRow.revision,
    },
    documents={"annotations": ExecutableRow.annotations},
)


def to_executable(row: ExecutableRow) -> Executable:
    result: Executable = to_model("executable", row)
    return result


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
        return to_executable(existing), False
    row = ExecutableRow(**new_row("executable", data))
    session.add(row)
    session.flush()
    return to_executable(row), True


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
    return None if row is None else to_executable(row)


def read_executable(session: Session, executable_id: uuid.UUID) -> Executable:
    return to_executable(get_or_404(session, ExecutableRow, executable_id, "executable"))


def update_executable(
    session: Session,
    executable_id: uuid.UUID,
    data: ExecutableUpdate,
    *,
    if_match: int | None = None,
) -> Executable:
    row = get_or_404(session, ExecutableRow, executable_id, "executable")
    check_revision(row, if_match, "executable")
    apply_update(row, data.model_dump(exclude_unset=True), {})
    session.flush()
    return to_executable(row)


def delete_executable(session: Session, executable_id: uuid.UUID) -> None:
    row = get_or_404(session, ExecutableRow, executable_id, "executable")
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


def list_executables(session: Session, options: ListOptions) -> Page[Executable]:
    return list_page(session, ExecutableRow, EXECUTABLE_FIELDS, to_executable, options)
