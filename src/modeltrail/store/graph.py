"""Reachability over the structural relations, answered by recursive queries in the database.

Each statement is built once per dialect and takes its start as one parameter
(``dialect.among``): building a recursive query costs more than running it on the short
walks of a cycle check, which every write of an execution's edges makes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from modeltrail.store import dialect as dialects
from modeltrail.store.tables import ExecutionInputRow, ExecutionOutputRow, ExecutionSuccessorRow


@lru_cache(maxsize=4)
def _successors_reachable(dialect: str) -> Select[Any]:
    seed = select(ExecutionSuccessorRow.successor_id.label("id")).where(
        dialects.among(dialect, ExecutionSuccessorRow.execution_id, "ids", uuids=True)
    )
    walk = seed.cte("walk", recursive=True)
    step = select(ExecutionSuccessorRow.successor_id).join(
        walk, ExecutionSuccessorRow.execution_id == walk.c.id
    )
    walk = walk.union(step)
    return select(walk.c.id)


@lru_cache(maxsize=4)
def _executions_downstream(dialect: str) -> Select[Any]:
    first = (
        select(ExecutionInputRow.execution_id.label("id"))
        .join(ExecutionOutputRow, ExecutionOutputRow.artifact_id == ExecutionInputRow.artifact_id)
        .where(dialects.among(dialect, ExecutionOutputRow.execution_id, "ids", uuids=True))
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
    return select(walk.c.id)


def _reached(session: Session, statement: Any, start: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    ids = [s.hex for s in start]
    if not ids:
        return set()
    dialect = session.get_bind().dialect.name
    return set(session.scalars(statement(dialect), {"ids": dialects.values(dialect, ids)}))


def successors_reachable(session: Session, start: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Every execution reachable from ``start`` along successor edges (``start`` excluded
    unless a cycle leads back to it)."""
    return _reached(session, _successors_reachable, start)


def executions_downstream(session: Session, start: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Every execution that read, directly or through other executions, an output of
    ``start``."""
    return _reached(session, _executions_downstream, start)
