"""Free-text search over ``search_entries``: SQLite's FTS5 table or PostgreSQL's tsvector.

The entries are kept by triggers (migration 0011); here they are only read. Words come
already taken apart (``domain.search.parse_text``): each is letters and digits only, so none
can be read as the full-text syntax of either database.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, column, false, func, literal_column, or_, select, table
from sqlalchemy.orm import Session

from modeltrail.store.scope import readable_clause
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutionRow,
    ExperimentRow,
    RunRow,
    SearchEntryRow,
)

S = SearchEntryRow
# The weights of name, uri, description and annotation values in a match's score.
WEIGHTS = (10.0, 4.0, 2.0, 1.0)
# Types that belong to an experiment, with their tables (the rest belong to none).
_OWNED: dict[str, Any] = {
    "experiment": ExperimentRow,
    "run": RunRow,
    "execution": ExecutionRow,
    "artifact": ArtifactRow,
}
_FTS = table("search_fts", column("rowid"))
COLUMNS = (S.type, S.entity_id, S.name, S.kind, S.uri, S.description, S.annotations)


def _where(types: Sequence[str] | None, readable: frozenset[uuid.UUID] | None) -> list[Any]:
    clauses: list[Any] = []
    if types is not None:
        clauses.append(S.type.in_(list(types)))
    if readable is not None:
        visible = [
            and_(
                S.type == name,
                S.entity_id.in_(select(row.id).where(readable_clause(row, readable))),
            )
            for name, row in _OWNED.items()
            if types is None or name in types
        ]
        clauses.append(or_(*visible) if visible else false())
    return clauses


def search_words(
    session: Session,
    *,
    words: Sequence[str],
    types: Sequence[str] | None,
    readable: frozenset[uuid.UUID] | None,
    limit: int,
) -> list[tuple[Any, ...]]:
    """The best ``limit`` entries in which every word begins a word: (type, id, name, kind,
    uri, description, annotations, score), the best first. ``readable``: only the entities
    of these experiments (None: every entity)."""
    if not words:
        return []
    where = _where(types, readable)
    if session.get_bind().dialect.name == "postgresql":
        q = func.to_tsquery(
            literal_column("'simple'::regconfig"), " & ".join(f"{w}:*" for w in words)
        )
        document: Any = literal_column("search_entries.document")
        # ts_rank's weights are for D, C, B, A: annotation values, description, uri, name.
        weights = ",".join(str(w / WEIGHTS[0]) for w in reversed(WEIGHTS))
        rank = func.ts_rank(literal_column(f"'{{{weights}}}'::float4[]"), document, q)
        stmt = (
            select(*COLUMNS, rank.label("score"))
            .where(document.op("@@")(q), *where)
            .order_by(rank.desc(), S.seq)
            .limit(limit)
        )
    else:
        match = " AND ".join(f'"{w}"*' for w in words)
        bm25 = func.bm25(literal_column("search_fts"), *WEIGHTS)
        fts: Any = literal_column("search_fts")
        stmt = (
            select(*COLUMNS, (-bm25).label("score"))
            .select_from(S)
            .join(_FTS, _FTS.c.rowid == S.seq)
            .where(fts.op("MATCH")(match), *where)
            .order_by(bm25, S.seq)
            .limit(limit)
        )
    return [tuple(row) for row in session.execute(stmt)]


def search_ids(
    session: Session,
    *,
    prefix: str,
    types: Sequence[str] | None,
    readable: frozenset[uuid.UUID] | None,
    limit: int,
) -> list[tuple[Any, ...]]:
    """The entries whose id begins with ``prefix`` (lowercase hexadecimal digits), as
    ``search_words`` answers them (with a score of 0: the caller ranks them)."""
    # Every id that begins with the prefix sorts between it and the prefix followed by 'g',
    # the letter after the last hexadecimal digit: a range the index answers.
    stmt = (
        select(*COLUMNS)
        .where(S.ident >= prefix, S.ident < prefix + "g", *_where(types, readable))
        .order_by(S.ident)
        .limit(limit)
    )
    return [(*row, 0.0) for row in session.execute(stmt)]
