"""How an entity's wire field names map to its table, and a filter's or sort's path to what
it names: what listing (``store.listing``) and the q= language (``store.query``) share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import JSON, inspect
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from modeltrail.domain.errors import InvalidInput
from modeltrail.domain.filters import Filter, Sort


@dataclass
class Joined:
    """Derived fields as columns of outer-joined tables: ``joins`` are (table, on clause) to
    join the list's statement with, each matching at most one row per listed row;
    ``columns`` the expression of each path (after its head) over them. Paths that are no
    valid field are left out (``derived`` says what is wrong with them)."""

    joins: list[tuple[Any, ColumnElement[bool]]]
    columns: dict[tuple[str, ...], ColumnElement[Any]]


@dataclass
class Fields:
    """How wire field names of one entity map to its table.

    ``columns`` are scalar columns; ``documents`` are JSON columns a dotted path may go into;
    ``default_document`` receives paths whose first segment is nothing else (so that
    ``hyperParameters.learning-rate`` means ``attributes.hyperParameters.learning-rate``).
    ``relations`` are fields answered by a subquery (``run`` on artifacts). ``named`` maps the
    fields that hold another entity (a relation or an id column) to that entity's table, so
    that a filter may name it (``experiment:eq:handwriting``) as well as give its id.
    ``kind_column`` is set where ``default_document`` holds kind attributes: paths into it are
    checked against the registered kinds (and the attributes actually stored). ``derived``
    fields are computed per row from the rest of a path (``metrics.accuracy.max`` on runs):
    ``derived[head](dialect, rest)`` is a scalar expression, or raises ``ValueError`` with
    what is wrong with the path. ``joined[head]``, where given, answers the same values for
    a list's statement as outer joins (``Joined``), which a planner can hash over many rows
    where a per-row subquery is one lookup per row.
    """

    columns: dict[str, InstrumentedAttribute[Any]]
    documents: dict[str, InstrumentedAttribute[Any]] = field(default_factory=dict)
    default_document: str | None = None
    relations: dict[str, Any] = field(default_factory=dict)
    named: dict[str, Any] = field(default_factory=dict)
    kind_column: InstrumentedAttribute[Any] | None = None
    derived: dict[str, Callable[[str, tuple[str, ...]], ColumnElement[Any]]] = field(
        default_factory=dict
    )
    joined: dict[str, Callable[[str, list[tuple[str, ...]]], Joined]] = field(default_factory=dict)

    def known(self) -> list[str]:
        return sorted([*self.columns, *self.documents, *self.relations, *self.derived])


@cache
def entity_fields(row_type: Any) -> Fields:
    """The fields of an entity's table: its columns by their wire names (``experiment_id`` is
    ``experiment``, ``create_time`` is ``createTime``), its JSON columns as documents. What a
    list of the entity may filter and sort on, where the entity adds nothing of its own, and
    what a filter may name of a related entity (``experiment.name``,
    ``event.attributes.cause``)."""
    columns: dict[str, Any] = {}
    documents: dict[str, Any] = {}
    for attr in inspect(row_type).column_attrs:
        key = attr.key
        if key.endswith("_by_id") or key.endswith("_by_name"):
            continue
        wire = key.removesuffix("_id").rstrip("_")
        head, *rest = wire.split("_")
        wire = head + "".join(r.title() for r in rest)
        column = getattr(row_type, key)
        if isinstance(attr.columns[0].type, JSON):
            documents[wire] = column
        else:
            columns[wire] = column
    return Fields(columns=columns, documents=documents)


def pointer_error(f: Filter | Sort, message: str) -> InvalidInput:
    if isinstance(f, Filter) and f.column is not None:
        return InvalidInput(
            f"q: cannot use '{f.field}': {message} (at column {f.column})",
            errors=[{"pointer": "/q", "detail": message, "field": f.field, "column": f.column}],
        )
    return InvalidInput(
        f"cannot use '{f.field}': {message}",
        errors=[
            {
                "pointer": "/filter" if isinstance(f, Filter) else "/sort",
                "detail": message,
                "field": f.field,
            }
        ],
    )


def number_name(head: str) -> str:
    """What a derived field holds, for an error: "a metric", "'duration'"."""
    return "a metric" if head == "metrics" else f"'{head}'"


def resolve(
    dialect: str, fields: Fields, path: tuple[str, ...], f: Filter | Sort
) -> tuple[str, Any, tuple[str, ...]]:
    """('column', col, ()) or ('document', col, subpath) or ('relation', fn, ()) or
    ('derived', expression, ())."""
    head = path[0]
    if head in fields.derived:
        try:
            return "derived", fields.derived[head](dialect, path[1:]), ()
        except ValueError as exc:
            raise pointer_error(f, str(exc)) from None
    if head in fields.columns:
        if len(path) > 1:
            raise pointer_error(f, f"'{head}' has no sub-fields")
        return "column", fields.columns[head], ()
    if head in fields.documents:
        if len(path) == 1:
            raise pointer_error(f, f"name a key inside '{head}', e.g. {head}.KEY")
        return "document", fields.documents[head], path[1:]
    if head in fields.relations and len(path) == 1:
        return "relation", fields.relations[head], ()
    if fields.default_document:
        return "document", fields.documents[fields.default_document], path
    raise pointer_error(f, f"unknown field; known fields: {', '.join(fields.known())}")
