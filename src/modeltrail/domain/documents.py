"""Checks shared by the importers of other tools' documents (OpenLineage events, Argo
Workflows): what the stored models would refuse is named by a pointer into the document the
client sent, not into the models built from it."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from itertools import islice
from typing import Any

from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from modeltrail.domain import limits
from modeltrail.domain import models as m
from modeltrail.domain.errors import InvalidInput, json_pointer

# Enough to fix a document by; a document with NUL in every string would otherwise answer
# a problem as large as itself.
MAX_REPORTED = 50


# Ends a text shortened to fit, so that a shortened name or annotation never passes for the
# whole one.
SHORTENED = "\u2026"


def fitted(text: str, size: int) -> str:
    """``text`` if it fits in ``size`` characters, else its start and ``SHORTENED``."""
    return text if len(text) <= size else text[: size - len(SHORTENED)] + SHORTENED


def as_text(value: Any, size: int = limits.MAX_TEXT) -> str:
    """A value of the document as annotation text (JSON unless it is text), fitted."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return fitted(text, size)


def _walk(document: Any, base: str) -> Iterator[tuple[str, Any]]:
    """Every key and value of ``document`` with its pointer (a key's pointer is that of its
    value)."""
    stack: list[tuple[str, Any]] = [(base, document)]
    while stack:
        where, value = stack.pop()
        yield where or "/", value
        if isinstance(value, dict):
            for key, item in value.items():
                here = where + json_pointer(key)
                yield here, key
                stack.append((here, item))
        elif isinstance(value, list):
            stack.extend((where + json_pointer(i), item) for i, item in enumerate(value))


def nul_pointers(document: Any, base: str = "") -> list[str]:
    """Where ``document`` holds a NUL (U+0000) in a key or a string, which no stored text
    may hold."""
    if not m.may_hold_nul(document):
        return []  # the usual case, told in C without a walk
    found = (at for at, v in _walk(document, base) if isinstance(v, str) and "\x00" in v)
    return sorted(set(islice(found, MAX_REPORTED)))


def number_errors(document: Any, base: str = "") -> list[dict[str, str]]:
    """Where ``document`` holds a number no store keeps: an integer beyond 64 bits, or a
    float that is not finite."""
    try:
        m.check_document(document)
        return []  # the usual case, told in one loop without building pointers
    except ValueError:
        pass
    reasons = ((at, m.unstorable_number(v)) for at, v in _walk(document, base))
    found = islice(((at, why) for at, why in reasons if why is not None), MAX_REPORTED)
    return [{"pointer": at, "detail": why} for at, why in sorted(found)]


def nul_errors(document: Any, base: str = "") -> list[dict[str, str]]:
    return [{"pointer": p, "detail": m.NUL} for p in nul_pointers(document, base)]


def parse_time(value: Any) -> datetime:
    """A time as the stored models keep it (UTC, years 1 to 9999); ValueError says why not."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not an ISO 8601 date-time: {value[:64]!r}") from None
    else:
        raise ValueError("a date-time is a string")
    return m.in_utc(parsed)


def time_or_none(value: Any) -> datetime | None:
    """A time as ``parse_time`` reads it, or None where it is absent or empty (as the tools
    leave the times of what has not happened yet)."""
    return parse_time(value) if value else None


@contextmanager
def refused_at(where: str, fields: Mapping[str, str] | None = None) -> Iterator[None]:
    """Turn a stored model's refusal into a 422 that points into the client's document.

    ``where`` is the part of the document the model was built from; ``fields`` names, for
    the model fields that come from elsewhere, where they come from (a field mapped to a
    document object, such as run facets to configuration, is followed into it)."""
    try:
        yield
    except ValidationError as exc:
        errors = []
        for error in exc.errors()[:MAX_REPORTED]:
            loc = [part for part in error["loc"] if part != "[key]"]  # a key's own error
            field = to_camel(str(loc[0])) if loc else ""
            if fields and field in fields:
                at = fields[field] + json_pointer(*loc[1:])
                detail = error["msg"]
            else:
                at = where
                detail = f"{'.'.join(map(str, loc)) or 'value'}: {error['msg']}"
            errors.append({"pointer": at or "/", "detail": detail})
        raise InvalidInput(
            "the document cannot be stored: "
            + "; ".join(f"{e['pointer']}: {e['detail']}" for e in errors[:3]),
            errors=errors,
        ) from None
