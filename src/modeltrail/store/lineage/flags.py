"""Flags, and the artifacts a flag taints downstream."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Select,
    select,
)
from sqlalchemy.orm import Session

from modeltrail.store import dialect as dialects
from modeltrail.store.lineage.rows import (
    _FLAGS,
    _columns,
    _dialect,
    _records,
    _rows,
)
from modeltrail.store.lineage.walks import (
    _walk_cte,
)
from modeltrail.store.records import (
    FlagRecord,
    Id,
)
from modeltrail.store.tables import (
    ArtifactRow,
    FlagRow,
)


def flagged_reach(session: Session) -> dict[str, set[Id]]:
    """Fingerprint of every flagged or affected artifact -> the flagged artifacts behind it.

    Flags are few; the walk follows equality, so a flagged dataset taints every equal copy
    and everything derived from any of them.
    """
    if session.connection().scalar(select(FlagRow.artifact_id).limit(1)) is None:
        return {}
    dialect = _dialect(session)
    seed = select(
        ArtifactRow.fingerprint.label("k"),
        dialects.id_hex(dialect, FlagRow.artifact_id).label("origin"),
    ).join(FlagRow, FlagRow.artifact_id == ArtifactRow.id)
    walk = _walk_cte(
        dialect, seed, direction="downstream", merge=True, limit=None, carry=("origin",)
    )
    out: dict[str, set[Id]] = {}
    for key, origin in session.connection().execute(select(walk.c.k, walk.c.origin)):
        out.setdefault(key, set()).add(origin)
    return out


# ---------------------------------------------------------------- reading what a walk found


@lru_cache(maxsize=4)
def _flags(dialect: str) -> Select[Any]:
    return select(*_columns(dialect, _FLAGS)).order_by(FlagRow.create_time)


def flags_for(session: Session) -> list[FlagRecord]:
    """Every flag, oldest first: read for every graph answer, so built once."""
    return _records(_rows(session, _flags(_dialect(session))), FlagRecord)
