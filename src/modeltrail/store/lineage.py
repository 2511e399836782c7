"""Lineage walks: which artifacts an artifact came from or led to, answered in the database.

A walk moves from artifact to artifact: one step is an execution (an output back to the
execution's inputs upstream, an input on to the execution's outputs downstream) or a
reference between artifacts (a metric and the model it measures). With ``merge`` the walk is
over fingerprints, so equal artifacts logged by different runs are one node and the walk
follows every copy. Every walk is a recursive CTE that runs on SQLite and PostgreSQL; how the
recursive step is written differs (see ``dialect.multiple_recursive_terms``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from modeltrail.store import dialect as dialects
from modeltrail.store.tables import (
    ArtifactReferenceRow,
    ArtifactRow,
    ExecutableRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    ExecutionSuccessorRow,
    FlagRow,
    RunRow,
)

Direction = Literal["upstream", "downstream"]
Key = Any  # an artifact id, or a fingerprint when equal artifacts are merged

# Bound parameters per IN list: below SQLite's and psycopg's limits with room to spare.
_CHUNK = 5000


def chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass
class Walk:
    """The artifacts a walk reached: node key -> fewest steps from the start."""

    depths: dict[Key, int]
    truncated: bool


def _key_literal(key: Key, merge: bool) -> ColumnElement[Any]:
    return literal(key, String) if merge else literal(key, ArtifactRow.id.type)


def _edges(direction: Direction) -> list[tuple[Any, Any, Any]]:
    """(from-column, to-column, select-from) for each kind of step, in walking direction."""
    inp = aliased(ExecutionInputRow)
    out = aliased(ExecutionOutputRow)
    ref = aliased(ArtifactReferenceRow)
    if direction == "downstream":
        return [
            (inp.artifact_id, out.artifact_id, (inp, out, out.execution_id == inp.execution_id)),
            (ref.target_id, ref.artifact_id, (ref, None, None)),
        ]
    return [
        (out.artifact_id, inp.artifact_id, (out, inp, inp.execution_id == out.execution_id)),
        (ref.artifact_id, ref.target_id, (ref, None, None)),
    ]


def _walk_cte(
    dialect: str,
    seed: Select[Any],
    *,
    direction: Direction,
    merge: bool,
    limit: Any,
    carry: Sequence[str] = (),
) -> Any:
    """``walk(k, [d], *carry)``: every node key reached from ``seed``; ``d`` the step count
    (kept only when a depth ``limit`` applies; without one, rows are unique per key)."""
    walk = seed.cte("walk", recursive=True)
    target = aliased(ArtifactRow)
    source = aliased(ArtifactRow)

    def step(src_col: Any, dst_col: Any, tables: tuple[Any, Any, Any], frm: Any) -> Select[Any]:
        first, second, on = tables
        query = frm
        if merge:
            query = query.join(source, source.fingerprint == walk.c.k).join(
                first, src_col == source.id
            )
        else:
            query = query.join(first, src_col == walk.c.k)
        if second is not None:
            query = query.join(second, on)
        if merge:
            # A step that writes an artifact equal to what it read (a copy) leads nowhere new.
            query = query.join(target, and_(target.id == dst_col, target.fingerprint != walk.c.k))
        return query

    def columns(dst: Any) -> list[Any]:
        key = target.fingerprint if merge else dst
        cols = [key.label("k")]
        if limit is not None:
            cols.append((walk.c.d + 1).label("d"))
        cols += [walk.c[c] for c in carry]
        return cols

    bound = [walk.c.d < limit] if limit is not None else []
    if dialects.multiple_recursive_terms(dialect):
        terms = []
        for src_col, dst_col, tables in _edges(direction):
            query = select(*columns(dst_col)).select_from(walk)
            terms.append(step(src_col, dst_col, tables, query).where(*bound))
        return walk.union(*terms)
    # One recursive term (PostgreSQL): the edge kinds as a LATERAL union, so that every
    # arm is an index lookup for the row at hand rather than a join of whole edge tables.
    arms = []
    for src_col, dst_col, (first, second, on) in _edges(direction):
        arm = select(dst_col.label("dst")).select_from(first)
        if second is not None:
            arm = arm.join(second, on)
        arms.append(arm.where(src_col == source.id))
    edge = union_all(*arms).subquery("edge").lateral("edge")
    query = select(*columns(edge.c.dst)).select_from(walk)
    here = source.fingerprint if merge else source.id
    query = query.join(source, here == walk.c.k).join(edge, true())
    if merge:
        query = query.join(target, and_(target.id == edge.c.dst, target.fingerprint != walk.c.k))
    return walk.union(query.where(*bound))


@lru_cache(maxsize=32)
def _single_seed_walk(dialect: str, direction: Direction, merge: bool) -> Select[Any]:
    """The walk from one node, built once: building the expression costs more than running
    it on a short chain. Parameters: ``seed``, ``start`` (its depth) and ``limit``."""
    key_type = String if merge else ArtifactRow.id.type
    seed = select(
        bindparam("seed", type_=key_type).label("k"), bindparam("start", type_=Integer).label("d")
    )
    walk = _walk_cte(
        dialect, seed, direction=direction, merge=merge, limit=bindparam("limit", type_=Integer)
    )
    return select(walk.c.k, func.min(walk.c.d)).group_by(walk.c.k)


def walk_artifacts(
    session: Session,
    *,
    seeds: Iterable[tuple[Key, int]],
    direction: Direction,
    depth: int,
    merge: bool,
) -> Walk:
    """Every node within ``depth`` steps of ``seeds`` (key, starting depth), and whether
    anything lay beyond the limit."""
    dialect = session.get_bind().dialect.name
    seeds = list(seeds)
    if not seeds:
        return Walk({}, False)
    # One step beyond the limit tells whether the limit cut anything off.
    if len(seeds) == 1:
        query = _single_seed_walk(dialect, direction, merge)
        params = {"seed": seeds[0][0], "start": seeds[0][1], "limit": depth + 1}
        rows = session.connection().execute(query, params).all()
    else:
        seed_rows = [
            select(_key_literal(k, merge).label("k"), literal(d, Integer).label("d"))
            for k, d in seeds
        ]
        seed = select(union_all(*seed_rows).subquery())
        walk = _walk_cte(dialect, seed, direction=direction, merge=merge, limit=depth + 1)
        rows = (
            session.connection()
            .execute(select(walk.c.k, func.min(walk.c.d)).group_by(walk.c.k))
            .all()
        )
    depths = {k: d for k, d in rows if d <= depth}
    return Walk(depths, truncated=len(depths) < len(rows))


def flagged_reach(session: Session) -> dict[str, set[uuid.UUID]]:
    """Fingerprint of every flagged or affected artifact -> the flagged artifacts behind it.

    Flags are few; the walk follows equality, so a flagged dataset taints every equal copy
    and everything derived from any of them.
    """
    if session.connection().scalar(select(FlagRow.artifact_id).limit(1)) is None:
        return {}
    dialect = session.get_bind().dialect.name
    seed = select(ArtifactRow.fingerprint.label("k"), FlagRow.artifact_id.label("origin")).join(
        FlagRow, FlagRow.artifact_id == ArtifactRow.id
    )
    walk = _walk_cte(
        dialect, seed, direction="downstream", merge=True, limit=None, carry=("origin",)
    )
    out: dict[str, set[uuid.UUID]] = {}
    for key, origin in session.connection().execute(select(walk.c.k, walk.c.origin)):
        out.setdefault(key, set()).add(origin)
    return out


# ---------------------------------------------------------------- reading what a walk found


_LIGHT = ("attributes", "annotations", "description")


def artifacts_by_keys(
    session: Session, keys: Sequence[Key], *, merge: bool, light: bool = False
) -> list[Any]:
    """Artifact rows (read-only, attribute access like the ORM rows) by id or fingerprint.
    ``light`` leaves out the JSON documents, which cost most to read."""
    column = ArtifactRow.fingerprint if merge else ArtifactRow.id
    table = ArtifactRow.__table__
    columns = [literal(None).label(c.name) if light and c.name in _LIGHT else c for c in table.c]  # type: ignore[attr-defined]
    rows: list[Any] = []
    for part in chunks(list(keys)):
        rows += session.connection().execute(select(*columns).where(column.in_(part))).all()
    return rows


def execution_edges(
    session: Session,
    *,
    artifact_ids: Sequence[uuid.UUID],
    role: Literal["producers", "consumers"],
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(execution, artifact) pairs of the executions that wrote (producers) or read
    (consumers) the given artifacts."""
    table = ExecutionOutputRow if role == "producers" else ExecutionInputRow
    pairs: list[tuple[uuid.UUID, uuid.UUID]] = []
    for part in chunks(list(artifact_ids)):
        pairs += (
            session.connection()
            .execute(
                select(table.execution_id, table.artifact_id).where(table.artifact_id.in_(part))
            )
            .all()
        )
    return pairs


