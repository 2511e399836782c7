"""The filter and sort language of every list endpoint (FR1).

A filter is ``FIELD:OP:VALUE``; FIELD is a top-level field (``name``, ``createTime``) or a dotted
path into a document (``annotations.owner``, ``configuration.epochs``,
``attributes.hyperParameters.learning-rate``); OP is one of ``eq ne lt le gt ge in prefix
contains``; VALUE is the rest of the string (``in`` takes a comma-separated list). A sort is a
field, ``-`` in front for descending.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from modeltrail.domain import limits
from modeltrail.domain.errors import InvalidInput
from modeltrail.domain.query import Node


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    IN = "in"
    PREFIX = "prefix"
    CONTAINS = "contains"


@dataclass(frozen=True)
class Filter:
    path: tuple[str, ...]
    op: Op
    value: str | tuple[str, ...]
    source: str  # the text the client sent, for error messages
    column: int | None = None  # where a predicate of ``q`` starts in it (1-based)

    @property
    def field(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Sort:
    path: tuple[str, ...]
    descending: bool = False

    @property
    def field(self) -> str:
        return ".".join(self.path)

    def __str__(self) -> str:
        return ("-" if self.descending else "") + self.field


_UNSAFE = frozenset('"') | frozenset(chr(i) for i in range(32))


def _path(text: str, *, pointer: str) -> tuple[str, ...]:
    parts = tuple(text.split("."))
    if not text or any(not p for p in parts):
        raise InvalidInput(
            f"'{text}' is not a field name", errors=[{"pointer": pointer, "detail": "empty field"}]
        )
    if any(c in _UNSAFE for c in text):
        raise InvalidInput(
            f"'{text!r}' holds a quote or a control character, which no field name may hold",
            errors=[{"pointer": pointer, "detail": "invalid character in field name"}],
        )
    if len(parts) > 8:
        raise InvalidInput(
            "field paths are at most 8 levels deep",
            errors=[{"pointer": pointer, "detail": "path too deep"}],
        )
    return parts


def parse_filters(texts: list[str], *, param: str = "filter") -> list[Filter]:
    if len(texts) > limits.MAX_FILTERS:
        raise InvalidInput(
            f"at most {limits.MAX_FILTERS} filters per request",
            errors=[{"pointer": f"/{param}", "detail": f"{len(texts)} filters given"}],
        )
    out = []
    for i, text in enumerate(texts):
        pointer = f"/{param}/{i}"
        if len(text) > limits.MAX_FILTER_TEXT:
            raise InvalidInput(
                f"a filter is at most {limits.MAX_FILTER_TEXT} characters long",
                errors=[{"pointer": pointer, "detail": f"{len(text)} characters given"}],
            )
        if "\x00" in text:
            raise InvalidInput(
                "filters may not contain NUL characters",
                errors=[{"pointer": pointer, "detail": "NUL character"}],
            )
        field, sep1, rest = text.partition(":")
        op_text, sep2, value = rest.partition(":")
        if not (sep1 and sep2):
            raise InvalidInput(
                f"filter '{text}' is not of the form FIELD:OP:VALUE",
                errors=[{"pointer": pointer, "detail": "expected FIELD:OP:VALUE"}],
            )
        try:
            op = Op(op_text)
        except ValueError:
            raise InvalidInput(
                f"filter '{text}' has an unknown operator '{op_text}'",
                errors=[{"pointer": pointer, "detail": f"operator must be one of {', '.join(Op)}"}],
            ) from None
        parsed: str | tuple[str, ...] = tuple(value.split(",")) if op is Op.IN else value
        if isinstance(parsed, tuple) and len(parsed) > limits.MAX_FILTER_VALUES:
            raise InvalidInput(
                f"'in' takes at most {limits.MAX_FILTER_VALUES} values",
                errors=[{"pointer": pointer, "detail": f"{len(parsed)} values given"}],
            )
        out.append(Filter(_path(field, pointer=pointer), op, parsed, text))
    return out


def parse_sort(text: str | None, *, param: str = "sort") -> Sort | None:
    if not text:
        return None
    descending = text.startswith("-")
    return Sort(_path(text.lstrip("-+"), pointer=f"/{param}"), descending)


@dataclass(frozen=True)
class ListOptions:
    """What a list request asks for: which items, in which order, which page."""

    filters: tuple[Filter, ...] = ()
    sort: Sort | None = None
    limit: int = limits.DEFAULT_PAGE_SIZE
    cursor: str | None = None
    count: bool = False
    query: Node | None = None  # the ``q`` expression, ANDed with the filters
