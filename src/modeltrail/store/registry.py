"""Readers of the model registry: a model by name, its versions, its aliases now and at a past
time, what a run's deployments were. A page of versions with what they were made of is
``version_pages``'s."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from modeltrail.store import scope
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutionOutputRow,
    ExecutionRow,
    ModelAliasEventRow,
    ModelAliasRow,
    ModelVersionRow,
    RegisteredModelRow,
)


def read_model(session: Session, *, name: str, lock: bool = False) -> RegisteredModelRow | None:
    """The registered model named ``name``; ``lock``: locked until the transaction ends, so
    that changes of one model's versions and aliases are made one at a time."""
    query = select(RegisteredModelRow).where(RegisteredModelRow.name == name)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def read_models(session: Session, names: Sequence[str]) -> list[RegisteredModelRow]:
    """The registered models named by ``names`` (a name of none is left out)."""
    if not names:
        return []
    query = select(RegisteredModelRow).where(RegisteredModelRow.name.in_(names))
    return list(session.scalars(query))


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


def readable_version(experiments: frozenset[uuid.UUID]) -> Any:
    """A condition on ``ModelVersionRow``: its artifact is of one of ``experiments`` (the
    rule of ``store.scope``, as for reading the artifact itself)."""
    clause = scope.readable_clause(ArtifactRow, experiments)
    return ModelVersionRow.artifact_id.in_(select(ArtifactRow.id).where(clause))


def readable_versions(
    session: Session, *, model_id: uuid.UUID, experiments: frozenset[uuid.UUID]
) -> set[int]:
    """The numbers of the model's versions whose artifact is of one of ``experiments``."""
    return set(
        session.scalars(
            select(ModelVersionRow.version).where(
                ModelVersionRow.model_id == model_id, readable_version(experiments)
            )
        )
    )


def with_readable_versions(experiments: frozenset[uuid.UUID]) -> Any:
    """A condition on ``RegisteredModelRow``: it has a version of one of ``experiments``."""
    return RegisteredModelRow.id.in_(
        select(ModelVersionRow.model_id).where(readable_version(experiments))
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


def versions_of_artifact(
    session: Session, *, artifact_id: uuid.UUID
) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """The versions that are ``artifact_id``, in every model: (version id, model id, model
    name), by model name, the newest version first."""
    query = (
        select(ModelVersionRow.id, RegisteredModelRow.id, RegisteredModelRow.name)
        .join(RegisteredModelRow, RegisteredModelRow.id == ModelVersionRow.model_id)
        .where(ModelVersionRow.artifact_id == artifact_id)
        .order_by(RegisteredModelRow.name, ModelVersionRow.version.desc())
    )
    return [(v, m, name) for v, m, name in session.execute(query)]


def count_versions(
    session: Session,
    model_ids: Sequence[uuid.UUID],
    experiments: frozenset[uuid.UUID] | None = None,
) -> dict[uuid.UUID, tuple[int, int | None]]:
    """For each model, how many versions it has and its newest version's number
    (``experiments``: of the versions whose artifact is of one of them)."""
    if not model_ids:
        return {}
    query = select(ModelVersionRow.model_id, func.count(), func.max(ModelVersionRow.version))
    if experiments is not None:
        query = query.where(readable_version(experiments))
    rows = session.execute(
        query.where(ModelVersionRow.model_id.in_(model_ids)).group_by(ModelVersionRow.model_id)
    )
    return {m: (n, top) for m, n, top in rows}


def aliases_of(
    session: Session,
    model_ids: Sequence[uuid.UUID],
    experiments: frozenset[uuid.UUID] | None = None,
) -> dict[uuid.UUID, list[ModelAliasRow]]:
    """Each model's aliases by name (``experiments``: those pointing at no version or at
    one whose artifact is of one of them)."""
    out: dict[uuid.UUID, list[ModelAliasRow]] = {m: [] for m in model_ids}
    if not model_ids:
        return out
    query = select(ModelAliasRow).where(ModelAliasRow.model_id.in_(model_ids))
    if experiments is not None:
        query = query.outerjoin(
            ModelVersionRow,
            (ModelVersionRow.model_id == ModelAliasRow.model_id)
            & (ModelVersionRow.version == ModelAliasRow.version),
        ).where(ModelAliasRow.version.is_(None) | readable_version(experiments))
    rows = session.scalars(query.order_by(ModelAliasRow.alias))
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
    versions: set[int] | None = None,
) -> list[ModelAliasEventRow]:
    """The model's alias changes in the order they were made (``alias``: of that alias only;
    ``until``: made at or before that time; ``versions``: those from and to no version or
    one of these)."""
    query = select(ModelAliasEventRow).where(ModelAliasEventRow.model_id == model_id)
    if versions is not None:
        among = sorted(versions)
        query = query.where(
            ModelAliasEventRow.from_version.is_(None) | ModelAliasEventRow.from_version.in_(among),
            ModelAliasEventRow.to_version.is_(None) | ModelAliasEventRow.to_version.in_(among),
        )
    if alias is not None:
        query = query.where(ModelAliasEventRow.alias == alias)
    if until is not None:
        query = query.where(ModelAliasEventRow.time <= until)
    order = ModelAliasEventRow.seq.desc() if newest_first else ModelAliasEventRow.seq
    query = query.order_by(order)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


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


def alias_moves_onto_outputs(*columns: Any, aliases: Iterable[str]) -> Select[Any]:
    """``columns`` of each time one of ``aliases`` was set or moved to a version whose artifact
    a step wrote, joined to that step's execution: a deployment of what a run made."""
    return (
        select(*columns)
        .select_from(ModelAliasEventRow)
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
        )
    )


def deployments_of_runs(
    session: Session, run_ids: Sequence[uuid.UUID], aliases: Iterable[str]
) -> list[tuple[uuid.UUID, str, ModelAliasEventRow]]:
    """(run, model name, change) for each time one of ``aliases`` was set or moved to a
    version whose artifact a step of one of the runs wrote, oldest first."""
    if not run_ids:
        return []
    rows = session.execute(
        alias_moves_onto_outputs(
            ExecutionRow.run_id, RegisteredModelRow.name, ModelAliasEventRow, aliases=aliases
        )
        .join(RegisteredModelRow, RegisteredModelRow.id == ModelAliasEventRow.model_id)
        .where(ExecutionRow.run_id.in_(list(run_ids)))
        .order_by(ModelAliasEventRow.time, ModelAliasEventRow.seq)
    )
    return [(r, n, e) for r, n, e in rows]
