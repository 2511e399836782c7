"""Lineage walks: which artifacts an artifact came from or led to, answered in the database.

A walk moves from artifact to artifact: one step is an execution (an output back to the
execution's inputs upstream, an input on to the execution's outputs downstream) or a
reference between artifacts (a metric and the model it measures). With ``merge`` the walk is
over fingerprints, so equal artifacts logged by different runs are one node and the walk
follows every copy. Every walk is a recursive CTE that runs on SQLite and PostgreSQL; how the
recursive step is written differs (see ``dialect.multiple_recursive_terms``).

The readers here work with ids as 32 hex digits (``Id``), taking and giving them in that
form, and give rows as the typed records of ``store.records`` (see there why). Lists of ids
go to the database as one parameter (``dialect.among``). The graph answers keep ids as
text (``domain.lineage.NodeId``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from operator import itemgetter
from typing import Any, Literal, TypeVar, cast, overload

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    String,
    Table,
    Uuid,
    and_,
    bindparam,
    exists,
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
from modeltrail.store.listing import after
from modeltrail.store.records import (
    ArtifactRecord,
    Executable,
    ExecutableRecord,
    ExecutableRef,
    ExecutionRecord,
    FlagRecord,
    Id,
    RunRecord,
)
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
Key = str  # an artifact's Id, or its fingerprint when equal artifacts are merged


def hexes(ids: Iterable[uuid.UUID | Id]) -> list[Id]:
    """Ids in the form the readers take, from UUIDs (a request's, an ORM row's) or hex."""
    return [i.hex if isinstance(i, uuid.UUID) else i for i in ids]


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _columns(dialect: str, table: Table, leave_out: Sequence[str] = ()) -> list[Any]:
    """Every column of ``table``, ids as hex; those in ``leave_out`` read as NULL."""
    return [
        literal(None).label(c.name)
        if c.name in leave_out
        else dialects.id_hex(dialect, c).label(c.name)
        if isinstance(c.type, Uuid)
        else c
        for c in table.c
    ]


@lru_cache(maxsize=128)
def _rows_among(
    dialect: str,
    table: Table,
    column: str,
    *,
    leave_out: tuple[str, ...] = (),
    only: tuple[str, ...] = (),
    uuids: bool = True,
    any_flag: bool = False,
) -> Select[Any]:
    """The rows of ``table`` whose ``column`` is among the ``ids`` parameter (the columns
    ``only``, in that order, if given), built once: building costs more than running.
    ``any_flag`` adds whether any artifact is flagged, as ``any_flag`` (see
    ``with_any_flag``)."""
    columns = _columns(dialect, table, leave_out)
    if only:
        by_name = {c.name: c for c in columns}
        columns = [by_name[name] for name in only]
    if any_flag:
        columns.append(exists(select(FlagRow.artifact_id)).label("any_flag"))
    return select(*columns).where(dialects.among(dialect, table.c[column], "ids", uuids=uuids))


def _read(
    session: Session, statement: Any, ids: Iterable[uuid.UUID | Id], **more: Iterable[Id]
) -> list[Any]:
    """Run a statement built with an ``ids`` parameter for these ids (and with the
    parameters ``more`` names, each a list of ids, for those)."""
    dialect = _dialect(session)
    params = {name: dialects.values(dialect, hexes(v)) for name, v in {"ids": ids, **more}.items()}
    return _rows(session, statement, params)


def columns_among(
    session: Session, table: Any, column: str, only: tuple[str, ...], ids: Iterable[uuid.UUID | Id]
) -> list[Any]:
    """The ``only`` columns (ids as hex) of the rows of ``table`` whose ``column`` is among
    ``ids``, in one statement whatever their count."""
    return _read(session, _rows_among(_dialect(session), table.__table__, column, only=only), ids)


def _rows(session: Session, query: Any, params: dict[str, Any] | None = None) -> list[Any]:
    return list(session.connection().execute(query, params).all())


R = TypeVar(
    "R", ArtifactRecord, ExecutionRecord, ExecutableRecord, ExecutableRef, RunRecord, FlagRecord
)
S = TypeVar("S", ArtifactRecord, ExecutableRecord, ExecutableRef)


def _fit(names: Sequence[str], record: type[Any], start: int = 0) -> int:
    """Where ``record``'s columns end in rows named ``names``, its columns starting at
    ``start`` (named as its fields, or ``prefix.`` and the field): a statement that does
    not give what its record says is an error here, not a wrong field later."""
    end = start + len(record._fields)
    if tuple(n.rpartition(".")[2] for n in names[start:end]) != record._fields:
        raise TypeError(f"the columns {names[start:end]} are not those of {record.__name__}")
    return end


def _records(rows: Sequence[Row[Any]], record: type[R], start: int = 0) -> list[R]:
    """Rows as ``record``s, from their column ``start`` on (columns may follow)."""
    if not rows:
        return []
    end = _fit(rows[0]._fields, record, start)
    if start == 0 and end == len(rows[0]):
        return list(map(record._make, rows))
    make = record._make
    return [make(row[start:end]) for row in rows]


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


def flagged_reach(session: Session) -> dict[str, set[Id]]:
    """Fingerprint of every flagged or affected artifact -> the flagged artifacts behind it.

    Flags are few; the walk follows equality, so a flagged dataset taints every equal copy
    and everything derived from any of them.
    """
    if session.connection().scalar(select(FlagRow.artifact_id).limit(1)) is None:
        return {}
    dialect = _dialect(session)
    seed = select(
        ArtifactRow.fingerprint.label("k"),
        dialects.id_hex(dialect, FlagRow.artifact_id).label("origin"),
    ).join(FlagRow, FlagRow.artifact_id == ArtifactRow.id)
    walk = _walk_cte(
        dialect, seed, direction="downstream", merge=True, limit=None, carry=("origin",)
    )
    out: dict[str, set[Id]] = {}
    for key, origin in session.connection().execute(select(walk.c.k, walk.c.origin)):
        out.setdefault(key, set()).add(origin)
    return out


# ---------------------------------------------------------------- reading what a walk found


_LIGHT = ("attributes", "annotations", "description")
_LIGHT_EXECUTION = ("configuration", "annotations")
_EXECUTABLE_REF = ("id", "name", "version", "uri")  # all of an executable a light read gives
_ARTIFACTS: Table = ArtifactRow.__table__  # type: ignore[assignment]
_EXECUTIONS: Table = ExecutionRow.__table__  # type: ignore[assignment]
_EXECUTABLES: Table = ExecutableRow.__table__  # type: ignore[assignment]
_RUNS: Table = RunRow.__table__  # type: ignore[assignment]
_FLAGS: Table = FlagRow.__table__  # type: ignore[assignment]


def artifacts_by_keys(
    session: Session, keys: Sequence[Key], *, merge: bool, light: bool = False
) -> list[ArtifactRecord]:
    """Artifact rows (read-only, attribute access like the ORM rows) by id or fingerprint.
    ``light`` leaves out the JSON documents, which cost most to read."""
    statement = _rows_among(
        _dialect(session),
        _ARTIFACTS,
        "fingerprint" if merge else "id",
        leave_out=_LIGHT if light else (),
        uuids=not merge,
    )
    return _records(_read(session, statement, keys), ArtifactRecord)


@lru_cache(maxsize=8)
def _reached(dialect: str, role: str, light: bool) -> Select[Any]:
    """The edges (artifact first) of the executions that wrote (producers) or read
    (consumers) the artifacts among ``ids``, each followed by its execution's columns and
    those of the executable as ``ref.*``."""
    edge = (ExecutionOutputRow if role == "producers" else ExecutionInputRow).__table__
    own = _columns(dialect, _EXECUTIONS, _LIGHT_EXECUTION if light else ())
    statement = (
        select(
            dialects.id_hex(dialect, edge.c.artifact_id).label("artifact"),
            *own,
            *_referred(dialect, _EXECUTABLES, _EXECUTABLE_REF if light else ()),
        )
        .join_from(edge, _EXECUTIONS, edge.c.execution_id == _EXECUTIONS.c.id)
        .join(_EXECUTABLES, _EXECUTIONS.c.executable_id == _EXECUTABLES.c.id, isouter=True)
        .where(dialects.among(dialect, edge.c.artifact_id, "ids", uuids=True))
    )
    return statement


Edges = list[tuple[Id, Id]]


@overload
def executions_reached(
    session: Session,
    artifact_ids: Iterable[uuid.UUID | Id],
    *,
    role: Literal["producers", "consumers"],
    light: Literal[False] = False,
) -> tuple[Edges, list[tuple[ExecutionRecord, ExecutableRecord]]]: ...
@overload
def executions_reached(
    session: Session,
    artifact_ids: Iterable[uuid.UUID | Id],
    *,
    role: Literal["producers", "consumers"],
    light: Literal[True],
) -> tuple[Edges, list[tuple[ExecutionRecord, ExecutableRef]]]: ...
@overload
def executions_reached(
    session: Session,
    artifact_ids: Iterable[uuid.UUID | Id],
    *,
    role: Literal["producers", "consumers"],
    light: bool,
) -> tuple[Edges, list[tuple[ExecutionRecord, Executable]]]: ...
def executions_reached(
    session: Session,
    artifact_ids: Iterable[uuid.UUID | Id],
    *,
    role: Literal["producers", "consumers"],
    light: bool = False,
) -> tuple[Edges, list[Any]]:  # as the overloads say
    """``execution_edges`` and the executions they name with their executables (as
    ``executions_with_executables`` gives them), in one statement: on PostgreSQL a
    statement costs more than the rows an execution reached twice repeats."""
    query = _reached(_dialect(session), role, light)
    rows = _read(session, query, artifact_ids)
    pairs = _with_executable(rows, light, start=1)
    edges = [(execution.id, row[0]) for row, (execution, _) in zip(rows, pairs, strict=True)]
    executions = {execution.id: (execution, exe) for execution, exe in pairs}
    return edges, list(executions.values())


def execution_edges(
    session: Session,
    *,
    artifact_ids: Iterable[uuid.UUID | Id],
    role: Literal["producers", "consumers"],
) -> list[tuple[Id, Id]]:
    """(execution, artifact) pairs of the executions that wrote (producers) or read
    (consumers) the given artifacts."""
    table = ExecutionOutputRow if role == "producers" else ExecutionInputRow
    statement = _rows_among(
        _dialect(session), table.__table__, "artifact_id", only=("execution_id", "artifact_id")
    )
    return _read(session, statement, artifact_ids)


@lru_cache(maxsize=4)
def _next_steps(dialect: str, direction: Direction) -> Select[Any]:
    """(artifact, step) pairs: for each artifact among ``ids``, the executions that read it
    (downstream) or wrote it (upstream), and the artifacts that refer to it (downstream) or
    that it refers to (upstream)."""
    io = (ExecutionInputRow if direction == "downstream" else ExecutionOutputRow).__table__
    ref = ArtifactReferenceRow.__table__
    near, far = (
        ("target_id", "artifact_id") if direction == "downstream" else ("artifact_id", "target_id")
    )
    hexed = partial(dialects.id_hex, dialect)
    steps = select(hexed(io.c.artifact_id).label("a"), hexed(io.c.execution_id).label("s")).where(
        dialects.among(dialect, io.c.artifact_id, "ids", uuids=True)
    )
    refs = select(hexed(ref.c[near]), hexed(ref.c[far])).where(
        dialects.among(dialect, ref.c[near], "ids", uuids=True)
    )
    return union(steps, refs)  # type: ignore[return-value]


def next_step_counts(
    session: Session, artifact_ids: Iterable[uuid.UUID | Id], *, direction: Direction
) -> dict[Id, int]:
    """For each of these artifacts that has any, how many steps lead on from it away from a
    walk's start: the executions that read it (downstream) or wrote it (upstream), and the
    references to it (downstream) or from it (upstream)."""
    counts: dict[Id, int] = defaultdict(int)
    for artifact, _ in _read(session, _next_steps(_dialect(session), direction), artifact_ids):
        counts[artifact] += 1
    return dict(counts)


@lru_cache(maxsize=16)
def _io_of_executions(
    dialect: str,
    successors: bool = False,
    artifacts: bool = False,
    references: bool = False,
    by_run: bool = False,
) -> Any:
    """Inputs (side 0) and outputs (side 1) of the executions among ``ids`` (``by_run``: of
    the run ``run``, see ``dialects.equals``); with ``successors``, their successors too
    (side 2, position 0; ``by_run``: those in the run); with ``references``, the (target,
    referencing artifact) pairs of the artifacts among ``refs`` (side 3); with
    ``artifacts``, each input and output followed by the columns of its artifact as
    ``ref.*`` (NULL for the other sides)."""
    referred = _referred(dialect, _ARTIFACTS) if artifacts else []

    def executions(column: Any) -> Any:
        if not by_run:
            return dialects.among(dialect, column, "ids", uuids=True)
        run = dialects.equals(dialect, _EXECUTIONS.c.run_id, "run", uuids=True)
        return column.in_(select(_EXECUTIONS.c.id).where(run))

    arms = []
    for side, table in enumerate((ExecutionInputRow.__table__, ExecutionOutputRow.__table__)):
        arm = select(
            dialects.id_hex(dialect, table.c.execution_id).label("execution"),
            dialects.id_hex(dialect, table.c.artifact_id).label("other"),
            table.c.position,
            literal(side, Integer).label("side"),
            *referred,
        )
        if artifacts:
            arm = arm.join_from(table, _ARTIFACTS, table.c.artifact_id == _ARTIFACTS.c.id)
        arms.append(arm.where(executions(table.c.execution_id)))

    def pairs(first: Any, second: Any, side: int, *where: Any) -> Any:
        """An arm of (id, id) pairs, without a position or an artifact's columns."""
        return select(
            dialects.id_hex(dialect, first),
            dialects.id_hex(dialect, second),
            literal(0, Integer),
            literal(side, Integer),
            *[literal(None).label(c.name) for c in referred],
        ).where(*where)

    if successors:
        follows = ExecutionSuccessorRow
        within = (executions(follows.successor_id),) if by_run else ()
        arms.append(
            pairs(
                follows.execution_id,
                follows.successor_id,
                2,
                executions(follows.execution_id),
                *within,
            )
        )
    if references:
        refers = ArtifactReferenceRow
        arms.append(
            pairs(
                refers.target_id,
                refers.artifact_id,
                3,
                dialects.among(dialect, refers.artifact_id, "refs", uuids=True),
            )
        )
    return union_all(*arms)


