"""The artifact-kind registry (FR11, NFR2, Scenario 4.5): register, evolve, look up kinds."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modeltrail.domain import kinds as rules
from modeltrail.domain.errors import Conflict, NotFound, UnknownKind
from modeltrail.domain.models import Kind, KindCreate
from modeltrail.store.audit import actors as audit
from modeltrail.store.kinds import read_latest_kind
from modeltrail.store.listing import ensure_attribute_index
from modeltrail.store.tables import ArtifactRow, KindRow


def to_kind(row: KindRow) -> Kind:
    return Kind(
        name=row.name,
        version=row.version,
        description=row.description,
        schema=row.schema_,
        open=row.open,
        create_time=row.create_time,
        **audit(row),
    )


def read_kind(session: Session, name: str, version: int | None = None) -> Kind:
    row = (
        read_latest_kind(session, name)
        if version is None
        else session.get(KindRow, (name, version))
    )
    if row is None:
        raise NotFound(
            f"kind '{name}'" + (f" version {version}" if version else "") + " does not exist"
        )
    return to_kind(row)


def list_kinds(session: Session, *, all_versions: bool = False) -> list[Kind]:
    query = select(KindRow).order_by(KindRow.name, KindRow.version)
    if not all_versions:
        latest = (
            select(KindRow.name, func.max(KindRow.version).label("v"))
            .group_by(KindRow.name)
            .subquery()
        )
        query = query.join(
            latest, (KindRow.name == latest.c.name) & (KindRow.version == latest.c.v)
        )
    return [to_kind(r) for r in session.scalars(query)]


def register_kind(
    session: Session, data: KindCreate, *, open_kind: bool = False
) -> tuple[Kind, bool]:
    """Register a kind, or a new version of it. Returns the kind and whether it is new.

    Registering the schema the latest version already has is a no-op, so registration can be
    repeated at every start. A new version must accept every document the latest accepted.
    """
    rules.check_schema(data.schema_)
    latest = read_latest_kind(session, data.name)
    if latest is not None:
        if latest.schema_ == data.schema_ and latest.open == open_kind:
            if data.description and data.description != latest.description:
                latest.description = data.description
            _ensure_indexes(session, data.schema_)  # a database restored without them
            return to_kind(latest), False
        # An open kind was registered on the spot by a logging call; its first real schema
        # replaces that placeholder rather than evolving it. So does the schema of a version
        # that cannot validate anything (stored before references outside a schema were
        # refused): nothing could be written against it since.
        if not latest.open and rules.usable(latest.schema_):
            rules.check_compatible(latest.schema_, data.schema_)
    row = KindRow(
        name=data.name,
        version=(latest.version + 1) if latest else 1,
        description=data.description or (latest.description if latest else ""),
        schema_=data.schema_,
        open=open_kind,
    )
    session.add(row)
    session.flush()
    _ensure_indexes(session, data.schema_)
    return to_kind(row), True


def _ensure_indexes(session: Session, schema: dict[str, object]) -> None:
    for attribute in rules.indexed_properties(schema):
        ensure_attribute_index(session, attribute)


def kind_for_artifact(session: Session, name: str, *, strict: bool) -> KindRow:
    """The kind an artifact is validated against; an unknown kind is registered open unless
    the server is strict about kinds."""
    row = read_latest_kind(session, name)
    if row is not None:
        return row
    if strict:
        raise UnknownKind(
            f"kind '{name}' is not registered; register it first (modeltrail kinds register)",
            errors=[{"pointer": "/kind", "detail": f"unknown kind '{name}'"}],
        )
    register_kind(
        session,
        KindCreate(
            name=name,
            description="registered on first use (any attributes)",
            schema_=rules.OPEN_SCHEMA,
        ),
        open_kind=True,
    )
    found = read_latest_kind(session, name)
    assert found is not None
    return found


def delete_kind_version(session: Session, name: str, version: int) -> None:
    row = session.get(KindRow, (name, version))
    if row is None:
        raise NotFound(f"kind '{name}' version {version} does not exist")
    used = session.scalar(
        select(func.count()).where(ArtifactRow.kind == name, ArtifactRow.kind_version == version)
    )
    if used:
        raise Conflict(f"kind '{name}' version {version} is used by {used} artifact(s)")
    session.delete(row)


def register_builtin_kinds(session: Session) -> None:
    for spec in rules.builtin_kinds():
        register_kind(session, KindCreate.model_validate(spec))
