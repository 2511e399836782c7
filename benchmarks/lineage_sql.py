"""Lineage questions asked of a modeltrail database with recursive SQL, for the benchmark.

Used where a build of modeltrail has no lineage endpoints of its own: the same recursive
queries the store's ``graph`` module makes, over the edge tables, on either dialect.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, func, literal, select
from sqlalchemy.orm import Session

from modeltrail.store.tables import (
    ArtifactRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    RunRow,
)


def _walk(
    session: Session, start: uuid.UUID, depth: int, upstream: bool
) -> list[tuple[Any, Any, Any, int]]:
    """(from artifact, execution, to artifact, hop) for every step of the walk."""
    first, second = (
        (ExecutionOutputRow, ExecutionInputRow)
        if upstream
        else (ExecutionInputRow, ExecutionOutputRow)
    )
    a, b = first.__table__.alias("a"), second.__table__.alias("b")
    seed = (
        select(
            a.c.artifact_id.label("src"),
            a.c.execution_id.label("execution"),
            b.c.artifact_id.label("dst"),
            literal(1).label("hop"),
        )
        .join(b, b.c.execution_id == a.c.execution_id)
        .where(a.c.artifact_id == start)
    )
    walk = seed.cte("walk", recursive=True)
    a2, b2 = first.__table__.alias("a2"), second.__table__.alias("b2")
    step = (
        select(a2.c.artifact_id, a2.c.execution_id, b2.c.artifact_id, walk.c.hop + 1)
        .join(b2, b2.c.execution_id == a2.c.execution_id)
        .join(walk, and_(a2.c.artifact_id == walk.c.dst, walk.c.hop < depth))
    )
    walk = walk.union(step)
    return [tuple(r) for r in session.execute(select(walk))]  # type: ignore[misc]


def upstream(session: Session, artifact: uuid.UUID, depth: int) -> list[tuple[Any, Any, Any, int]]:
    return _walk(session, artifact, depth, upstream=True)


def downstream(session: Session, artifact: uuid.UUID) -> list[tuple[Any, Any, Any, int]]:
    """Everything downstream, at any depth: (read artifact, execution, written artifact, 0).

    The recursion walks artifact ids only, so that the UNION expands each artifact once however
    many paths lead to it (a walk that carries the hop count re-expands an artifact once per
    distinct distance); the edges between the artifacts found are joined once at the end.
    """
    i, o = ExecutionInputRow.__table__.alias("i"), ExecutionOutputRow.__table__.alias("o")
    seed = select(literal(artifact, ArtifactRow.id.type).label("id"))
    reached = seed.cte("reached", recursive=True)
    step = (
        select(o.c.artifact_id)
        .select_from(reached)
        .join(i, i.c.artifact_id == reached.c.id)
        .join(o, o.c.execution_id == i.c.execution_id)
    )
    reached = reached.union(step)
    i2, o2 = ExecutionInputRow.__table__.alias("i2"), ExecutionOutputRow.__table__.alias("o2")
    edges = (
        select(i2.c.artifact_id, i2.c.execution_id, o2.c.artifact_id, literal(0))
        .join(o2, o2.c.execution_id == i2.c.execution_id)
        .where(i2.c.artifact_id.in_(select(reached.c.id)))
    )
    return [tuple(r) for r in session.execute(edges)]  # type: ignore[misc]


def trace(session: Session, experiment: uuid.UUID) -> dict[str, Any]:
    """Every execution of the experiment's runs with its inputs and outputs, equal artifacts
    (same fingerprint) merged into one node."""
    edges: list[tuple[Any, Any, str]] = []
    for table, kind in ((ExecutionInputRow, "input"), (ExecutionOutputRow, "output")):
        # runs -> executions -> edges -> artifacts: each step by an index, never a scan of
        # all artifacts
        rows = session.execute(
            select(table.execution_id, ArtifactRow.fingerprint)
            .select_from(RunRow)
            .join(ExecutionRow, ExecutionRow.run_id == RunRow.id)
            .join(table, table.execution_id == ExecutionRow.id)
            .join(ArtifactRow, ArtifactRow.id == table.artifact_id)
            .where(RunRow.experiment_id == experiment)
        )
        edges.extend((e, fp, kind) for e, fp in rows)
    return {
        "executions": len({e for e, _, _ in edges}),
        "artifacts": len({fp for _, fp, _ in edges}),
        "edges": len(edges),
    }


def diff(session: Session, a: uuid.UUID, b: uuid.UUID) -> list[dict[str, Any]]:
    """Artifacts in ``a``'s upstream lineage with no equal artifact in ``b``'s, deepest (the
    root cause) first."""

    def lineage(start: uuid.UUID) -> dict[Any, int]:
        hops = {start: 0}
        for _src, _e, dst, hop in upstream(session, start, 10_000):
            hops[dst] = min(hops.get(dst, hop), hop)
        return hops

    ha, hb = lineage(a), lineage(b)
    prints = dict(
        session.execute(
            select(ArtifactRow.id, ArtifactRow.fingerprint).where(ArtifactRow.id.in_([*ha, *hb]))
        ).all()
    )
    theirs = {prints[i] for i in hb}
    out = [{"artifact": i, "hop": h} for i, h in ha.items() if prints[i] not in theirs]
    return sorted(out, key=lambda d: -d["hop"])


def count(session: Session, table: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(table)) or 0)
