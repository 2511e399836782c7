"""Helpers every entity service shares: lookups, idempotent creates, revisions, referrers."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain.errors import Conflict, InvalidInput, NotFound, PreconditionFailed

R = TypeVar("R")


def missing(what: str, entity_id: object) -> NotFound:
    """The error for an entity that is not stored (404)."""
    return NotFound(f"{what} {entity_id} does not exist", entity=what, id=str(entity_id))


def check_query_range(param: str, value: int, high: int, detail: str) -> int:
    """``value`` of the query parameter ``param``, or a 422 naming it when not in 1..``high``."""
    if not 1 <= value <= high:
        raise InvalidInput(
            f"{param} must be between 1 and {high}, not {value}",
            errors=[{"pointer": f"/{param}", "in": "query", "detail": detail}],
        )
    return value


def get_or_404(session: Session, row_type: type[R], entity_id: uuid.UUID, what: str) -> R:
    row = session.get(row_type, entity_id)
    if row is None:
        raise missing(what, entity_id)
    return row


def require_existing(
    session: Session,
    row_type: Any,
    ids: Iterable[uuid.UUID],
    *,
    pointer: str,
    what: str,
    indexed: bool = True,
) -> None:
    """Refuse references to entities that do not exist (no dangling relation is ever stored)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return
    found = set(session.scalars(select(row_type.id).where(row_type.id.in_(wanted))))
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput(
            f"{len(missing)} referenced {what}(s) do not exist: "
            + ", ".join(map(str, missing[:10])),
            errors=[
                {
                    "pointer": f"{pointer}/{wanted.index(m)}" if indexed else pointer,
                    "detail": f"{what} {m} does not exist",
                }
                for m in missing[:50]
            ],
        )


def existing_for_retry(
    session: Session, row_type: type[R], entity_id: uuid.UUID | None, what: str, *, equal: Any
) -> R | None:
    """A create that names an id already stored is a retry if its content is the same.

    Returns the stored row for a retry, None for a new id, and refuses an id reused with
    different content.
    """
    if entity_id is None:
        return None
    row = session.get(row_type, entity_id)
    if row is None:
        return None
    if not equal(row):
        raise Conflict(
            f"{what} {entity_id} already exists with different content",
            errors=[{"pointer": "/id", "detail": "id already used for different content"}],
        )
    return row


def check_revision(row: Any, if_match: int | None, what: str) -> None:
    if if_match is not None and row.revision != if_match:
        raise PreconditionFailed(
            f"{what} {row.id} is at revision {row.revision}, not {if_match}: it changed since "
            "you read it; read it again and reapply your change",
            currentRevision=row.revision,
        )


def apply_update(row: Any, changes: Mapping[str, Any], column_names: Mapping[str, str]) -> bool:
    """Copy the fields a PATCH sent onto the row; bump the revision if anything changed."""
    changed = False
    for field, value in changes.items():
        column = column_names.get(field, field)
        if getattr(row, column) != value:
            setattr(row, column, value)
            changed = True
    if changed:
        row.revision += 1
    return changed


def refuse_if_referenced(what: str, entity_id: uuid.UUID, referrers: dict[str, list[Any]]) -> None:
    present = {k: [str(v) for v in vs[:50]] for k, vs in referrers.items() if vs}
    if present:
        summary = ", ".join(f"{len(v)} {k}" for k, v in present.items())
        raise Conflict(
            f"{what} {entity_id} cannot be deleted: lineage depends on it ({summary})",
            referrers=present,
        )