IoEdges = list[tuple[Id, Id, int]]  # (execution, artifact, position)


def _io(
    session: Session,
    execution_ids: Iterable[uuid.UUID | Id] = (),
    *,
    run: uuid.UUID | Id | None = None,
    successors: bool,
    among: bool = True,
    artifacts: dict[Id, ArtifactRecord] | None = None,
    references: list[tuple[Id, Id]] | None = None,
    referable: Iterable[uuid.UUID | Id] = (),
) -> tuple[IoEdges, IoEdges, list[tuple[Id, Id]]]:
    """Inputs, outputs and, with ``successors``, the successors of the executions (those of
    the ``run``, if given): those among them (``among``), or all. Given an ``artifacts``
    dict, the rows of the artifacts read and written are put in it; given a ``references``
    list, the (target, referencing artifact) pairs where both ends are among ``referable``:
    read in the same statement."""
    dialect = _dialect(session)
    statement = _io_of_executions(
        dialect, successors, artifacts is not None, references is not None, run is not None
    )
    wanted = None  # by run, the statement keeps the successors within the run
    if run is not None:
        params = {"run": hexes([run])[0]}
    else:
        ids = hexes(execution_ids)
        params = {"ids": dialects.values(dialect, ids)}
        wanted = set(ids) if successors and among else None
    refs = hexes(referable)
    if references is not None:
        params["refs"] = dialects.values(dialect, refs)
    rows = _rows(session, statement, params)
    if artifacts is not None and rows:
        # (execution, other, position, side), then the artifact's columns as ``ref.*``
        end = _fit(rows[0]._fields, ArtifactRecord, 4)
        at = 4 + _ID
        make = ArtifactRecord._make
        for row in rows:
            key = row[at]
            if key is not None and key not in artifacts:
                artifacts[key] = make(row[4:end])
        rows = [row[:4] for row in rows]
    inputs: IoEdges = []
    outputs: IoEdges = []
    follows: list[tuple[Id, Id]] = []
    among_refs = set(refs)
    for execution, other, position, side in rows:
        if side == 3:  # (target, referencing artifact)
            if execution in among_refs:
                references.append((execution, other))  # type: ignore[union-attr]
        elif side == 2:
            if wanted is None or other in wanted:
                follows.append((execution, other))
        else:
            (outputs if side else inputs).append((execution, other, position))
    return inputs, outputs, follows


