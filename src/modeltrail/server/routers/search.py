"""Free-text search across every entity: ``GET /api/v1/search?text=...``.

(No ``from __future__ import annotations`` here: FastAPI reads the parameter types.)
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from modeltrail.domain import search as d
from modeltrail.server.deps import MetadataDep
from modeltrail.services.search import search

router = APIRouter(tags=["Search"])


@router.get(
    "/search",
    response_model=d.SearchAnswer,
    operation_id="search",
    summary="Find entities of every type by the words of their names, uris, descriptions "
    "and annotation values",
    description="Each word of `text` must begin a word of the entity's name, uri, "
    "description or annotation values (`lett` finds `letters`; punctuation separates words, "
    "so `s3://bucket/mni` finds the uri `s3://bucket/mnist.csv`). Text that reads as an id or "
    "its beginning (hexadecimal digits, dashes allowed, at least "
    f"{d.MIN_ID_PREFIX}) also finds the entity of that id, ranked first. The best `limit` "
    "matches come first; a token scoped to experiments finds only their experiments, runs, "
    "executions and artifacts.",
)
async def search_entities(
    meta: MetadataDep,
    text: Annotated[
        str,
        Query(description=f"the words to look for (at most {d.MAX_TEXT} characters)"),
    ],
    type: Annotated[
        str | None,
        Query(
            description="only entities of these types, comma-separated: " + ", ".join(d.TYPES),
            max_length=256,
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=d.MAX_LIMIT, description="at most this many entities")
    ] = d.DEFAULT_LIMIT,
) -> Any:
    return await run_in_threadpool(meta.query, search, text, types=type, limit=limit)
