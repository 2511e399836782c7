"""Runs with their executions, and the runs of an experiment or a pipeline."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Literal, overload

from sqlalchemy import (
    Select,
    exists,
    select,
)
from sqlalchemy.orm import Session

from modeltrail.store import dialect as dialects
from modeltrail.store.lineage.rows import (
    _EXECUTABLES,
    _EXECUTIONS,
    _RUNS,
    _columns,
    _dialect,
    _records,
    _referred,
    _rows,
    _with_executable,
    _with_executables,
    hexes,
)
from modeltrail.store.listing import after
from modeltrail.store.records import (
    Executable,
    ExecutableRecord,
    ExecutableRef,
    ExecutionRecord,
    Id,
    RunRecord,
)
from modeltrail.store.tables import (
    FlagRow,
    RunRow,
)


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