@dataclass(frozen=True)
class ExecutionEdges:
    """The edges of a set of executions, as ``edges_of_executions`` read them."""

    inputs: IoEdges  # (execution, artifact, position)
    outputs: IoEdges
    successors: list[tuple[Id, Id]]  # (execution, successor), if asked for
    artifacts: dict[Id, ArtifactRecord]  # the artifacts read and written, if asked for
    references: list[tuple[Id, Id]]  # (target, referencing artifact), if asked for

    def input_lists(self) -> dict[Id, list[Id]]:
        """Each execution's inputs in recorded order (none: not in the dict)."""
        return _in_order(self.inputs)

    def output_lists(self) -> dict[Id, list[Id]]:
        """Each execution's outputs in recorded order (none: not in the dict)."""
        return _in_order(self.outputs)


def edges_of_executions(
    session: Session,
    execution_ids: Iterable[uuid.UUID | Id] = (),
    *,
    run: uuid.UUID | Id | None = None,
    successors: Literal["none", "among", "all"] = "none",
    artifacts: bool = False,
    references_among: Iterable[uuid.UUID | Id] | None = None,
) -> ExecutionEdges:
    """The inputs and outputs of the executions (or of all of ``run``'s), and what else is
    asked for, read in one statement: a statement costs more than the rows these are.

    - ``successors``: the (execution, successor) pairs where the successor is among the
      executions too (``among``; of a ``run``: in the run), or all of them (``all``);
    - ``artifacts``: the rows of the artifacts read and written, by id;
    - ``references_among``: the (target, referencing artifact) pairs whose two ends are both
      among these artifacts.
    """
    found: dict[Id, ArtifactRecord] | None = {} if artifacts else None
    references: list[tuple[Id, Id]] | None = [] if references_among is not None else None
    inputs, outputs, follows = _io(
        session,
        execution_ids,
        run=run,
        successors=successors != "none",
        among=successors == "among",
        artifacts=found,
        references=references,
        referable=references_among or (),
    )
    return ExecutionEdges(inputs, outputs, follows, found or {}, references or [])


