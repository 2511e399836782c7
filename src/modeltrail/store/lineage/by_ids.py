"""Artifacts, executions and executables by their ids (or artifacts by fingerprint)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Literal, overload

from sqlalchemy import (
    and_,
    or_,
    select,
)
from sqlalchemy.orm import Session

from modeltrail.store.lineage.rows import (
    _ARTIFACTS,
    _EXECUTABLES,
    _LIGHT,
    _RUNS,
    _columns,
    _dialect,
    _joined,
    _pairs,
    _read,
    _records,
    _rows,
    _rows_among,
    _with_executables,
    hexes,
)
from modeltrail.store.lineage.walks import (
    Key,
)
from modeltrail.store.records import (
    ArtifactRecord,
    Executable,
    ExecutableRecord,
    ExecutableRef,
    ExecutionRecord,
    Id,
    RunRecord,
)
from modeltrail.store.tables import (
    ArtifactRow,
)


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


def executables_by_ids(session: Session, ids: Iterable[uuid.UUID | Id]) -> list[ExecutableRecord]:
    statement = _rows_among(_dialect(session), _EXECUTABLES, "id")
    return _records(_read(session, statement, ids), ExecutableRecord)


# ---------------------------------------------------------------- experiments and runs


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