def io_of_executions(
    session: Session,
    execution_ids: Sequence[uuid.UUID],
) -> tuple[list[tuple[uuid.UUID, uuid.UUID, int]], list[tuple[uuid.UUID, uuid.UUID, int]]]:
    """(execution, artifact, position) of the inputs and of the outputs of executions."""
    inputs: list[tuple[uuid.UUID, uuid.UUID, int]] = []
    outputs: list[tuple[uuid.UUID, uuid.UUID, int]] = []
    for part in chunks(list(execution_ids)):
        for table, into in ((ExecutionInputRow, inputs), (ExecutionOutputRow, outputs)):
            into += (
                session.connection()
                .execute(
                    select(table.execution_id, table.artifact_id, table.position).where(
                        table.execution_id.in_(part)
                    )
                )
                .all()
            )
    return inputs, outputs


def successors_among(
    session: Session, execution_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    wanted = set(execution_ids)
    pairs: list[tuple[uuid.UUID, uuid.UUID]] = []
    for part in chunks(list(execution_ids)):
        pairs += [
            (a, b)
            for a, b in session.connection().execute(
                select(
                    ExecutionSuccessorRow.execution_id, ExecutionSuccessorRow.successor_id
                ).where(ExecutionSuccessorRow.execution_id.in_(part))
            )
            if b in wanted
        ]
    return pairs


def references_among(
    session: Session, artifact_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(target, referencing artifact) pairs where both ends are among ``artifact_ids``."""
    wanted = set(artifact_ids)
    pairs: list[tuple[uuid.UUID, uuid.UUID]] = []
    for part in chunks(list(artifact_ids)):
        pairs += [
            (t, a)
            for t, a in session.connection().execute(
                select(ArtifactReferenceRow.target_id, ArtifactReferenceRow.artifact_id).where(
                    ArtifactReferenceRow.artifact_id.in_(part)
                )
            )
            if t in wanted
        ]
    return pairs


def _with_executables(session: Session, rows: list[Any]) -> list[tuple[Any, ExecutableRow]]:
    ids = list({r.executable_id for r in rows})
    executables = {e.id: e for e in executables_by_ids(session, ids)}
    return [(r, executables[r.executable_id]) for r in rows]


_LIGHT_EXECUTION = ("configuration", "annotations")


def _execution_columns(light: bool) -> list[Any]:
    table: Any = ExecutionRow.__table__
    return [
        literal(None).label(c.name) if light and c.name in _LIGHT_EXECUTION else c for c in table.c
    ]


def executions_with_executables(
    session: Session,
    execution_ids: Sequence[uuid.UUID],
    *,
    light: bool = False,
) -> list[tuple[Any, ExecutableRow]]:
    """Execution rows (read-only) with their executables; ``light`` leaves out the JSON
    documents."""
    columns = _execution_columns(light)
    rows: list[Any] = []
    for part in chunks(list(execution_ids)):
        rows += (
            session.connection().execute(select(*columns).where(ExecutionRow.id.in_(part))).all()
        )
    return _with_executables(session, rows)


def runs_by_ids(session: Session, run_ids: Sequence[uuid.UUID]) -> list[Any]:
    rows: list[Any] = []
    for part in chunks(list(run_ids)):
        rows += (
            session.connection().execute(select(RunRow.__table__).where(RunRow.id.in_(part))).all()
        )
    return rows


def artifacts_by_ids(
    session: Session, ids: Sequence[uuid.UUID], *, light: bool = False
) -> list[Any]:
    return artifacts_by_keys(session, ids, merge=False, light=light)


def runs_of_artifacts(
    session: Session, artifact_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(artifact, run) once for every run that wrote or read one of the artifacts."""
    pairs: list[tuple[uuid.UUID, uuid.UUID]] = []
    for part in chunks(list(artifact_ids)):
        arms = [
            select(table.artifact_id.label("a"), ExecutionRow.run_id.label("r"))
            .join(ExecutionRow, ExecutionRow.id == table.execution_id)
            .where(table.artifact_id.in_(part))
            for table in (ExecutionOutputRow, ExecutionInputRow)
        ]
        pairs += session.connection().execute(union(*arms)).all()
    return pairs


# ---------------------------------------------------------------- reuse (FR6)


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


def reuse_groups(session: Session) -> list[tuple[uuid.UUID, str, str | None, int]]:
    """(executable, execution fingerprint, output signature, count) over successful
    executions: executions in one group did the same work and wrote equal outputs."""
    dialect = session.get_bind().dialect.name
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
        select(ExecutionRow.executable_id, ExecutionRow.fingerprint, signature.c.sig, func.count())
        .outerjoin(signature, signature.c.execution_id == ExecutionRow.id)
        .where(ExecutionRow.status == "SUCCESS")
        .group_by(ExecutionRow.executable_id, ExecutionRow.fingerprint, signature.c.sig)
    )
    return [tuple(r) for r in session.connection().execute(query)]  # type: ignore[misc]


def reused_counts_by_executable(session: Session) -> dict[uuid.UUID, int]:
    return dict(
        session.connection()
        .execute(
            select(ExecutionRow.executable_id, func.count())
            .where(ExecutionRow.reused_from_id.is_not(None))
            .group_by(ExecutionRow.executable_id)
        )
        .all()
    )


def executables_by_ids(session: Session, ids: Sequence[uuid.UUID]) -> list[ExecutableRow]:
    rows: list[ExecutableRow] = []
    for part in chunks(list(ids)):
        rows += (
            session.connection()
            .execute(select(ExecutableRow.__table__).where(ExecutableRow.id.in_(part)))
            .all()
        )
    return rows


def execution_counts_by_executable(session: Session) -> dict[uuid.UUID, int]:
    return dict(
        session.connection()
        .execute(
            select(ExecutionRow.executable_id, func.count()).group_by(ExecutionRow.executable_id)
        )
        .all()
    )


# ---------------------------------------------------------------- experiments and runs


def executions_of_runs(
    session: Session, run_ids: Sequence[uuid.UUID], *, light: bool = False
) -> list[tuple[Any, ExecutableRow]]:
    """The executions of runs in start order, with their executables (``light``: without
    the JSON documents)."""
    columns = _execution_columns(light)
    rows: list[Any] = []
    for part in chunks(list(run_ids)):
        rows += (
            session.connection()
            .execute(select(*columns).where(ExecutionRow.run_id.in_(part)))
            .all()
        )
    rows.sort(key=lambda r: (r.start_time or r.create_time, str(r.id)))
    return _with_executables(session, rows)


def runs_of_experiment(
    session: Session, experiment_id: uuid.UUID, *, limit: int | None = None
) -> list[Any]:
    """The newest ``limit`` runs (all without a limit), oldest first."""
    query = (
        select(RunRow.__table__)
        .where(RunRow.experiment_id == experiment_id)
        .order_by(RunRow.create_time.desc(), RunRow.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return list(reversed(session.connection().execute(query).all()))


def runs_of_pipeline(session: Session, pipeline_id: uuid.UUID) -> list[Any]:
    return list(
        session.connection()
        .execute(
            select(RunRow.__table__)
            .where(RunRow.pipeline_id == pipeline_id)
            .order_by(RunRow.create_time, RunRow.id)
        )
        .all()
    )


def flags_for(session: Session) -> list[Any]:
    return list(
        session.connection().execute(select(FlagRow.__table__).order_by(FlagRow.create_time)).all()
    )


def previous_artifact(session: Session, artifact: ArtifactRow) -> ArtifactRow | None:
    """The latest artifact of the same name and kind created before this one (with other
    content: an equal copy explains nothing)."""
    return session.scalars(
        select(ArtifactRow)
        .where(
            ArtifactRow.name == artifact.name,
            ArtifactRow.kind == artifact.kind,
            ArtifactRow.id != artifact.id,
            ArtifactRow.fingerprint != artifact.fingerprint,
            or_(
                ArtifactRow.create_time < artifact.create_time,
                and_(ArtifactRow.create_time == artifact.create_time, ArtifactRow.id < artifact.id),
            ),
        )
        .order_by(ArtifactRow.create_time.desc(), ArtifactRow.id.desc())
        .limit(1)
    ).first()
