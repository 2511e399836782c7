"""Reading rows as typed records: the helpers every graph reader shares.

Ids travel as 32 hex digits (``Id``); rows come back as the records of ``store.records``;
a list of ids goes to the database as one parameter (``dialect.among``); a statement is
built once per dialect and shape (building costs more than running).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Row,
    Select,
    Table,
    Uuid,
    exists,
    literal,
    select,
)
from sqlalchemy.orm import Session

from modeltrail.store import dialect as dialects
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
    ArtifactRow,
    ExecutableRow,
    ExecutionRow,
    FlagRow,
    RunRow,
)


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


_LIGHT = ("attributes", "annotations", "description")
_LIGHT_EXECUTION = ("configuration", "annotations")
_EXECUTABLE_REF = ("id", "name", "version", "uri")  # all of an executable a light read gives
_ARTIFACTS: Table = ArtifactRow.__table__  # type: ignore[assignment]
_EXECUTIONS: Table = ExecutionRow.__table__  # type: ignore[assignment]
_EXECUTABLES: Table = ExecutableRow.__table__  # type: ignore[assignment]
_RUNS: Table = RunRow.__table__  # type: ignore[assignment]
_FLAGS: Table = FlagRow.__table__  # type: ignore[assignment]


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
