"""The edges of the graph around a set of nodes: who wrote or read these artifacts, what
these executions read, wrote and were followed by, and which runs touched these artifacts."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache, partial
from operator import itemgetter
from typing import Any, Literal, overload

from sqlalchemy import (
    Integer,
    Select,
    literal,
    select,
    union,
    union_all,
)
from sqlalchemy.orm import Session

from modeltrail.store import dialect as dialects
from modeltrail.store.lineage.rows import (
    _ARTIFACTS,
    _EXECUTABLE_REF,
    _EXECUTABLES,
    _EXECUTIONS,
    _LIGHT_EXECUTION,
    _columns,
    _dialect,
    _fit,
    _read,
    _referred,
    _rows,
    _rows_among,
    _with_executable,
    hexes,
)
from modeltrail.store.lineage.walks import (
    _ID,
    Direction,
)
from modeltrail.store.records import (
    ArtifactRecord,
    Executable,
    ExecutableRecord,
    ExecutableRef,
    ExecutionRecord,
    Id,
)
from modeltrail.store.tables import (
    ArtifactReferenceRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    ExecutionSuccessorRow,
)


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