def _in_order(edges: list[tuple[Id, Id, int]]) -> dict[Id, list[Id]]:
    lists: dict[Id, list[Id]] = defaultdict(list)
    for execution, artifact, _ in sorted(edges, key=itemgetter(2)):
        lists[execution].append(artifact)
    return lists


@lru_cache(maxsize=16)
def _joined(
    dialect: str,
    table: Table,
    column: str,
    reference: str,
    other: Table,
    *,
    leave_out: tuple[str, ...] = (),
    other_only: tuple[str, ...] = (),
) -> Select[Any]:
    """The rows of ``table`` whose ``column`` is among the ``ids`` parameter (without the
    columns ``leave_out`` names), each followed by the columns of the ``other`` row its
    ``reference`` names (``other_only`` these, if given) as ``ref.*``, NULL where it names
    none: a statement less than reading the referred rows after (on PostgreSQL, a
    statement costs more than these rows)."""
    return (
        select(*_columns(dialect, table, leave_out), *_referred(dialect, other, other_only))
        .join_from(table, other, table.c[reference] == other.c.id, isouter=True)
        .where(dialects.among(dialect, table.c[column], "ids", uuids=True))
    )


def _referred(dialect: str, other: Table, only: tuple[str, ...] = ()) -> list[Any]:
    """The columns of a referred row (``only`` these, if given), named ``ref.*``."""
    return [
        c.label(f"ref.{c.name}") for c in _columns(dialect, other) if not only or c.name in only
    ]


