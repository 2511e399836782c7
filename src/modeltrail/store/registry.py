"""Readers of the model registry: a model by name, its versions with what they were made of,
its aliases now and at a past time. Each reads a whole page in a fixed number of statements."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from modeltrail.store import dialect as dialects
from modeltrail.store.tables import (
    ArtifactReferenceRow,
    ArtifactRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    ModelAliasEventRow,
    ModelAliasRow,
    ModelVersionRow,
    RegisteredModelRow,
    RunRow,
)

# The kind of artifact whose ``value`` a version's metrics show: a metric refers to the
# model it measures (``reference``), which the store keeps as a relation.
METRICS_KIND = "metrics"
# The highest version number a model can have (a 32-bit integer column).
MAX_VERSION = 2**31 - 1


def read_model(session: Session, *, name: str, lock: bool = False) -> RegisteredModelRow | None:
    """The registered model named ``name``; ``lock``: locked until the transaction ends, so
    that changes of one model's versions and aliases are made one at a time."""
    query = select(RegisteredModelRow).where(RegisteredModelRow.name == name)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def read_version(session: Session, *, model_id: uuid.UUID, version: int) -> ModelVersionRow | None:
    return session.scalar(
        select(ModelVersionRow).where(
            ModelVersionRow.model_id == model_id, ModelVersionRow.version == version
        )
    )


def latest_version(session: Session, *, model_id: uuid.UUID) -> ModelVersionRow | None:
    return session.scalar(
        select(ModelVersionRow)
        .where(ModelVersionRow.model_id == model_id)
        .order_by(ModelVersionRow.version.desc())
        .limit(1)
    )


def list_versions(
    session: Session, *, model_id: uuid.UUID, before: int | None, limit: int
) -> list[Any]:
    """Up to ``limit`` versions, newest first, below version ``before`` if given: their
    columns only, ids as text (a page of a thousand is read without building a mapped
    object or a ``uuid.UUID`` for each)."""
    return list(
        session.execute(
            _statements(_dialect(session)).versions,
            {
                "model": model_id.hex,
                "upto": MAX_VERSION if before is None else before - 1,
                "n": limit,
            },
        )
    )


def version_of_artifact(
    session: Session, *, model_id: uuid.UUID, artifact_id: uuid.UUID
) -> ModelVersionRow | None:
    """The first version of the model that is ``artifact_id``."""
    return session.scalar(
        select(ModelVersionRow)
        .where(ModelVersionRow.model_id == model_id, ModelVersionRow.artifact_id == artifact_id)
        .order_by(ModelVersionRow.version)
        .limit(1)
    )


def count_versions(
    session: Session, model_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int | None]]:
    """For each model, how many versions it has and its newest version's number."""
    if not model_ids:
        return {}
    rows = session.execute(
        select(ModelVersionRow.model_id, func.count(), func.max(ModelVersionRow.version))
        .where(ModelVersionRow.model_id.in_(model_ids))
        .group_by(ModelVersionRow.model_id)
    )
    return {m: (n, top) for m, n, top in rows}


def aliases_of(
    session: Session, model_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ModelAliasRow]]:
    out: dict[uuid.UUID, list[ModelAliasRow]] = {m: [] for m in model_ids}
    if not model_ids:
        return out
    rows = session.scalars(
        select(ModelAliasRow)
        .where(ModelAliasRow.model_id.in_(model_ids))
        .order_by(ModelAliasRow.alias)
    )
    for row in rows:
        out[row.model_id].append(row)
    return out


def read_alias(
    session: Session, *, model_id: uuid.UUID, alias: str, lock: bool = False
) -> ModelAliasRow | None:
    query = select(ModelAliasRow).where(
        ModelAliasRow.model_id == model_id, ModelAliasRow.alias == alias
    )
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def next_event_seq(session: Session, *, model_id: uuid.UUID) -> int:
    top = session.scalar(
        select(func.max(ModelAliasEventRow.seq)).where(ModelAliasEventRow.model_id == model_id)
    )
    return (top or 0) + 1


