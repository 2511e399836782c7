"""Registered models: create, read, search, change (and rename), delete."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modeltrail.domain import limits
from modeltrail.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from modeltrail.domain.models import Page
from modeltrail.domain.registry import (
    RegisteredModel,
    RegisteredModelCreate,
    RegisteredModelUpdate,
    check_model_name,
    model_name_problem,
)
from modeltrail.services.access import require_global_writer, scope_of
from modeltrail.store import registry as store
from modeltrail.store.audit import actors as audit
from modeltrail.store.dialect import json_text
from modeltrail.store.tables import ModelAliasRow, ModelVersionRow, RegisteredModelRow, utcnow


def model_missing(name: str) -> NotFound:
    return NotFound(f"no model is registered as '{name}'", entity="model", name=name)


def version_missing(name: str, version: int) -> NotFound:
    return NotFound(
        f"model '{name}' has no version {version}", entity="model version", version=version
    )


def check_tag_key(key: str) -> str:
    if not key or len(key) > limits.MAX_NAME or "\x00" in key:
        detail = f"a tag's key has 1 to {limits.MAX_NAME} characters, none of them NUL"
        raise InvalidInput(detail, errors=[{"pointer": "/key", "detail": detail}])
    return key


def set_tag(
    row: RegisteredModelRow | ModelVersionRow, key: str, value: str, *, holder: str
) -> None:
    """Give ``row``, a model or a version (``holder`` in the refusal), the tag ``key``, within
    the limit of tags one may have."""
    tags = dict(row.tags or {})
    if key not in tags and len(tags) >= limits.MAX_ANNOTATIONS:
        raise InvalidInput(
            f"a {holder} has at most {limits.MAX_ANNOTATIONS} tags",
            errors=[{"pointer": "/key", "detail": "too many tags"}],
        )
    tags[key] = value
    row.tags = tags
    row.update_time = utcnow()


def remove_tag(row: RegisteredModelRow | ModelVersionRow, key: str, missing: NotFound) -> None:
    """Take the tag ``key`` from ``row``, a model or a version; ``missing`` where it has none."""
    tags = dict(row.tags or {})
    if key not in tags:
        raise missing
    del tags[key]
    row.tags = tags
    row.update_time = utcnow()


def _readable(session: Session) -> frozenset[uuid.UUID] | None:
    scope = scope_of(session)
    return None if scope is None else scope.readable


def _model_writer(session: Session, what: str) -> None:
    """A registered model's name, description and tags belong to no experiment: changing
    them needs the global writer role."""
    require_global_writer(scope_of(session), what)


def get_model_row(session: Session, name: str, *, lock: bool = False) -> RegisteredModelRow:
    if model_name_problem(name) is not None:
        raise model_missing(name[: limits.MAX_NAME].replace("\x00", "\\0"))
    row = store.read_model(session, name=name, lock=lock)
    if row is None:
        raise model_missing(name)
    return row


def to_models(session: Session, rows: list[RegisteredModelRow]) -> list[RegisteredModel]:
    """The models as the API shows them; for a token with grants on single experiments,
    with the count, newest version and aliases of the versions it may read."""
    ids = [r.id for r in rows]
    experiments = _readable(session)
    counts = store.count_versions(session, ids, experiments)
    aliases = store.aliases_of(session, ids, experiments)
    out = []
    for row in rows:
        count, latest = counts.get(row.id, (0, None))
        out.append(
            RegisteredModel(
                id=row.id,
                name=row.name,
                description=row.description,
                tags=dict(row.tags or {}),
                create_time=row.create_time,
                update_time=row.update_time,
                latest_version=latest,
                versions=count,
                aliases={a.alias: a.version for a in aliases[row.id] if a.version is not None},
                protected_aliases=[a.alias for a in aliases[row.id] if a.protected],
                **audit(row),
            )
        )
    return out


def create_model(session: Session, data: RegisteredModelCreate) -> RegisteredModel:
    """A new registered model; 409 if the name is taken."""
    _model_writer(session, "registering a model by name")
    if store.read_model(session, name=data.name) is not None:
        raise Conflict(
            f"a model named '{data.name}' is already registered",
            errors=[{"pointer": "/name", "detail": "name already registered"}],
        )
    now = utcnow()
    row = RegisteredModelRow(
        name=data.name,
        description=data.description,
        tags=dict(data.tags),
        last_version=0,
        create_time=now,
        update_time=now,
    )
    session.add(row)
    session.flush()
    return to_models(session, [row])[0]


def ensure_model(session: Session, name: str) -> RegisteredModelRow:
    """The model named ``name``, registered now if it was not (locked either way)."""
    row = store.read_model(session, name=name, lock=True)
    if row is not None:
        return row
    check_model_name(name)
    now = utcnow()
    row = RegisteredModelRow(
        name=name, description=None, tags={}, last_version=0, create_time=now, update_time=now
    )
    session.add(row)
    session.flush()
    return row


def read_model(session: Session, name: str) -> RegisteredModel:
    """The model named ``name``; 404 also for one with no version the request may read."""
    row = get_model_row(session, name)
    model = to_models(session, [row])[0]
    if _readable(session) is not None and not model.versions:
        raise model_missing(name)
    return model


def update_model(session: Session, name: str, data: RegisteredModelUpdate) -> RegisteredModel:
    """Change a model's description or tags, or rename it (``data.name``): its versions,
    aliases and their history stay with it."""
    _model_writer(session, "changing a registered model")
    row = get_model_row(session, name, lock=True)
    changes = data.model_dump(exclude_unset=True)
    new_name = changes.pop("name", None)
    if new_name is not None and new_name != row.name:
        if store.read_model(session, name=new_name) is not None:
            raise Conflict(
                f"cannot rename '{name}' to '{new_name}': that name is already registered",
                errors=[{"pointer": "/name", "detail": "name already registered"}],
            )
        row.name = new_name
    for field, value in changes.items():
        setattr(row, field, dict(value) if field == "tags" else value)
    row.update_time = utcnow()
    session.flush()
    return to_models(session, [row])[0]


def rename_model(session: Session, name: str, new_name: str) -> RegisteredModel:
    return update_model(session, name, RegisteredModelUpdate(name=new_name))


def set_model_tag(session: Session, name: str, key: str, value: str) -> RegisteredModel:
    check_tag_key(key)
    _model_writer(session, "changing a registered model's tags")
    row = get_model_row(session, name, lock=True)
    set_tag(row, key, value, holder="model")
    session.flush()
    return to_models(session, [row])[0]


def delete_model_tag(session: Session, name: str, key: str) -> RegisteredModel:
    _model_writer(session, "changing a registered model's tags")
    row = get_model_row(session, name, lock=True)
    remove_tag(row, key, NotFound(f"model '{name}' has no tag '{key}'", entity="tag", name=key))
    session.flush()
    return to_models(session, [row])[0]


def delete_model(session: Session, name: str, *, deployer: bool) -> list[uuid.UUID]:
    """Delete a model with its versions, aliases and their history (the artifacts stay), and
    answer the artifacts its versions were. While a protected alias points at one of its
    versions, only a deployer may."""
    _model_writer(session, "deleting a registered model")
    row = get_model_row(session, name, lock=True)
    held = session.scalars(
        select(ModelAliasRow.alias).where(
            ModelAliasRow.model_id == row.id,
            ModelAliasRow.protected.is_(True),
            ModelAliasRow.version.is_not(None),
        )
    ).all()
    if held and not deployer:
        raise Forbidden(
            f"model '{name}' has protected aliases ({', '.join(held)}): deleting it needs the "
            "deployer or admin role",
            errors=[{"pointer": "/", "detail": "protected aliases point at its versions"}],
        )
    artifacts = list(
        session.scalars(
            select(ModelVersionRow.artifact_id)
            .where(ModelVersionRow.model_id == row.id)
            .order_by(ModelVersionRow.version)
        )
    )
    session.delete(row)
    session.flush()
    return artifacts


# ---------------------------------------------------------------- search


def _cursor(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")


def _after(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput(
            "the cursor is not one this server issued",
            errors=[{"pointer": "/cursor", "in": "query", "detail": "not a cursor"}],
        ) from None


def search_models(
    session: Session,
    *,
    name_contains: str | None = None,
    tags: Mapping[str, str] | None = None,
    limit: int = limits.DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> Page[RegisteredModel]:
    """Models in the order of their names: those whose name contains ``name_contains``
    (whatever its case) and that carry every tag of ``tags`` (and, for a token with grants
    on single experiments, that have a version it may read)."""
    query = select(RegisteredModelRow)
    experiments = _readable(session)
    if experiments is not None:
        query = query.where(store.with_readable_versions(experiments))
    if name_contains:
        query = query.where(
            func.lower(RegisteredModelRow.name).contains(name_contains.lower(), autoescape=True)
        )
    dialect = session.get_bind().dialect.name
    for key, value in (tags or {}).items():
        query = query.where(json_text(dialect, RegisteredModelRow.tags, (key,)) == value)
    if cursor is not None:
        query = query.where(RegisteredModelRow.name > _after(cursor))
    rows = list(session.scalars(query.order_by(RegisteredModelRow.name).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(
        items=to_models(session, rows),
        next_cursor=_cursor(rows[-1].name) if more and rows else None,
    )
