"""The kind registry's one read that writes need: the latest version of a kind."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from modeltrail.store.tables import KindRow

# Read for every artifact created: built once (building the statement costs more than running it).
_LATEST_KIND = (
    select(KindRow)
    .where(KindRow.name == bindparam("name"))
    .order_by(KindRow.version.desc())
    .limit(1)
)


def read_latest_kind(session: Session, name: str) -> KindRow | None:
    return session.scalars(_LATEST_KIND, {"name": name}).first()
