"""Reuse (FR6): earlier successful executions that did the same work."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    func,
    select,
)
from sqlalchemy.orm import Session

from modeltrail.store import dialect as dialects
from modeltrail.store.lineage.rows import (
    _dialect,
    _rows,
)
from modeltrail.store.records import (
    Id,
)
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutionOutputRow,
    ExecutionRow,
)


def latest_success_with_fingerprint(
    session: Session, fingerprint: str, *, exclude: uuid.UUID | None = None
) -> ExecutionRow | None:
    query = select(ExecutionRow).where(
        ExecutionRow.fingerprint == fingerprint, ExecutionRow.status == "SUCCESS"
    )
    if exclude is not None:
        query = query.where(ExecutionRow.id != exclude)
    return session.scalars(
        query.order_by(
            func.coalesce(ExecutionRow.end_time, ExecutionRow.create_time).desc(), ExecutionRow.id
        ).limit(1)
    ).first()


def reuse_groups(session: Session) -> list[tuple[Id, str, str | None, int]]:
    """(executable, execution fingerprint, output signature, count) over successful
    executions: executions in one group did the same work and wrote equal outputs."""
    dialect = _dialect(session)
    ordered = (
        select(ExecutionOutputRow.execution_id, ArtifactRow.fingerprint)
        .join(ArtifactRow, ArtifactRow.id == ExecutionOutputRow.artifact_id)
        .order_by(ExecutionOutputRow.execution_id, ArtifactRow.fingerprint)
        .subquery()
    )
    signature = (
        select(
            ordered.c.execution_id,
            dialects.sorted_string_agg(dialect, ordered.c.fingerprint).label("sig"),
        )
        .group_by(ordered.c.execution_id)
        .subquery()
    )
    query = (
        select(
            dialects.id_hex(dialect, ExecutionRow.executable_id),
            ExecutionRow.fingerprint,
            signature.c.sig,
            func.count(),
        )
        .outerjoin(signature, signature.c.execution_id == ExecutionRow.id)
        .where(ExecutionRow.status == "SUCCESS")
        .group_by(ExecutionRow.executable_id, ExecutionRow.fingerprint, signature.c.sig)
    )
    return [(r[0], r[1], r[2], r[3]) for r in _rows(session, query)]


def _count_by_executable(session: Session, *where: Any) -> dict[Id, int]:
    executable = dialects.id_hex(_dialect(session), ExecutionRow.executable_id)
    query = select(executable, func.count()).where(*where).group_by(ExecutionRow.executable_id)
    return dict(_rows(session, query))


def reused_counts_by_executable(session: Session) -> dict[Id, int]:
    return _count_by_executable(session, ExecutionRow.reused_from_id.is_not(None))


def execution_counts_by_executable(session: Session) -> dict[Id, int]:
    return _count_by_executable(session)
