"""Pages of a registry's versions with what they were made of: each version a plain tuple (the
``V_*`` positions) with its artifact and the step and run that wrote it, the steps' inputs and
the version's metrics, a whole page in a fixed number of statements.

The rows are the driver's own, read from its cursor: every column is selected in the form the
answer needs (ids as 32 hex digits, times as the API's text, JSON as text), so no SQLAlchemy
row, ``uuid.UUID`` or ``datetime`` is made for each of a thousand versions."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, aliased

from modeltrail.store import dialect as dialects
from modeltrail.store import scope
from modeltrail.store.registry import readable_version
from modeltrail.store.tables import (
    ArtifactReferenceRow,
    ArtifactRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    ModelVersionRow,
    RunRow,
)

# The kind of artifact whose ``value`` a version's metrics show: a metric refers to the
# model it measures (``reference``), which the store keeps as a relation.
METRICS_KIND = "metrics"
# The highest version number a model can have (a 32-bit integer column).
MAX_VERSION = 2**31 - 1


def list_versions(
    session: Session,
    *,
    model_id: uuid.UUID,
    before: int | None,
    limit: int,
    experiments: frozenset[uuid.UUID] | None = None,
) -> list[Any]:
    """Up to ``limit`` versions, newest first, below version ``before`` if given, each with
    its artifact and the step and run that wrote it (the ``V_*`` positions), as plain tuples
    with ids as hex: a page of a thousand is read in one statement, without building a
    mapped object or a ``uuid.UUID`` for each. A version whose artifact several steps wrote
    comes once, with the earliest of them. ``experiments``: only the versions whose artifact
    is of one of them (``readable_versions``)."""
    upto = MAX_VERSION if before is None else before - 1
    return _page(session, model_id, upto, limit, experiments)


def read_version_summary(session: Session, *, model_id: uuid.UUID, version: int) -> Any | None:
    """One version as ``list_versions`` reads it; None if the model has no such version."""
    found = _page(session, model_id, version, 1, None)
    return found[0] if found and found[0][V_VERSION] == version else None


def _each_version_once(rows: Sequence[Any]) -> list[Any]:
    """``rows`` with each version once: the statements read a version once for each step that
    wrote its artifact, the earliest first, and the first is the one kept."""
    seen: set[tuple[str, int]] = set()
    out = []
    for row in rows:
        if (row[V_MODEL], row[V_VERSION]) not in seen:
            seen.add((row[V_MODEL], row[V_VERSION]))
            out.append(row)
    return out


def read_versions(session: Session, version_ids: Sequence[uuid.UUID]) -> list[Any]:
    """The versions of ``version_ids`` as ``list_versions`` reads them (``V_MODEL`` names
    its model), in the order of ``version_ids`` (an id of no version is left out): one
    statement, whatever their number."""
    if not version_ids:
        return []
    dialect = _dialect(session)
    params = {"ids": dialects.id_values(dialect, [v.hex for v in version_ids])}
    found = _rows(session, _statements(dialect).by_ids, params)
    by_id = {row[V_ID]: row for row in _each_version_once(found)}
    return [by_id[v.hex] for v in version_ids if v.hex in by_id]


def read_newest_versions(
    session: Session,
    model_ids: Sequence[uuid.UUID],
    experiments: frozenset[uuid.UUID] | None = None,
) -> list[Any]:
    """The newest version of each model, as ``list_versions`` reads versions (``V_MODEL``
    names its model): one statement, whatever the number of models. ``experiments``: the
    newest of the versions whose artifact is of one of them (``readable_versions``)."""
    if not model_ids:
        return []
    dialect = _dialect(session)
    statement = (
        _statements(dialect).newest if experiments is None else _newest(dialect, experiments)
    )
    params = {"models": dialects.id_values(dialect, [m.hex for m in model_ids])}
    return _each_version_once(_rows(session, statement, params))


def read_versions_of_models(
    session: Session,
    model_ids: Sequence[uuid.UUID],
    limit: int,
    experiments: frozenset[uuid.UUID] | None = None,
) -> list[Any]:
    """Up to ``limit`` versions of each model, newest first, as ``list_versions`` reads them
    (``V_MODEL`` names its model): one statement, whatever the number of models.
    ``experiments``: only the versions whose artifact is of one of them."""
    if not model_ids:
        return []
    dialect = _dialect(session)
    statement = (
        _statements(dialect).of_models
        if experiments is None
        else _of_models(dialect, readable_version(experiments))
    )
    params = {"models": dialects.id_values(dialect, [m.hex for m in model_ids]), "n": limit}
    return _each_version_once(_rows(session, statement, params))


def _page(
    session: Session,
    model_id: uuid.UUID,
    upto: int,
    limit: int,
    experiments: frozenset[uuid.UUID] | None,
) -> list[Any]:
    dialect = _dialect(session)
    statement = (
        _statements(dialect).versions
        if experiments is None
        else _versions(dialect, readable_version(experiments))
    )
    params = {"model": model_id.hex, "upto": upto, "n": limit}
    seen: set[int] = set()
    out = []
    for row in _rows(session, statement, params):
        if row[V_VERSION] not in seen:
            seen.add(row[V_VERSION])
            out.append(row)
    return out


# ---------------------------------------------------------------- what versions were made of


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _rows(session: Session, statement: Any, params: dict[str, Any]) -> list[Any]:
    """The rows of ``statement`` as the driver's cursor gives them: run through SQLAlchemy
    (its compiled cache, its events, its errors), read without making a ``Row`` or running
    a type's conversion for each of their values. The statements select each column in the
    form it is used in (``id_hex``, ``utc_text``, ``document_text``)."""
    result = session.connection().execute(statement, params)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


# Pages of versions are read with their ids as hex, given dashes as the answer is built:
# making a ``uuid.UUID`` of each id of a thousand versions, and back into text, was most of a
# page's time. The statements are built once per dialect: building their expressions anew
# cost more than running them for one version.


# The columns of a version as ``list_versions`` reads it, by position.
(
    V_ID,
    V_VERSION,
    V_DESCRIPTION,
    V_TAGS,
    V_CREATE_TIME,
    V_UPDATE_TIME,
    V_CREATED_BY_ID,
    V_CREATED_BY_NAME,
    V_UPDATED_BY_ID,
    V_UPDATED_BY_NAME,
    V_ARTIFACT,  # id, name, version, kind, uri, fingerprint: six columns from here
    *_,
) = range(16)
# Every id is 32 hex digits (``uuid.UUID.hex``), or None; ``V_TAGS`` is JSON text and
# ``V_CREATE_TIME`` and ``V_UPDATE_TIME`` are the API's text of a time (``utc_text``).
(V_EXECUTION, V_RUN, V_RUN_NAME, V_RUN_STATUS, V_EXPERIMENT, V_MODEL) = range(16, 22)
# An input as ``inputs_of`` reads it: the execution, then the artifact's six columns.
I_ARTIFACT = 1


@dataclass(frozen=True)
class _Statements:
    versions: Any
    newest: Any
    of_models: Any
    by_ids: Any
    inputs: Any
    metrics: Any


def _versions(dialect: str, condition: Any) -> Any:
    """The page of versions (``condition``: only those that meet it), with each one's
    artifact and the steps that wrote it (the earliest first) and their runs: what took
    three statements of a thousand ids each is one join on keys."""
    chosen = select(ModelVersionRow).where(
        dialects.equals(dialect, ModelVersionRow.model_id, "model", uuids=True),
        ModelVersionRow.version <= bindparam("upto"),
    )
    if condition is not None:
        chosen = chosen.where(condition)
    page = chosen.order_by(ModelVersionRow.version.desc()).limit(bindparam("n")).subquery("page")
    return _with_makers(dialect, page)


def _newest(dialect: str, experiments: frozenset[uuid.UUID] | None) -> Any:
    """The newest version of each model of the parameter ``models`` (``experiments``: of
    the versions whose artifact is of one of them), as ``_versions`` reads a page."""
    newer = aliased(ModelVersionRow)
    newest = select(func.max(newer.version)).where(newer.model_id == ModelVersionRow.model_id)
    if experiments is not None:
        clause = scope.readable_clause(ArtifactRow, experiments)
        newest = newest.where(newer.artifact_id.in_(select(ArtifactRow.id).where(clause)))
    page = (
        select(ModelVersionRow)
        .where(
            dialects.among_ids(dialect, ModelVersionRow.model_id, "models"),
            ModelVersionRow.version == newest.scalar_subquery(),
        )
        .subquery("page")
    )
    return _with_makers(dialect, page)


def _of_models(dialect: str, condition: Any) -> Any:
    """The newest versions of each model of the parameter ``models``, up to the parameter
    ``n`` a model (``condition``: of those that meet it), as ``_versions`` reads a page."""
    rank = func.row_number().over(
        partition_by=ModelVersionRow.model_id, order_by=ModelVersionRow.version.desc()
    )
    chosen = select(ModelVersionRow, rank.label("rank")).where(
        dialects.among_ids(dialect, ModelVersionRow.model_id, "models")
    )
    if condition is not None:
        chosen = chosen.where(condition)
    ranked = chosen.subquery("ranked")
    page = select(ranked).where(ranked.c.rank <= bindparam("n")).subquery("page")
    return _with_makers(dialect, page)


def _with_makers(dialect: str, page: Any) -> Any:
    """The versions of the subquery ``page`` with their artifacts, the steps that wrote them
    and their runs, in the ``V_*`` positions."""

    def text(column: Any, label: str) -> Any:
        return dialects.id_hex(dialect, column).label(label)

    return (
        select(
            text(page.c.id, "id"),
            page.c.version,
            page.c.description,
            dialects.document_text(dialect, page.c.tags).label("tags"),
            dialects.utc_text(dialect, page.c.create_time).label("create_time"),
            dialects.utc_text(dialect, page.c.update_time).label("update_time"),
            text(page.c.created_by_id, "created_by_id"),
            page.c.created_by_name,
            text(page.c.updated_by_id, "updated_by_id"),
            page.c.updated_by_name,
            text(ArtifactRow.id, "artifact_id"),
            ArtifactRow.name,
            ArtifactRow.version,
            ArtifactRow.kind,
            ArtifactRow.uri,
            ArtifactRow.fingerprint,
            text(ExecutionRow.id, "execution_id"),
            text(RunRow.id, "run_id"),
            RunRow.name.label("run_name"),
            RunRow.status.label("run_status"),
            text(RunRow.experiment_id, "experiment_id"),
            text(page.c.model_id, "model_id"),
        )
        .select_from(page)
        .join(ArtifactRow, ArtifactRow.id == page.c.artifact_id)
        .outerjoin(ExecutionOutputRow, ExecutionOutputRow.artifact_id == page.c.artifact_id)
        .outerjoin(ExecutionRow, ExecutionRow.id == ExecutionOutputRow.execution_id)
        .outerjoin(RunRow, RunRow.id == ExecutionRow.run_id)
        .order_by(page.c.version.desc(), ExecutionRow.create_time, ExecutionRow.id)
    )


@functools.cache
def _statements(dialect: str) -> _Statements:
    def text(column: Any, label: str) -> Any:
        return dialects.id_hex(dialect, column).label(label)

    def among(column: Any) -> Any:
        return dialects.among_ids(dialect, column, "ids")

    summary = (
        ArtifactRow.name,
        ArtifactRow.version,
        ArtifactRow.kind,
        ArtifactRow.uri,
        ArtifactRow.fingerprint,
    )
    return _Statements(
        versions=_versions(dialect, None),
        newest=_newest(dialect, None),
        of_models=_of_models(dialect, None),
        by_ids=_with_makers(
            dialect,
            select(ModelVersionRow).where(among(ModelVersionRow.id)).subquery("page"),
        ),
        inputs=select(
            text(ExecutionInputRow.execution_id, "execution_id"),
            text(ArtifactRow.id, "id"),
            *summary,
        )
        .join(ArtifactRow, ArtifactRow.id == ExecutionInputRow.artifact_id)
        .where(among(ExecutionInputRow.execution_id))
        .order_by(ExecutionInputRow.execution_id, ExecutionInputRow.position),
        metrics=select(
            text(ArtifactReferenceRow.target_id, "target"),
            ArtifactRow.name,
            # The whole document, its value taken in Python: SQLite's JSON functions write a
            # float back with 15 significant digits (``1/3`` lost its last), and parsing the
            # document once costs less than its two functions parsing it once each.
            dialects.document_text(dialect, ArtifactRow.attributes),
        )
        .join(ArtifactRow, ArtifactRow.id == ArtifactReferenceRow.artifact_id)
        # ``kind || ''``: no index on the kind, so the statement starts from the page's
        # references rather than from every metric of the store in time order.
        .where(among(ArtifactReferenceRow.target_id), ArtifactRow.kind.concat("") == METRICS_KIND)
        .order_by(ArtifactRow.create_time, ArtifactRow.id),
    )


def _read(session: Session, which: str, ids: Sequence[str]) -> Sequence[Any]:
    dialect = _dialect(session)
    statement = getattr(_statements(dialect), which)
    params = {"ids": dialects.id_values(dialect, ids)}
    return _rows(session, statement, params)


def inputs_of(session: Session, execution_ids: Iterable[str]) -> dict[str, list[Any]]:
    """What each execution read (by its id as hex), in the order it read it: rows of the
    execution's id and the artifact's (from ``I_ARTIFACT``: id, name, version, kind, uri,
    fingerprint), ids as hex."""
    wanted = list(dict.fromkeys(execution_ids))
    out: dict[str, list[Any]] = {e: [] for e in wanted}
    if wanted:
        for row in _read(session, "inputs", wanted):
            out[row[0]].append(row)
    return out


def metrics_of(session: Session, artifact_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The metrics recorded of each artifact (by its id as hex), name -> value (the newest
    of a name wins)."""
    wanted = list(dict.fromkeys(artifact_ids))
    out: dict[str, dict[str, Any]] = {a: {} for a in wanted}
    if wanted:
        loads = orjson.loads
        for target, name, attributes in _read(session, "metrics", wanted):
            document = loads(attributes) if attributes else None
            if isinstance(document, dict) and "value" in document:
                out[target][name] = document["value"]
    return out
