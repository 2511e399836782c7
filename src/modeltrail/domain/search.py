"""Free-text search across every entity: what a search may ask and what it answers.

Text is searched as words: each run of letters and digits is a word, everything else
separates words (so a uri ``s3://bucket/mnist.csv`` is the words s3, bucket, mnist, csv). An
entity matches when each word of the text begins a word of its name, uri, description or
annotation values (``lett`` finds ``letters``). Text that reads as an id or its beginning
(hexadecimal digits, dashes allowed) also finds the entity of that id, first.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from modeltrail.domain import text as t
from modeltrail.domain.errors import InvalidInput
from modeltrail.domain.models import Schema

# The entities search answers, by their type's name in the answer.
TYPES = ("experiment", "run", "execution", "artifact", "executable", "pipeline", "model")
EntityType = Literal[
    "experiment", "run", "execution", "artifact", "executable", "pipeline", "model"
]
MAX_TEXT = 1_000
MAX_WORDS = 32
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
# Fewer hexadecimal digits than this are a word, not the beginning of an id.
MIN_ID_PREFIX = 4
SNIPPET = 120

_WORD = re.compile(r"[^\W_]+")
_ID = re.compile(r"^[0-9a-f-]+$")


class SearchHit(Schema):
    type: EntityType = Field(description="what the entity is")
    id: uuid.UUID
    name: str | None = Field(description="its name (a registered model's name for a model)")
    uri: str | None = None
    kind: str | None = Field(None, description="an artifact's kind or an execution's kind")
    snippet: str = Field(description="the text around the first word that matched")
    score: float = Field(
        description="higher ranks first: names weigh most, then uris, descriptions and "
        "annotation values; an id match ranks above every word match"
    )


class SearchAnswer(Schema):
    items: list[SearchHit]


@dataclass(frozen=True)
class SearchText:
    """Search text taken apart: its words (case-folded) and, when it reads as one, the
    beginning of an id as 32-digit hexadecimal."""

    words: tuple[str, ...]
    id_prefix: str | None


def _refuse(detail: str, param: str = "text") -> InvalidInput:
    return InvalidInput(
        f"{param}: {detail}", errors=[{"pointer": f"/{param}", "in": "query", "detail": detail}]
    )


def parse_text(value: str) -> SearchText:
    """The words of ``value``; refused (422) when it is empty, too long, holds too many
    words or holds text that is not Unicode."""
    if not t.is_valid(value):
        raise _refuse("holds a lone UTF-16 surrogate, which is not a Unicode character")
    if len(value) > MAX_TEXT:
        raise _refuse(f"is {len(value)} characters long; search text is at most {MAX_TEXT}")
    if not value.strip():
        raise _refuse("is empty; give the words to search for")
    words = tuple(dict.fromkeys(w.casefold() for w in _WORD.findall(value)))
    if len(words) > MAX_WORDS:
        raise _refuse(f"holds {len(words)} words; search at most {MAX_WORDS} at once")
    compact = value.strip().lower()
    id_prefix = None
    if _ID.match(compact):
        digits = compact.replace("-", "")
        if MIN_ID_PREFIX <= len(digits) <= 32:
            id_prefix = digits
    return SearchText(words=words, id_prefix=id_prefix)


def parse_types(value: str | None) -> tuple[str, ...] | None:
    """The comma-separated entity types asked for (None: every type)."""
    if value is None or not value.strip():
        return None
    asked = [p.strip().lower() for p in value.split(",") if p.strip()]
    unknown = [p for p in asked if p not in TYPES]
    if unknown:
        raise _refuse(
            f"'{t.shown(unknown[0])[:60]}' is no entity type; choose among {', '.join(TYPES)}",
            param="type",
        )
    return tuple(dict.fromkeys(asked))


def snippet(words: tuple[str, ...], fields: list[str | None]) -> str:
    """The text around the first word of ``words`` that begins a word of one of ``fields``
    (in that order), cut to about ``SNIPPET`` characters with … where it was cut."""
    for field in fields:
        if not field:
            continue
        for match in _WORD.finditer(field):
            if any(match.group().casefold().startswith(w) for w in words):
                start = max(0, match.start() - SNIPPET // 3)
                end = min(len(field), start + SNIPPET)
                start = max(0, min(start, end - SNIPPET))
                cut = " ".join(field[start:end].split())
                return ("…" if start else "") + cut + ("…" if end < len(field) else "")
    first = next((f for f in fields if f), "")
    cut = " ".join(first[:SNIPPET].split())
    return cut + ("…" if len(first) > SNIPPET else "")
