"""Walks from artifact to artifact, upstream or downstream, as recursive CTEs.

A walk moves from artifact to artifact: one step is an execution (an output back to the
execution's inputs upstream, an input on to the execution's outputs downstream) or a
reference between artifacts (a metric and the model it measures). With ``merge`` the walk is
over fingerprints, so equal artifacts logged by different runs are one node and the walk
follows every copy. Every walk runs on SQLite and PostgreSQL; how the recursive step is
written differs (see ``dialect.multiple_recursive_terms``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
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
    exists,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from modeltrail.store import dialect as dialects
from modeltrail.store.lineage.rows import (
    _ARTIFACTS,
    _LIGHT,
    _columns,
    _dialect,
    _fit,
    _rows,
)
from modeltrail.store.records import (
    ArtifactRecord,
)
from modeltrail.store.tables import (
    ArtifactReferenceRow,
    ArtifactRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    FlagRow,
)

Direction = Literal["upstream", "downstream"]
Key = str  # an artifact's Id, or its fingerprint when equal artifacts are merged


@dataclass
class Walk:
    """The artifacts a walk reached: node key -> fewest steps from the start."""

    depths: dict[Key, int]
    truncated: bool


def _key_literal(key: Key, merge: bool) -> ColumnElement[Any]:
    return literal(key, String) if merge else literal(uuid.UUID(key), ArtifactRow.id.type)


def _nearest(dialect: str, walk: Any, merge: bool) -> Select[Any]:
    """Every key a walk reached (ids as hex) with the fewest steps to it."""
    key = walk.c.k if merge else dialects.id_hex(dialect, walk.c.k)
    return select(key, func.min(walk.c.d)).group_by(walk.c.k)


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
    seed: Select[Any] | Select[str, str],
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

    def step(
        src_col: Any, dst_col: Any, tables: tuple[Any, Any, Any], frm: Select[Any]
    ) -> Select[Any]:
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


def _reached_rows(
    dialect: str, walk: Any, merge: bool, light: bool, any_flag: bool = False
) -> Select[Any]:
    """The artifacts a walk reached (``light``: without their JSON documents), each with the
    fewest steps to it as ``walk_depth`` (and with ``any_flag``, whether any artifact is
    flagged)."""
    nearest = select(walk.c.k, func.min(walk.c.d).label("d")).group_by(walk.c.k).subquery()
    key = _ARTIFACTS.c.fingerprint if merge else _ARTIFACTS.c.id
    flagged = [exists(select(FlagRow.artifact_id)).label("any_flag")] if any_flag else []
    return select(
        *_columns(dialect, _ARTIFACTS, _LIGHT if light else ()),
        nearest.c.d.label("walk_depth"),
        *flagged,
    ).join_from(nearest, _ARTIFACTS, key == nearest.c.k)


@lru_cache(maxsize=32)
def _single_seed_walk(
    dialect: str, direction: Direction, merge: bool, rows: bool, light: bool
) -> Select[Any]:
    """The walk from one node, built once: building the expression costs more than running
    it on a short chain. Parameters: ``seed``, ``start`` (its depth) and ``limit``."""
    key_type = String if merge else ArtifactRow.id.type
    seed = select(
        bindparam("seed", type_=key_type).label("k"), bindparam("start", type_=Integer).label("d")
    )
    walk = _walk_cte(
        dialect, seed, direction=direction, merge=merge, limit=bindparam("limit", type_=Integer)
    )
    return _reached_rows(dialect, walk, merge, light) if rows else _nearest(dialect, walk, merge)


@lru_cache(maxsize=16)
def _walk_from_artifact(dialect: str, direction: Direction, merge: bool, light: bool) -> Any:
    """``_single_seed_walk`` with rows, seeded by the artifact whose id is the ``root``
    parameter (its fingerprint, with ``merge``): no rows if there is none."""
    key = _ARTIFACTS.c.fingerprint if merge else _ARTIFACTS.c.id
    seed = select(key.label("k"), literal(0, Integer).label("d")).where(
        _ARTIFACTS.c.id == bindparam("root", type_=ArtifactRow.id.type)
    )
    walk = _walk_cte(
        dialect, seed, direction=direction, merge=merge, limit=bindparam("limit", type_=Integer)
    )
    return _reached_rows(dialect, walk, merge, light, any_flag=True)


def _run_walk(
    session: Session,
    seeds: list[tuple[Key, int]],
    *,
    direction: Direction,
    depth: int,
    merge: bool,
    rows: bool = False,
    light: bool = False,
) -> list[Any]:
    """A walk from ``seeds`` (key, starting depth) to one step beyond ``depth``, which tells
    whether the limit cut anything off: (key, fewest steps) for each node reached, or with
    ``rows`` the artifacts reached (see ``_reached_rows``)."""
    dialect = _dialect(session)
    if len(seeds) == 1:
        key, start = seeds[0]
        query = _single_seed_walk(dialect, direction, merge, rows, light)
        params = {"seed": key if merge else uuid.UUID(key), "start": start, "limit": depth + 1}
        return _rows(session, query, params)
    seed_rows = [
        select(_key_literal(k, merge).label("k"), literal(d, Integer).label("d")) for k, d in seeds
    ]
    seed = select(union_all(*seed_rows).subquery())
    walk = _walk_cte(dialect, seed, direction=direction, merge=merge, limit=depth + 1)
    return _rows(
        session,
        _reached_rows(dialect, walk, merge, light) if rows else _nearest(dialect, walk, merge),
    )


def _seed_keys(seeds: Iterable[tuple[Key | uuid.UUID, int]]) -> list[tuple[Key, int]]:
    return [(k.hex if isinstance(k, uuid.UUID) else k, d) for k, d in seeds]


def walk_artifacts(
    session: Session,
    *,
    seeds: Iterable[tuple[Key | uuid.UUID, int]],
    direction: Direction,
    depth: int,
    merge: bool,
) -> Walk:
    """Every node within ``depth`` steps of ``seeds`` (key, starting depth), and whether
    anything lay beyond the limit."""
    keys = _seed_keys(seeds)
    if not keys:
        return Walk({}, False)
    rows = _run_walk(session, keys, direction=direction, depth=depth, merge=merge)
    depths = {k: d for k, d in rows if d <= depth}
    return Walk(depths, truncated=len(depths) < len(rows))


def walk_from_artifact(
    session: Session,
    artifact_id: uuid.UUID,
    *,
    direction: Direction,
    depth: int,
    merge: bool,
    light: bool = False,
) -> tuple[ArtifactRecord | None, bool, Walk, list[ArtifactRecord]]:
    """The artifact (None if there is none), whether any artifact is flagged, and
    ``walk_with_artifacts`` from it: one statement for what lineage and impact read first."""
    query = _walk_from_artifact(_dialect(session), direction, merge, light)
    params = {"root": artifact_id, "limit": depth + 1}
    rows = _rows(session, query, params)
    walk, found = _within(rows, depth, merge)
    root = next((row for row in found if row.id == artifact_id.hex), None)
    return root, bool(found) and bool(rows[0].any_flag), walk, found


_DEPTH = len(ArtifactRecord._fields)  # where ``_reached_rows`` gives ``walk_depth``
_ID = ArtifactRecord._fields.index("id")


def _within(rows: list[Any], depth: int, merge: bool) -> tuple[Walk, list[ArtifactRecord]]:
    """The walk and the artifacts of ``_reached_rows`` read one step beyond ``depth``:
    truncated if that step reached anything."""
    walk = Walk({}, False)
    found: list[ArtifactRecord] = []
    if not rows:
        return walk, found
    _fit(rows[0]._fields, ArtifactRecord)
    make = ArtifactRecord._make
    for row in rows:
        d = row[_DEPTH]
        if d <= depth:
            record = make(row[:_DEPTH])
            walk.depths[record.fingerprint if merge else record.id] = d
            found.append(record)
        else:
            walk.truncated = True
    return walk, found


def walk_with_artifacts(
    session: Session,
    *,
    seeds: Iterable[tuple[Key | uuid.UUID, int]],
    direction: Direction,
    depth: int,
    merge: bool,
    light: bool = False,
) -> tuple[Walk, list[ArtifactRecord]]:
    """``walk_artifacts``, and the rows of the artifacts it reached (as ``artifacts_by_keys``
    reads them) in the same statement."""
    keys = _seed_keys(seeds)
    if not keys:
        return Walk({}, False), []
    rows = _run_walk(
        session, keys, direction=direction, depth=depth, merge=merge, rows=True, light=light
    )
    return _within(rows, depth, merge)


@lru_cache(maxsize=32)
def _walk_from_each(dialect: str, direction: Direction, merge: bool, count: int) -> Select[Any]:
    """Walks from ``count`` nodes in one statement, built once: parameters ``seed_0``, ...
    and ``limit``; rows (the seed's index, key, fewest steps from that seed)."""
    key_type = String if merge else ArtifactRow.id.type
    seeds = [
        select(
            bindparam(f"seed_{i}", type_=key_type).label("k"),
            literal(0, Integer).label("d"),
            literal(i, Integer).label("origin"),
        )
        for i in range(count)
    ]
    walk = _walk_cte(
        dialect,
        select(union_all(*seeds).subquery()),
        direction=direction,
        merge=merge,
        limit=bindparam("limit", type_=Integer),
        carry=("origin",),
    )
    key = walk.c.k if merge else dialects.id_hex(dialect, walk.c.k)
    return select(walk.c.origin, key, func.min(walk.c.d)).group_by(walk.c.origin, walk.c.k)


def walks_from_each(
    session: Session, roots: Sequence[Key], *, direction: Direction, depth: int, merge: bool
) -> list[Walk]:
    """A walk from each root (as ``walk_artifacts`` from that root alone), all in one
    statement."""
    params: dict[str, Any] = {
        f"seed_{i}": key if merge else uuid.UUID(key) for i, key in enumerate(roots)
    }
    params["limit"] = depth + 1  # one step beyond tells whether the limit cut anything off
    query = _walk_from_each(_dialect(session), direction, merge, len(roots))
    walks = [Walk({}, False) for _ in roots]
    for origin, key, d in session.connection().execute(query, params):
        if d <= depth:
            walks[origin].depths[key] = d
        else:
            walks[origin].truncated = True
    return walks
