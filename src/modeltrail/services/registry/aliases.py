"""Aliases: set, move, remove and protect them, each change kept; where an alias pointed at
any time; references (``models:/NAME@ALIAS``, ``models:/NAME/3``) resolved to versions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from modeltrail.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from modeltrail.domain.models import Actor
from modeltrail.domain.registry import (
    Alias,
    AliasAction,
    AliasEvent,
    AliasProtection,
    AliasSet,
    ModelRef,
    check_alias,
)
from modeltrail.services.registry import visible
from modeltrail.services.registry.models import get_model_row, version_missing
from modeltrail.services.registry.versions import newest_version, version_document
from modeltrail.store import registry as store
from modeltrail.store.audit import actor_of
from modeltrail.store.tables import (
    ModelAliasEventRow,
    ModelAliasRow,
    RegisteredModelRow,
    utcnow,
)

DEFAULT_HISTORY = 1000


def _actor(actor_id: uuid.UUID | None, name: str | None) -> Actor | None:
    return None if name is None else Actor(name=name, id=actor_id)


def to_alias(model: RegisteredModelRow, row: ModelAliasRow) -> Alias:
    return Alias(
        model=model.name,
        alias=row.alias,
        version=row.version,
        protected=row.protected,
        update_time=row.update_time,
        updated_by=_actor(row.updated_by_id, row.updated_by_name),
        reason=row.reason,
    )


def to_event(model_name: str, row: ModelAliasEventRow) -> AliasEvent:
    return AliasEvent(
        id=row.id,
        model=model_name,
        alias=row.alias,
        action=AliasAction(row.action),
        from_version=row.from_version,
        to_version=row.to_version,
        time=row.time,
        actor=_actor(row.actor_id, row.actor_name),
        reason=row.reason,
        protected=row.protected,
    )


def _refuse_unless_deployer(model: RegisteredModelRow, alias: str, deployer: bool) -> None:
    if not deployer:
        raise Forbidden(
            f"alias '{alias}' of model '{model.name}' is protected: only a token with the "
            "deployer or admin role may change it",
            errors=[{"pointer": "/alias", "detail": "protected alias"}],
            required="deployer",
        )


def _record(
    session: Session,
    model: RegisteredModelRow,
    row: ModelAliasRow,
    action: AliasAction,
    before: int | None,
    reason: str | None,
) -> AliasEvent:
    actor = actor_of(session)
    now = utcnow()
    # The alias's own time, actor and reason are those of where it points: protecting it
    # (or lifting that) is in its history and leaves them, so a move's reason stays shown.
    if action not in (AliasAction.PROTECT, AliasAction.UNPROTECT):
        row.update_time = now
        row.updated_by_id = actor.id if actor else None
        row.updated_by_name = actor.name if actor else None
        row.reason = reason
    event = ModelAliasEventRow(
        id=uuid.uuid4(),
        model_id=model.id,
        alias=row.alias,
        action=action.value,
        from_version=before,
        to_version=row.version,
        protected=row.protected,
        seq=store.next_event_seq(session, model_id=model.id),
        time=now,
        actor_id=actor.id if actor else None,
        actor_name=actor.name if actor else None,
        reason=reason,
    )
    session.add(event)
    session.flush()
    return to_event(model.name, event)


def _target_version(session: Session, model: RegisteredModelRow, value: int | str) -> int:
    """The version ``value`` names within ``model``: a number, or a reference to a version
    of this model (``models:/NAME/3``, ``models:/NAME@champion``); of the versions the
    request may read."""
    seen = visible.visible_versions(session, model)
    if isinstance(value, str):
        if value.isascii() and value.isdigit() and len(value) <= 10:
            value = int(value)
        else:
            ref = ModelRef.parse(value, pointer="/version")
            if ref.name != model.name:
                raise Conflict(
                    f"{value} is a version of model '{ref.name}', not of '{model.name}': an "
                    "alias points at a version of its own model",
                    errors=[{"pointer": "/version", "detail": "a version of another model"}],
                )
            if ref.alias is not None:
                found = store.read_alias(session, model_id=model.id, alias=ref.alias)
                if found is None or not visible.sees(seen, found.version):
                    raise InvalidInput(
                        f"alias '{ref.alias}' of '{model.name}' points at no version",
                        errors=[{"pointer": "/version", "detail": "alias points nowhere"}],
                    )
                assert found.version is not None
                return found.version
            if ref.version is None:
                try:
                    return newest_version(session, model, seen)
                except NotFound:
                    raise InvalidInput(
                        f"model '{model.name}' has no versions yet",
                        errors=[{"pointer": "/version", "detail": "no versions"}],
                    ) from None
            value = ref.version
    if not visible.sees(seen, value) or (
        seen is None and store.read_version(session, model_id=model.id, version=value) is None
    ):
        raise visible.no_such_target(model, value)
    return value


def _require_movable(
    session: Session,
    model: RegisteredModelRow,
    alias: str,
    current: int,
    *,
    missing: Exception | None = None,
) -> None:
    """Refuse to move ``alias`` away from ``current`` unless the request may write that
    version: whoever follows the alias follows a version of that experiment. ``missing``:
    what to answer where the request may not even read it (by default a 403 that names
    no version)."""
    refused = Forbidden(
        f"alias '{alias}' of model '{model.name}' points at a version of an experiment this "
        "token may not write; nothing was written",
        errors=[
            {"pointer": "/alias", "detail": "points at a version not writable with this token"}
        ],
    )
    visible.require_writable_version(
        session, model, current, pointer="/alias", missing=missing or refused
    )


def set_alias(
    session: Session, name: str, alias: str, data: AliasSet, *, deployer: bool
) -> tuple[Alias, AliasEvent | None]:
    """Point ``alias`` at a version (set it, or move it). A protected alias needs
    ``deployer``. Setting it where it already points changes nothing (no event)."""
    check_alias(alias)
    model, _ = visible.seen_model(session, name, lock=True)
    version = _target_version(session, model, data.version)
    visible.require_writable_version(
        session, model, version, pointer="/version", missing=visible.no_such_target(model, version)
    )
    row = store.read_alias(session, model_id=model.id, alias=alias, lock=True)
    if row is not None and row.protected:
        _refuse_unless_deployer(model, alias, deployer)
    if row is not None and row.version is not None and row.version != version:
        _require_movable(session, model, alias, row.version)
    if row is not None and row.version == version:
        return to_alias(model, row), None
    before = row.version if row is not None else None
    if row is None:
        row = ModelAliasRow(model_id=model.id, alias=alias, protected=False)
        session.add(row)
    row.version = version
    action = AliasAction.SET if before is None else AliasAction.MOVE
    event = _record(session, model, row, action, before, data.reason)
    return to_alias(model, row), event


def remove_alias(
    session: Session, name: str, alias: str, *, reason: str | None = None, deployer: bool
) -> AliasEvent:
    """Make ``alias`` point at nothing. A protected alias needs ``deployer`` and keeps its
    protection for when it is set again."""
    check_alias(alias)
    model, _ = visible.seen_model(session, name, lock=True)
    row = store.read_alias(session, model_id=model.id, alias=alias, lock=True)
    missing = NotFound(f"model '{name}' has no alias '{alias}'", entity="alias", alias=alias)
    if row is None or row.version is None:
        raise missing
    if row.protected:
        _refuse_unless_deployer(model, alias, deployer)
    _require_movable(session, model, alias, row.version, missing=missing)
    before = row.version
    row.version = None
    event = _record(session, model, row, AliasAction.REMOVE, before, reason)
    if not row.protected:
        session.delete(row)
        session.flush()
    return event


def protect_alias(
    session: Session, name: str, alias: str, data: AliasProtection, *, deployer: bool
) -> tuple[Alias, AliasEvent | None]:
    """Protect an alias (only a deployer or an admin may then change it) or lift that; an
    alias not set yet may be protected ahead of its first use. Either needs ``deployer``."""
    check_alias(alias)
    model = get_model_row(session, name, lock=True)
    _refuse_unless_deployer(model, alias, deployer)
    row = store.read_alias(session, model_id=model.id, alias=alias, lock=True)
    if row is None:
        if not data.protected:
            raise NotFound(f"model '{name}' has no alias '{alias}'", entity="alias")
        row = ModelAliasRow(model_id=model.id, alias=alias, version=None, protected=False)
        session.add(row)
    if row.protected == data.protected:
        return to_alias(model, row), None
    row.protected = data.protected
    action = AliasAction.PROTECT if data.protected else AliasAction.UNPROTECT
    event = _record(session, model, row, action, row.version, data.reason)
    alias_now = to_alias(model, row)
    if row.version is None and not row.protected:
        session.delete(row)
        session.flush()
    return alias_now, event


# ---------------------------------------------------------------- reading


def _aliases_at(
    session: Session, model: RegisteredModelRow, at: datetime, alias: str | None = None
) -> dict[str, Alias]:
    """Each alias as the last change at or before ``at`` left it."""
    state: dict[str, Alias] = {}
    for e in store.alias_events(session, model_id=model.id, alias=alias, until=at):
        state[e.alias] = Alias(
            model=model.name,
            alias=e.alias,
            version=e.to_version,
            protected=e.protected,
            update_time=e.time,
            updated_by=_actor(e.actor_id, e.actor_name),
            reason=e.reason,
        )
    return state


def list_aliases(session: Session, name: str, *, at: datetime | None = None) -> list[Alias]:
    """The model's aliases now, or (``at``) as they were then; with the protected aliases
    that point at nothing."""
    model, seen = visible.seen_model(session, name)
    if at is None:
        experiments = visible.readable_experiments(session)
        return [
            to_alias(model, r) for r in store.aliases_of(session, [model.id], experiments)[model.id]
        ]
    state = _aliases_at(session, model, at)
    return [
        state[k]
        for k in sorted(state)
        if visible.sees(seen, state[k].version) or (state[k].version is None and state[k].protected)
    ]


def read_alias(
    session: Session,
    name: str,
    alias: str,
    *,
    at: datetime | None = None,
    previous: bool = True,
) -> Alias:
    """Where ``alias`` points now, or pointed at time ``at`` (``previous``: with the version
    it pointed at before); 404 when it pointed nowhere."""
    check_alias(alias)
    model, seen = visible.seen_model(session, name)
    return _read_alias(session, model, alias, at=at, previous=previous, seen=seen)


def _read_alias(
    session: Session,
    model: RegisteredModelRow,
    alias: str,
    *,
    at: datetime | None,
    previous: bool,
    seen: set[int] | None,
) -> Alias:
    """``read_alias`` of ``model``, of the versions ``seen`` (None: all)."""
    name = model.name
    if at is None:
        row = store.read_alias(session, model_id=model.id, alias=alias)
        found = to_alias(model, row) if row is not None else None
    else:
        found = _aliases_at(session, model, at, alias).get(alias)
    if previous and found is not None and found.version is not None:
        events = store.alias_events(
            session, model_id=model.id, alias=alias, until=at, newest_first=True
        )
        found.previous_version = _previous(found.version, events, seen)
    if found is None or not visible.sees(seen, found.version):
        when = f" at {at.isoformat()}" if at is not None else ""
        raise NotFound(
            f"alias '{alias}' of model '{name}' pointed at no version{when}"
            if at is not None
            else f"model '{name}' has no alias '{alias}'",
            entity="alias",
            alias=alias,
        )
    return found


def alias_history(
    session: Session, name: str, *, alias: str | None = None, limit: int = DEFAULT_HISTORY
) -> list[AliasEvent]:
    """The changes of the model's aliases (or of one), newest first; for a token with grants
    on single experiments, the changes from and to versions it may read."""
    if alias is not None:
        check_alias(alias)
    model, seen = visible.seen_model(session, name)
    rows = store.alias_events(
        session, model_id=model.id, alias=alias, limit=limit, newest_first=True, versions=seen
    )
    return [to_event(model.name, r) for r in rows]


def _previous(
    current: int, newest_first: list[ModelAliasEventRow], seen: set[int] | None
) -> int | None:
    """The last version other than ``current`` that the alias pointed at (it may have been
    removed in between) of those ``seen`` (None: all), from its changes newest first."""
    for e in newest_first:
        for version in (e.from_version, e.to_version):
            if version is not None and version != current and visible.sees(seen, version):
                return version
    return None


def resolve(
    session: Session, ref: ModelRef | str, *, at: datetime | None = None, metrics: bool = True
) -> dict[str, Any]:
    """The version a reference names, as the API shows it (``ModelVersion``'s JSON form):
    ``models:/NAME@ALIAS`` (where the alias points, or pointed at time ``at``),
    ``models:/NAME/3``, ``models:/NAME`` (the newest version)."""
    if isinstance(ref, str):
        ref = ModelRef.parse(ref)
    model, seen = visible.seen_model(session, ref.name)
    if ref.alias is not None:
        check_alias(ref.alias)
        version = _read_alias(session, model, ref.alias, at=at, previous=False, seen=seen).version
        assert version is not None
    elif ref.version is not None:
        version = ref.version
        if not visible.sees(seen, version):
            raise version_missing(model.name, version)
    else:
        version = newest_version(session, model, seen)
    return version_document(session, model, version, metrics=metrics)