def alias_events(
    session: Session,
    *,
    model_id: uuid.UUID,
    alias: str | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> list[ModelAliasEventRow]:
    """The model's alias changes in the order they were made (``alias``: of that alias only;
    ``until``: made at or before that time)."""
    query = select(ModelAliasEventRow).where(ModelAliasEventRow.model_id == model_id)
    if alias is not None:
        query = query.where(ModelAliasEventRow.alias == alias)
    if until is not None:
        query = query.where(ModelAliasEventRow.time <= until)
    order = ModelAliasEventRow.seq.desc() if newest_first else ModelAliasEventRow.seq
    query = query.order_by(order)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


# ---------------------------------------------------------------- what versions were made of


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


# Pages of versions are read with their ids as text, in the form the API shows them: making a
# ``uuid.UUID`` of each id of a thousand versions, and back into text, was most of a page's
# time. The statements are built once per dialect: building their expressions anew cost
# more than running them for one version.


@dataclass(frozen=True)
class _Statements:
    versions: Any
    artifacts: Any
    producers: Any
    inputs: Any
    metrics: Any


@functools.cache
def _statements(dialect: str) -> _Statements:
    def text(column: Any, label: str) -> Any:
        return dialects.id_text(dialect, column).label(label)

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
        versions=select(
            text(ModelVersionRow.id, "id"),
            ModelVersionRow.version,
            text(ModelVersionRow.artifact_id, "artifact_id"),
            ModelVersionRow.description,
            ModelVersionRow.tags,
            ModelVersionRow.create_time,
            ModelVersionRow.update_time,
            text(ModelVersionRow.created_by_id, "created_by_id"),
            ModelVersionRow.created_by_name,
            text(ModelVersionRow.updated_by_id, "updated_by_id"),
            ModelVersionRow.updated_by_name,
        )
        .where(
            dialects.equals(dialect, ModelVersionRow.model_id, "model", uuids=True),
            ModelVersionRow.version <= bindparam("upto"),
        )
        .order_by(ModelVersionRow.version.desc())
        .limit(bindparam("n")),
        artifacts=select(text(ArtifactRow.id, "id"), *summary).where(among(ArtifactRow.id)),
        producers=select(
            text(ExecutionOutputRow.artifact_id, "artifact_id"),
            text(ExecutionRow.id, "execution_id"),
            text(RunRow.id, "run_id"),
            RunRow.name.label("run_name"),
            RunRow.status.label("run_status"),
            text(RunRow.experiment_id, "experiment_id"),
        )
        .join(ExecutionRow, ExecutionRow.id == ExecutionOutputRow.execution_id)
        .join(RunRow, RunRow.id == ExecutionRow.run_id)
        .where(among(ExecutionOutputRow.artifact_id))
        # Newest first, so that the earliest producer is the one kept.
        .order_by(ExecutionRow.create_time.desc()),
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
            dialects.json_member(dialect, ArtifactRow.attributes, "value"),
        )
        .join(ArtifactRow, ArtifactRow.id == ArtifactReferenceRow.artifact_id)
        .where(among(ArtifactReferenceRow.target_id), ArtifactRow.kind == METRICS_KIND)
        .order_by(ArtifactRow.create_time, ArtifactRow.id),
    )


def _read(session: Session, which: str, ids: Sequence[str]) -> Any:
    dialect = _dialect(session)
    statement = getattr(_statements(dialect), which)
    return session.execute(statement, {"ids": dialects.id_values(dialect, ids)})


def artifacts_by_ids(session: Session, ids: Iterable[str]) -> dict[str, Any]:
    """Artifacts as versions show them (id, name, version, kind, uri, fingerprint), by id."""
    wanted = list(dict.fromkeys(ids))
    return {r.id: r for r in _read(session, "artifacts", wanted)} if wanted else {}


def producers_of(session: Session, artifact_ids: Iterable[str]) -> dict[str, Any]:
    """The first step (by creation) that wrote each artifact, with its run: rows of
    ``execution_id``, ``run_id``, ``run_name``, ``run_status``, ``experiment_id``."""
    wanted = list(dict.fromkeys(artifact_ids))
    return {r.artifact_id: r for r in _read(session, "producers", wanted)} if wanted else {}


def inputs_of(session: Session, execution_ids: Iterable[str]) -> dict[str, list[Any]]:
    """What each execution read, in the order it read it."""
    wanted = list(dict.fromkeys(execution_ids))
    out: dict[str, list[Any]] = {e: [] for e in wanted}
    if wanted:
        for row in _read(session, "inputs", wanted):
            out[row.execution_id].append(row)
    return out


def metrics_of(session: Session, artifact_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The metrics recorded of each artifact, name -> value (the newest of a name wins)."""
    wanted = list(dict.fromkeys(artifact_ids))
    out: dict[str, dict[str, Any]] = {a: {} for a in wanted}
    if wanted:
        for target, name, value in _read(session, "metrics", wanted):
            if value is not None:
                out[target][name] = orjson.loads(value)
    return out


def versions_of_artifacts(
    session: Session, artifact_ids: Iterable[uuid.UUID]
) -> list[tuple[str, int, uuid.UUID]]:
    """(model name, version, artifact id) of every version that is one of the artifacts."""
    wanted = list(dict.fromkeys(artifact_ids))
    if not wanted:
        return []
    rows = session.execute(
        select(RegisteredModelRow.name, ModelVersionRow.version, ModelVersionRow.artifact_id)
        .join(RegisteredModelRow, RegisteredModelRow.id == ModelVersionRow.model_id)
        .where(ModelVersionRow.artifact_id.in_(wanted))
        .order_by(RegisteredModelRow.name, ModelVersionRow.version)
    )
    return [(n, v, a) for n, v, a in rows]


def deployments_of_runs(
    session: Session, run_ids: Sequence[uuid.UUID], aliases: Iterable[str]
) -> list[tuple[uuid.UUID, str, ModelAliasEventRow]]:
    """(run, model name, change) for each time one of ``aliases`` was set or moved to a
    version whose artifact a step of one of the runs wrote, oldest first."""
    if not run_ids:
        return []
    rows = session.execute(
        select(ExecutionRow.run_id, RegisteredModelRow.name, ModelAliasEventRow)
        .join(RegisteredModelRow, RegisteredModelRow.id == ModelAliasEventRow.model_id)
        .join(
            ModelVersionRow,
            (ModelVersionRow.model_id == ModelAliasEventRow.model_id)
            & (ModelVersionRow.version == ModelAliasEventRow.to_version),
        )
        .join(ExecutionOutputRow, ExecutionOutputRow.artifact_id == ModelVersionRow.artifact_id)
        .join(ExecutionRow, ExecutionRow.id == ExecutionOutputRow.execution_id)
        .where(
            ModelAliasEventRow.alias.in_(list(aliases)),
            ModelAliasEventRow.action.in_(["set", "move"]),
            ExecutionRow.run_id.in_(list(run_ids)),
        )
        .order_by(ModelAliasEventRow.time, ModelAliasEventRow.seq)
    )
    return [(r, n, e) for r, n, e in rows]