def _pairs(
    rows: Sequence[Row[Any]], own: type[R], other: type[S], start: int = 0
) -> list[tuple[R, S | None]]:
    """(row, referred row or None) records of rows whose own columns (``own``) start at
    ``start`` and whose referred row's columns (``ref.*``, ``other``) follow. A row
    referred to many times is one record."""
    if not rows:
        return []
    names = rows[0]._fields
    split = _fit(names, own, start)
    end = _fit(names, other, split)
    at = split + other._fields.index("id")
    make_own, make_other = own._make, other._make
    seen: dict[Id, S] = {}
    pairs: list[tuple[R, S | None]] = []
    for row in rows:
        key = row[at]
        referred = seen.get(key)
        if referred is None and key is not None:
            referred = seen[key] = make_other(row[split:end])
        pairs.append((make_own(row[start:split]), referred))
    return pairs


def _with_executable(
    rows: Sequence[Row[Any]], light: bool, start: int = 0
) -> list[tuple[ExecutionRecord, Executable]]:
    """(execution, executable) records of rows with the executable's columns as ``ref.*``
    (a light read names it only: ``ExecutableRef``)."""
    if light:
        refs = _pairs(rows, ExecutionRecord, ExecutableRef, start)
        # An execution's executable_id is NOT NULL and a foreign key: it is always found.
        return cast(list[tuple[ExecutionRecord, Executable]], refs)
    whole = _pairs(rows, ExecutionRecord, ExecutableRecord, start)
    return cast(list[tuple[ExecutionRecord, Executable]], whole)


