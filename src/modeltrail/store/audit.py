"""Who wrote a row: the audit columns of every entity and kind, set when a session flushes.

A writing session carries its writer in ``session.info[ACTOR]`` (set by the services'
``Metadata`` from the request's token); every row it creates gets ``created_by_*`` and
``updated_by_*``, every row whose content it changes gets ``updated_by_*``. Setting the columns
at flush covers each write path at once (single writes, the thesis's API, importers, the
batch's ordinary path); the batch's bulk inserts, which bypass the ORM, take ``columns``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

from modeltrail.domain.models import Actor
from modeltrail.store.tables import Audited, Entity

ACTOR = "modeltrail.actor"


def actor_of(session: Session) -> Actor | None:
    """Who the session writes for (None: nobody is recorded)."""
    actor: Actor | None = session.info.get(ACTOR)
    return actor


def actors(row: Any) -> dict[str, Actor | None]:
    """A row's audit columns (an ORM row, or a row's values) as the read models'
    ``created_by`` and ``updated_by``."""
    get = row.__getitem__ if isinstance(row, dict) else row.__getattribute__
    return {
        "created_by": actor(get("created_by_id"), get("created_by_name")),
        "updated_by": actor(get("updated_by_id"), get("updated_by_name")),
    }


def actor(actor_id: Any, name: str | None) -> Actor | None:
    """The writer recorded in a row's audit columns (None: nobody was)."""
    return None if name is None else Actor(name=name, id=actor_id)


def columns(actor: Actor | None, *, created: bool = True) -> dict[str, Any]:
    """The audit columns of a row written by ``actor`` (created, or only updated)."""
    wid, name = (actor.id, actor.name) if actor is not None else (None, None)
    out: dict[str, Any] = {"updated_by_id": wid, "updated_by_name": name}
    if created:
        out |= {"created_by_id": wid, "created_by_name": name}
    return out


def _changed(row: Audited) -> bool:
    state = inspect(row)
    if isinstance(row, Entity):
        # An entity's revision goes up exactly when its content changes.
        return bool(state.attrs.revision.history.has_changes())
    return any(a.history.has_changes() for a in state.attrs if a.key not in _AUDIT_KEYS)


_AUDIT_KEYS = frozenset(columns(None))


def _stamp(session: Session, _context: Any, _instances: Any) -> None:
    actor = actor_of(session)
    if actor is None:
        return
    for row in session.new:
        if isinstance(row, Audited) and row.created_by_name is None:
            for key, value in columns(actor).items():
                setattr(row, key, value)
    for row in session.dirty:
        if isinstance(row, Audited) and _changed(row):
            row.updated_by_id, row.updated_by_name = actor.id, actor.name


def install(sessions: sessionmaker[Session]) -> None:
    """Stamp the rows the sessions of ``sessions`` write."""
    event.listen(sessions, "before_flush", _stamp)
