"""Reachability over the structural relations, answered by recursive queries in the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.store.tables import ExecutionInputRow, ExecutionOutputRow, ExecutionSuccessorRow


def successors_reachable(session: Session, start: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Every execution reachable from ``start`` along successor edges (``start`` excluded
    unless a cycle leads back to it)."""
    start = list(start)
    if not start:
        return set()
    seed = select(ExecutionSuccessorRow.successor_id.label("id")).where(
        ExecutionSuccessorRow.execution_id.in_(start)
    )
    walk = seed.cte("walk", recursive=True)
    step = select(ExecutionSuccessorRow.successor_id).join(
        walk, ExecutionSuccessorRow.execution_id == walk.c.id
    )
    walk = walk.union(step)
    return set(session.scalars(select(walk.c.id)))


def executions_downstream(session: Session, start: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Every execution that read, directly or through other executions, an output of
    ``start``."""
    start = list(start)
    if not start:
        return set()
    first = (
        select(ExecutionInputRow.execution_id.label("id"))
        .join(ExecutionOutputRow, ExecutionOutputRow.artifact_id == ExecutionInputRow.artifact_id)
        .where(ExecutionOutputRow.execution_id.in_(start))
    )
    walk = first.cte("flow", recursive=True)
    out = ExecutionOutputRow.__table__.alias("o")
    inp = ExecutionInputRow.__table__.alias("i")
    step = (
        select(inp.c.execution_id)
        .join(out, out.c.artifact_id == inp.c.artifact_id)
        .join(walk, out.c.execution_id == walk.c.id)
    )
    walk = walk.union(step)
    return set(session.scalars(select(walk.c.id)))
