"""Artifacts of every kind: validated against their kind, fingerprinted, related."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from modeltrail.domain import kinds as rules
from modeltrail.domain.errors import InvalidInput
from modeltrail.domain.fingerprint import artifact_fingerprint
from modeltrail.domain.models import Artifact, ArtifactCreate, ArtifactUpdate
from modeltrail.services import access
from modeltrail.services.common import refuse_if_referenced
from modeltrail.services.entities.crud import Service
from modeltrail.services.kinds import kind_for_artifact
from modeltrail.store import registry
from modeltrail.store.fields import entity_fields
from modeltrail.store.kinds import read_latest_kind
from modeltrail.store.rows import new_row
from modeltrail.store.tables import (
    ArtifactReferenceRow,
    ArtifactRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    ExperimentRow,
    FlagRow,
    KindRow,
    RunRow,
)


def _produced_in_runs(ids: list[uuid.UUID]) -> Any:
    return ArtifactRow.id.in_(
        select(ExecutionOutputRow.artifact_id)
        .join(ExecutionRow, ExecutionRow.id == ExecutionOutputRow.execution_id)
        .where(ExecutionRow.run_id.in_(ids))
    )


def _in_runs(ids: list[uuid.UUID]) -> Any:
    """Artifacts a run read or wrote, and the events that triggered it."""
    used = (
        select(ExecutionInputRow.artifact_id)
        .join(ExecutionRow, ExecutionRow.id == ExecutionInputRow.execution_id)
        .where(ExecutionRow.run_id.in_(ids))
    )
    events = select(RunRow.event_id).where(RunRow.id.in_(ids))
    return or_(_produced_in_runs(ids), ArtifactRow.id.in_(used), ArtifactRow.id.in_(events))


def _in_experiments(ids: list[uuid.UUID]) -> Any:
    return _in_runs(select(RunRow.id).where(RunRow.experiment_id.in_(ids)))  # type: ignore[arg-type]


# Beyond its columns: the runs, experiments and executions it is related to, the artifacts it
# refers to, and its kind's attributes by their own names.
ARTIFACT_FIELDS = replace(
    entity_fields(ArtifactRow),
    default_document="attributes",
    relations={
        "run": _in_runs,
        "experiment": _in_experiments,
        "producedBy": lambda ids: ArtifactRow.id.in_(
            select(ExecutionOutputRow.artifact_id).where(ExecutionOutputRow.execution_id.in_(ids))
        ),
        "consumedBy": lambda ids: ArtifactRow.id.in_(
            select(ExecutionInputRow.artifact_id).where(ExecutionInputRow.execution_id.in_(ids))
        ),
        "references": lambda ids: ArtifactRow.id.in_(
            select(ArtifactReferenceRow.artifact_id).where(ArtifactReferenceRow.target_id.in_(ids))
        ),
    },
    named={
        "run": RunRow,
        "experiment": ExperimentRow,
        "producedBy": ExecutionRow,
        "consumedBy": ExecutionRow,
        "references": ArtifactRow,
    },
    kind_column=ArtifactRow.kind,
)


def _fingerprint(
    artifact_id: uuid.UUID | None,
    name: str,
    version: str,
    kind: str,
    description: str | None,
    uri: str | None,
    annotations: dict[str, str],
    attributes: dict[str, Any],
) -> str:
    return artifact_fingerprint(
        id=artifact_id,
        name=name,
        version=version,
        kind=kind,
        description=description,
        uri=uri,
        annotations=annotations,
        attributes=attributes,
    )


def _validated_references(
    session: Session, kind: KindRow, attributes: dict[str, Any]
) -> dict[str, uuid.UUID]:
    """Validate the attributes against the kind; return the reference attributes as ids."""
    rules.validate_attributes(kind.name, kind.version, kind.schema_, attributes)
    refs: dict[str, uuid.UUID] = {}
    for prop in rules.reference_properties(kind.schema_):
        value = attributes.get(prop)
        if value is None:
            continue
        pointer = f"/attributes/{prop}"
        try:
            target = uuid.UUID(str(value))
        except ValueError:
            raise InvalidInput(
                f"attribute '{prop}' must be an artifact id",
                errors=[{"pointer": pointer, "detail": "not a UUID"}],
            ) from None
        if session.get(ArtifactRow, target) is None:
            raise InvalidInput(
                f"attribute '{prop}' refers to artifact {target}, which does not exist",
                errors=[{"pointer": pointer, "detail": f"artifact {target} does not exist"}],
            )
        refs[prop] = target
    return refs


# What decides about attributes before the write transaction opens: a kind's name (a create)
# or an artifact's id (an update, validated against the newest version of its kind).
KindKey = str | uuid.UUID


def kinds_of(session: Session, keys: list[KindKey]) -> dict[KindKey, tuple[str, int, Any]]:
    """The newest version (name, version, schema) of each kind named, and of the kind of each
    artifact whose id is given; left out when there is none (the write then answers)."""
    found: dict[KindKey, tuple[str, int, Any]] = {}
    for key in dict.fromkeys(keys):
        if isinstance(key, uuid.UUID):
            name = session.scalar(select(ArtifactRow.kind).where(ArtifactRow.id == key))
        else:
            name = key
        row = read_latest_kind(session, name) if name is not None else None
        if row is not None:
            found[key] = (row.name, row.version, row.schema_)
    return found


def check_attributes(kind: tuple[str, int, Any] | None, attributes: Any) -> None:
    """Validate attributes against a kind read by ``kinds_of``, before the write transaction
    opens; the write finds them checked (see ``rules.budget``) and does not check them again."""
    if kind is not None and attributes is not None:
        rules.validate_attributes(*kind, attributes)


def _reference_rows(artifact_id: uuid.UUID, refs: dict[str, uuid.UUID]) -> list[Any]:
    return [
        ArtifactReferenceRow(artifact_id=artifact_id, attribute=k, target_id=v)
        for k, v in refs.items()
    ]


def _change(
    session: Session, row: ArtifactRow, changes: dict[str, Any], data: ArtifactUpdate
) -> None:
    """Changed attributes are validated against the newest version of the kind, and their
    references rewritten; a new revision only where the fingerprint changes."""
    if not changes:
        return
    if "attributes" not in changes:
        access.check_artifact(session, row.id, {})
    if "attributes" in changes:
        kind = read_latest_kind(session, row.kind)
        assert kind is not None
        # ``data.attributes`` itself, not the dump's copy: checked already if it was checked
        # before the transaction opened.
        assert data.attributes is not None  # the model refuses null for them
        refs = _validated_references(session, kind, data.attributes)
        access.check_artifact(session, row.id, refs)
        row.kind_version = kind.version
        session.execute(
            delete(ArtifactReferenceRow).where(ArtifactReferenceRow.artifact_id == row.id)
        )
        session.add_all(_reference_rows(row.id, refs))
    for field, value in changes.items():
        setattr(row, field, value)
    fingerprint = _fingerprint(
        row.id,
        row.name,
        row.version,
        row.kind,
        row.description,
        row.uri,
        row.annotations,
        row.attributes,
    )
    if fingerprint != row.fingerprint:
        row.fingerprint = fingerprint
        row.revision += 1


SERVICE: Service[Artifact] = Service("artifact", fields=ARTIFACT_FIELDS, change=_change)


def create_artifact(
    session: Session, data: ArtifactCreate, *, strict_kinds: bool = False
) -> tuple[Artifact, bool]:
    artifact_id = data.id or uuid.uuid4()
    fingerprint = _fingerprint(
        artifact_id,
        data.name,
        data.version,
        data.kind,
        data.description,
        data.uri,
        data.annotations,
        data.attributes,
    )
    stored = SERVICE.retried(session, data, equal=lambda r: r.fingerprint == fingerprint)
    if stored is not None:
        return stored, False
    kind = kind_for_artifact(session, data.kind, strict=strict_kinds)
    refs = _validated_references(session, kind, data.attributes)
    access.check_artifact(session, None, refs)
    row = ArtifactRow(
        **new_row(
            "artifact", data, id=artifact_id, kind_version=kind.version, fingerprint=fingerprint
        )
    )
    session.add(row)
    if refs:
        session.flush()  # the artifact's row goes first: the references point to it
        session.add_all(_reference_rows(row.id, refs))
    session.flush()
    access.note_created(session, row.id)
    return SERVICE.to_model(session, row), True


def artifact_referrers(session: Session, artifact_id: uuid.UUID) -> dict[str, list[Any]]:
    return {
        "producedBy": list(
            session.scalars(
                select(ExecutionOutputRow.execution_id).where(
                    ExecutionOutputRow.artifact_id == artifact_id
                )
            )
        ),
        "consumedBy": list(
            session.scalars(
                select(ExecutionInputRow.execution_id).where(
                    ExecutionInputRow.artifact_id == artifact_id
                )
            )
        ),
        "triggeredRuns": list(
            session.scalars(select(RunRow.id).where(RunRow.event_id == artifact_id))
        ),
        "referencedBy": list(
            session.scalars(
                select(ArtifactReferenceRow.artifact_id).where(
                    ArtifactReferenceRow.target_id == artifact_id
                )
            )
        ),
        "registeredAs": [
            f"models:/{name}/{version}"
            for name, version, _ in registry.versions_of_artifacts(session, [artifact_id])
        ],
    }


def delete_artifact(session: Session, artifact_id: uuid.UUID) -> None:
    row = SERVICE.get(session, artifact_id)
    refuse_if_referenced("artifact", artifact_id, artifact_referrers(session, artifact_id))
    session.execute(delete(FlagRow).where(FlagRow.artifact_id == artifact_id))
    session.delete(row)