def _with_executables(
    session: Session, column: str, ids: Iterable[uuid.UUID | Id], *, light: bool
) -> list[tuple[ExecutionRecord, Executable]]:
    """(execution, executable) records of the executions whose ``column`` is among ``ids``."""
    statement = _joined(
        _dialect(session),
        _EXECUTIONS,
        column,
        "executable_id",
        _EXECUTABLES,
        leave_out=_LIGHT_EXECUTION if light else (),
        other_only=_EXECUTABLE_REF if light else (),
    )
    return _with_executable(_read(session, statement, ids), light)


@overload
def executions_with_executables(
    session: Session, execution_ids: Iterable[uuid.UUID | Id], *, light: Literal[False] = False
) -> list[tuple[ExecutionRecord, ExecutableRecord]]: ...
@overload
def executions_with_executables(
    session: Session, execution_ids: Iterable[uuid.UUID | Id], *, light: Literal[True]
) -> list[tuple[ExecutionRecord, ExecutableRef]]: ...
@overload
def executions_with_executables(
    session: Session, execution_ids: Iterable[uuid.UUID | Id], *, light: bool
) -> list[tuple[ExecutionRecord, Executable]]: ...
def executions_with_executables(
    session: Session,
    execution_ids: Iterable[uuid.UUID | Id],
    *,
    light: bool = False,
) -> list[Any]:  # as the overloads say
    """Execution rows (read-only) with their executables; ``light`` leaves out the JSON
    documents."""
    return _with_executables(session, "id", execution_ids, light=light)


def runs_by_ids(session: Session, run_ids: Iterable[uuid.UUID | Id]) -> list[RunRecord]:
    statement = _rows_among(_dialect(session), _RUNS, "id")
    return _records(_read(session, statement, run_ids), RunRecord)


# The first read of a graph answer (its root, or its run: ``run_with_executions``) also says
# whether any artifact is flagged: flags are rare, and when there are none the answer is
# spared their read, which every graph answer makes (a statement: on PostgreSQL, a round trip).


