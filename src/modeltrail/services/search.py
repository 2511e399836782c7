"""Free-text search across every entity, ranked: the UI's search box and `modeltrail search`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from modeltrail.domain import search as d
from modeltrail.services import access
from modeltrail.store import search as store

# An id match ranks above every word match: its score is this plus one for a whole id.
ID_SCORE = 1_000_000.0


def _hit(row: tuple[Any, ...], words: tuple[str, ...], score: float) -> d.SearchHit:
    kind, entity_id, name, entity_kind, uri, description, annotations, _ = row
    fields = [description, annotations, uri, name]
    return d.SearchHit(
        type=kind,
        id=entity_id,
        name=name,
        uri=uri,
        kind=entity_kind,
        snippet=d.snippet(words, fields) if words else str(entity_id),
        score=score,
    )


def search(
    session: Session, text: str, *, types: str | None = None, limit: int = d.DEFAULT_LIMIT
) -> d.SearchAnswer:
    """The ``limit`` entities that best match ``text`` (of ``types``, comma-separated), the
    best first; a scoped request sees only the entities of the experiments it may read."""
    asked = d.parse_text(text)
    kinds = d.parse_types(types)
    scope = access.scope_of(session)
    readable = scope.readable if scope is not None else None
    hits: dict[Any, d.SearchHit] = {}
    if asked.id_prefix is not None:
        for row in store.search_ids(
            session, prefix=asked.id_prefix, types=kinds, readable=readable, limit=limit
        ):
            whole = row[1].hex == asked.id_prefix
            hits[row[1]] = _hit(row, (), ID_SCORE + whole)
    # A whole id names one entity: its pieces are no words to look for.
    words = () if asked.id_prefix is not None and len(asked.id_prefix) == 32 else asked.words
    for row in store.search_words(
        session, words=words, types=kinds, readable=readable, limit=limit
    ):
        if row[1] not in hits:
            hits[row[1]] = _hit(row, asked.words, float(row[-1]))
    ranked = sorted(hits.values(), key=lambda h: -h.score)
    return d.SearchAnswer(items=ranked[:limit])
