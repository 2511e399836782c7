"""The filter and sort language of every list endpoint (FR1).

A filter is ``FIELD:OP:VALUE``; FIELD is a top-level field (``name``, ``createTime``) or a dotted
path into a document (``annotations.owner``, ``configuration.epochs``,
``attributes.hyperParameters.learning-rate``); OP is one of ``eq ne lt le gt ge in prefix
contains``; VALUE is the rest of the string (``in`` takes a comma-separated list). A sort is a
field, ``-`` in front for descending. A segment of a path that holds a dot or a colon (a key
such as ``mlflow.runId``) is written in backticks: ``annotations.`mlflow.runId`:eq:x``; a
backtick inside it is written twice.
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


def path_text(path: tuple[str, ...]) -> str:
    """A path as a filter or sort writes it: segments that would not parse back alone (a dot,
    a colon, a leading backtick) in backticks."""
    return ".".join(
        f"`{p.replace('`', '``')}`" if "." in p or ":" in p or p.startswith("`") else p
        for p in path
    )


@dataclass(frozen=True)
class Filter:
    path: tuple[str, ...]
    op: Op
    value: str | tuple[str, ...]
    source: str  # the text the client sent, for error messages
    column: int | None = None  # where a predicate of ``q`` starts in it (1-based)

    @property
    def field(self) -> str:
        return path_text(self.path)


@dataclass(frozen=True)
class Sort:
    path: tuple[str, ...]
    descending: bool = False

    @property
    def field(self) -> str:
        return path_text(self.path)

    def __str__(self) -> str:
        return ("-" if self.descending else "") + self.field


_UNSAFE = frozenset('"') | frozenset(chr(i) for i in range(32))


def _segments(text: str, *, pointer: str, field: bool = False) -> tuple[tuple[str, ...], int]:
    """The dotted path's segments at the start of ``text``, and where it ends (at the first
    colon outside backticks with ``field``, the path of ``FIELD:OP:VALUE``; else at the end).
    A segment that starts with a backtick runs to the closing one and may hold dots and colons
    (``annotations.`mlflow.runId```); a backtick inside it is written twice."""
    parts: list[str] = []
    i = 0
    while True:
        if text.startswith("`", i):
            part, i = [], i + 1
            while True:
                end = text.find("`", i)
                if end < 0:
                    raise InvalidInput(
                        f"'{text}' opens a backtick that it does not close",
                        errors=[{"pointer": pointer, "detail": "unclosed backtick"}],
                    )
                part.append(text[i:end])
                if not text.startswith("`", end + 1):
                    break
                part.append("`")
                i = end + 2
            parts.append("".join(part))
            i = end + 1
            if i < len(text) and text[i] != "." and not (field and text[i] == ":"):
                raise InvalidInput(
                    f"'{text}': a name in backticks is followed by a dot or ends the field",
                    errors=[{"pointer": pointer, "detail": "text after a name in backticks"}],
                )
        else:
            stops = [j for j in (text.find(".", i), text.find(":", i) if field else -1) if j >= 0]
            end = min(stops, default=len(text))
            parts.append(text[i:end])
            i = end
        if i >= len(text) or text[i] == ":":
            return tuple(parts), i
        i += 1  # the dot


def _path(text: str, *, pointer: str) -> tuple[str, ...]:
    parts = _segments(text, pointer=pointer)[0] if text else ()
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
        end = _segments(text, pointer=pointer, field=True)[1]
        field, sep1, rest = text[:end], text[end : end + 1], text[end + 1 :]
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