def artifacts_by_ids_with_any_flag(
    session: Session, ids: Iterable[uuid.UUID | Id]
) -> tuple[list[ArtifactRecord], bool]:
    """``artifacts_by_ids``, and whether any artifact is flagged (when one was found)."""
    statement = _rows_among(_dialect(session), _ARTIFACTS, "id", any_flag=True)
    rows = _read(session, statement, ids)
    return _records(rows, ArtifactRecord), bool(rows) and bool(rows[0].any_flag)


def runs_with_events(
    session: Session, run_ids: Iterable[uuid.UUID | Id]
) -> list[tuple[RunRecord, ArtifactRecord | None]]:
    """(run, the trigger event that started it or None) records, in one statement."""
    statement = _joined(_dialect(session), _RUNS, "id", "event_id", _ARTIFACTS)
    return _pairs(_read(session, statement, run_ids), RunRecord, ArtifactRecord)


def artifacts_by_ids(
    session: Session, ids: Iterable[uuid.UUID | Id], *, light: bool = False
) -> list[ArtifactRecord]:
    return artifacts_by_keys(session, hexes(ids), merge=False, light=light)


@lru_cache(maxsize=4)
def _runs_of_artifacts(dialect: str) -> Any:
    # The run of each edge's execution is looked up by key, row by row: as a join, PostgreSQL
    # guessed a hash join over every execution cheaper than a hundred lookups, and was wrong.
    arms = [
        select(
            dialects.id_hex(dialect, table.artifact_id).label("a"),
            dialects.id_hex(
                dialect,
                select(ExecutionRow.run_id)
                .where(ExecutionRow.id == table.execution_id)
                .scalar_subquery(),
            ).label("r"),
        ).where(dialects.among(dialect, table.artifact_id, "ids", uuids=True))
        for table in (ExecutionOutputRow, ExecutionInputRow)
    ]
    return union(*arms)


def runs_of_artifacts(
    session: Session, artifact_ids: Iterable[uuid.UUID | Id]
) -> list[tuple[Id, Id]]:
    """(artifact, run) once for every run that wrote or read one of the artifacts."""
    return _read(session, _runs_of_artifacts(_dialect(session)), artifact_ids)


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


def executables_by_ids(session: Session, ids: Iterable[uuid.UUID | Id]) -> list[ExecutableRecord]:
    statement = _rows_among(_dialect(session), _EXECUTABLES, "id")
    return _records(_read(session, statement, ids), ExecutableRecord)


# ---------------------------------------------------------------- experiments and runs


@overload
def executions_of_runs(
    session: Session, run_ids: Iterable[uuid.UUID | Id], *, light: Literal[False] = False
) -> list[tuple[ExecutionRecord, ExecutableRecord]]: ...
@overload
def executions_of_runs(
    session: Session, run_ids: Iterable[uuid.UUID | Id], *, light: Literal[True]
) -> list[tuple[ExecutionRecord, ExecutableRef]]: ...
@overload
def executions_of_runs(
    session: Session, run_ids: Iterable[uuid.UUID | Id], *, light: bool
) -> list[tuple[ExecutionRecord, Executable]]: ...
def executions_of_runs(
    session: Session, run_ids: Iterable[uuid.UUID | Id], *, light: bool = False
) -> list[Any]:  # as the overloads say
    """The executions of runs in start order, with their executables (``light``: without
    the JSON documents)."""
    return _in_start_order(_with_executables(session, "run_id", run_ids, light=light))


def _in_start_order(
    pairs: list[tuple[ExecutionRecord, Executable]],
) -> list[tuple[ExecutionRecord, Executable]]:
    pairs.sort(key=lambda p: (p[0].start_time or p[0].create_time, p[0].id))
    return pairs


