"""Read, update and list, and the retry check and the row of a create: one implementation
for every entity of the registry (``domain.entities``), driven by its declaration (its table,
its model, its columns).

An entity's module (``services.entities.<name>``) declares its ``SERVICE`` here with only
what is its own: the fields its lists filter and sort on beyond its table's columns, how its
read models are made where some of their fields are rows of other tables, and what a change
does beyond copying the sent fields onto the row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import select, union_all
from sqlalchemy.orm import Session

from modeltrail.domain.entities import ENTITIES
from modeltrail.domain.filters import Filter, ListOptions, Op
from modeltrail.domain.models import Page
from modeltrail.services import access
from modeltrail.services.common import apply_update, check_revision, existing_for_retry, get_or_404
from modeltrail.store.fields import Fields, entity_fields
from modeltrail.store.listing import ListResult, list_rows
from modeltrail.store.rows import new_row, to_model
from modeltrail.store.tables import entity_rows

M = TypeVar("M", bound=BaseModel)

# Makes the read models of rows of one entity (in their order), for a page at once.
Models = Callable[[Session, Sequence[Any]], list[M]]
# Applies a change's fields (``changes``: those sent; ``data``: the change itself) to the row;
# returns the read model's fields that are no column of it (edges) as it just wrote them, or
# None to have them read back.
Change = Callable[..., dict[str, Any] | None]


class Service(Generic[M]):
    """The read, update and list of entity ``name``.

    ``fields``: what its lists filter and sort on (default: the columns of its table, see
    ``store.fields.entity_fields``). ``to_models``: its read models from its rows (default:
    the row's columns, ``store.rows.to_model``). ``change``: what an update does to a row
    once it is found at the expected revision (default: copies the fields sent, a new
    revision if any differs); called as ``change(session, row, changes, data, **options)``
    with the options the caller gave ``update``, it may answer the fields of the read model
    that are no column, as it wrote them, to save reading them back. ``settled``: fields a
    create fills in when it is sent none (a finished run's end time), so that a retry that
    again sends none is the same content.
    """

    def __init__(
        self,
        name: str,
        *,
        fields: Fields | None = None,
        to_models: Models[M] | None = None,
        change: Change | None = None,
        settled: frozenset[str] = frozenset(),
    ) -> None:
        self.name = name
        self.row: type[Any] = entity_rows()[name]
        self.fields = fields or entity_fields(self.row)
        self.columns: Mapping[str, str] = ENTITIES[name].columns
        self.to_models: Models[M] = to_models or self._of_columns
        self.change: Change = change or self._copy
        self.settled = settled

    def _of_columns(self, session: Session, rows: Sequence[Any]) -> list[M]:
        name = self.name
        return [to_model(name, r) for r in rows]

    def _copy(self, session: Session, row: Any, changes: dict[str, Any], data: Any) -> None:
        apply_update(row, changes, self.columns)

    def get(self, session: Session, entity_id: uuid.UUID) -> Any:
        """The row of ``entity_id``, or NotFound."""
        return get_or_404(session, self.row, entity_id, self.name)

    def to_model(self, session: Session, row: Any) -> M:
        return self.to_models(session, [row])[0]

    def retried(
        self, session: Session, data: Any, *, equal: Callable[[Any], bool] | None = None
    ) -> M | None:
        """The stored entity a create is a retry of, where the create names the id of one
        (None: it names none, or a new one), or Conflict where that one holds other content.
        The same content: ``equal(row)``, or by default every field sent but the id and the
        time of creation."""
        if equal is None:

            def equal(row: Any) -> bool:
                content = data.model_dump(exclude={"id", "create_time"})
                for name in self.settled:
                    if content.get(name) is None:
                        content.pop(name, None)
                stored = self.to_model(session, row).model_dump(include=set(content))
                return bool(stored == content)

        row = existing_for_retry(session, self.row, data.id, self.name, equal=equal)
        return None if row is None else self.to_model(session, row)

    def insert(self, session: Session, data: BaseModel, **computed: Any) -> Any:
        """The new row of a create, stored (``store.rows.new_row``: what was sent, and what the
        create ``computed``)."""
        row = self.row(**new_row(self.name, data, **computed))
        session.add(row)
        session.flush()
        return row

    def read(self, session: Session, entity_id: uuid.UUID) -> M:
        return self.to_model(session, self.get(session, entity_id))

    def update(
        self,
        session: Session,
        entity_id: uuid.UUID,
        data: BaseModel,
        *,
        if_match: int | None = None,
        **options: Any,
    ) -> M:
        """Change the fields ``data`` sets, if the entity is at revision ``if_match`` (when
        given); ``options`` are the entity's own (``change``)."""
        row = self.get(session, entity_id)
        check_revision(row, if_match, self.name)
        extra = self.change(session, row, data.model_dump(exclude_unset=True), data, **options)
        session.flush()
        if extra is None:
            return self.to_model(session, row)
        made: M = to_model(self.name, row, **extra)
        return made

    def rows(self, session: Session, options: ListOptions) -> ListResult:
        """The rows of one page of the entities matching ``options``; of a scoped request,
        only those it may read (``access.readable_rows``)."""
        row = self.row
        return list_rows(
            session,
            access.readable_rows(session, row, select(row)),
            model=row,
            fields=self.fields,
            filters=list(options.filters),
            sort=options.sort,
            limit=options.limit,
            cursor=options.cursor,
            count=options.count,
            expression=options.query,
        )

    def list(self, session: Session, options: ListOptions) -> Page[M]:
        """One page of the entities matching ``options`` (``rows``), as read models."""
        result = self.rows(session, options)
        return Page(
            items=self.to_models(session, result.rows),
            next_cursor=result.next_cursor,
            total=result.total,
            names=referenced_names(session, self.fields, result.rows, options.filters),
        )


def referenced_names(
    session: Session, fields: Fields, rows: Sequence[Any], filters: Sequence[Filter] = ()
) -> dict[str, str]:
    """The names of the entities that ``rows`` refer to by a column of theirs (a run's
    experiment, pipeline and event; an execution's run and executable), and of those that
    ``filters`` compare a field with by id (``experiment:eq:ID``, ``producedBy:in:ID,ID``),
    so that a filter that matches nothing still shows names; by id, read in one statement
    for the whole page, so that a list shows names without a request per row. What the
    request may not read is left out."""
    parts: list[Any] = []
    for field, target in fields.named.items():
        # A type that belongs to no experiment (pipelines, executables) is not listed to a
        # scoped request: neither are its names.
        if not access.can_list(session, target):
            continue
        column = fields.columns.get(field)
        ids = {getattr(row, column.key) for row in rows} - {None} if column is not None else set()
        ids |= _filtered_ids(field, filters)
        if not ids:
            continue
        wanted = select(target.id, target.name).where(target.id.in_(ids))
        parts.append(access.readable_rows(session, target, wanted))
    if not parts:
        return {}
    query: Any = parts[0] if len(parts) == 1 else union_all(*parts)
    return {str(row[0]): row[1] for row in session.execute(query)}


def _filtered_ids(field: str, filters: Sequence[Filter]) -> set[uuid.UUID]:
    """The ids that ``filters`` compare ``field`` with (eq, ne, in); a value that is no id
    (a name, or anything else sent) is none. The filters' count and values are bounded
    where they are parsed."""
    ids: set[uuid.UUID] = set()
    for f in filters:
        if f.path != (field,) or f.op not in (Op.EQ, Op.NE, Op.IN):
            continue
        for value in f.value if isinstance(f.value, tuple) else (f.value,):
            try:
                ids.add(uuid.UUID(value))
            except ValueError:
                continue
    return ids