@lru_cache(maxsize=4)
def _run_with_executions(dialect: str) -> tuple[Select[Any], int]:
    """A run's columns (as ``run.*``, then ``run.any_flag``), then those of each of its
    executions and of the execution's executable (as ``ref.*``), NULL where the run has
    none; and where the executions' columns start."""
    run = [c.label(f"run.{c.name}") for c in _columns(dialect, _RUNS)]
    run.append(exists(select(FlagRow.artifact_id)).label("run.any_flag"))
    execution = _columns(dialect, _EXECUTIONS)
    statement = (
        select(*run, *execution, *_referred(dialect, _EXECUTABLES))
        .select_from(_RUNS)
        .outerjoin(_EXECUTIONS, _EXECUTIONS.c.run_id == _RUNS.c.id)
        .outerjoin(_EXECUTABLES, _EXECUTIONS.c.executable_id == _EXECUTABLES.c.id)
        .where(dialects.equals(dialect, _RUNS.c.id, "run", uuids=True))
    )
    return statement, len(run)


def run_with_executions(
    session: Session, run_id: uuid.UUID | Id
) -> tuple[RunRecord | None, list[tuple[ExecutionRecord, Executable]], bool]:
    """A run (None if there is none), its executions with their executables as
    ``executions_of_runs`` gives them, and whether any artifact is flagged: one statement
    for what the run DAG reads first."""
    statement, start = _run_with_executions(_dialect(session))
    rows = _rows(session, statement, {"run": hexes([run_id])[0]})
    if not rows:
        return None, [], False
    run = _records(rows[:1], RunRecord)[0]
    any_flag = bool(rows[0][start - 1])
    executions = [pair for pair in _with_executable(rows, False, start) if pair[0].id is not None]
    return run, _in_start_order(executions), any_flag


def _runs(
    session: Session, *where: Any, newest_first: bool = False, limit: int | None = None
) -> list[RunRecord]:
    order = (
        (RunRow.create_time.desc(), RunRow.id.desc())
        if newest_first
        else (RunRow.create_time, RunRow.id)
    )
    query = select(*_columns(_dialect(session), _RUNS)).where(*where).order_by(*order).limit(limit)
    return _records(_rows(session, query), RunRecord)


def runs_of_experiment(
    session: Session,
    experiment_id: uuid.UUID,
    *,
    limit: int | None = None,
    before: RunRow | None = None,
) -> list[RunRecord]:
    """The newest ``limit`` runs (all without a limit), oldest first; with ``before``, the
    newest of those created before that run (in the order of creation time, then id)."""
    where = [RunRow.experiment_id == experiment_id]
    if before is not None:  # after it, newest first
        where.append(
            after(RunRow.create_time, before.create_time, before.id, RunRow.id, descending=True)
        )
    return list(reversed(_runs(session, *where, newest_first=True, limit=limit)))


def runs_of_pipeline(session: Session, pipeline_id: uuid.UUID) -> list[RunRecord]:
    return _runs(session, RunRow.pipeline_id == pipeline_id)


@lru_cache(maxsize=4)
def _flags(dialect: str) -> Select[Any]:
    return select(*_columns(dialect, _FLAGS)).order_by(FlagRow.create_time)


def flags_for(session: Session) -> list[FlagRecord]:
    """Every flag, oldest first: read for every graph answer, so built once."""
    return _records(_rows(session, _flags(_dialect(session))), FlagRecord)


def previous_artifact(session: Session, artifact: ArtifactRecord) -> ArtifactRecord | None:
    """The latest artifact of the same name and kind created before this one (with other
    content: an equal copy explains nothing), both as these readers give them."""
    own = uuid.UUID(artifact.id)
    query = (
        select(*_columns(_dialect(session), _ARTIFACTS))
        .where(
            ArtifactRow.name == artifact.name,
            ArtifactRow.kind == artifact.kind,
            ArtifactRow.id != own,
            ArtifactRow.fingerprint != artifact.fingerprint,
            or_(
                ArtifactRow.create_time < artifact.create_time,
                and_(ArtifactRow.create_time == artifact.create_time, ArtifactRow.id < own),
            ),
        )
        .order_by(ArtifactRow.create_time.desc(), ArtifactRow.id.desc())
        .limit(1)
    )
    found = _records(_rows(session, query), ArtifactRecord)
    return found[0] if found else None
