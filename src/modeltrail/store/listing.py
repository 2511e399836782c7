"""Filtered, sorted, keyset-paginated listing of any entity table (FR1).

Filters and sorts are translated into bound SQL expressions here, never by string
concatenation; values are typed by the column they compare with.
"""

from __future__ import annotations

import base64
import hashlib
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Index, Select, Uuid, and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from modeltrail.domain.errors import InvalidInput
from modeltrail.domain.filters import Filter, Op, Sort
from modeltrail.domain.models import in_utc, unstorable_number
from modeltrail.domain.query import Node, predicates
from modeltrail.store import dialect as d
from modeltrail.store.fields import Fields, number_name, pointer_error, resolve
from modeltrail.store.query import kind_checks, query_clause
from modeltrail.store.tables import ArtifactRow, KindRow, UTCDateTime


@dataclass
class ListResult:
    rows: list[Any]
    next_cursor: str | None
    total: int | None


# ---------------------------------------------------------------- kind attributes


def _named_kinds(fields: Fields, filters: list[Filter]) -> set[str] | None:
    """The kinds the filters restrict the list to (``kind:eq:X``, ``kind:in:X,Y``), or None."""
    named: set[str] | None = None
    for f in filters:
        if f.path == ("kind",) and f.op in (Op.EQ, Op.IN):
            values = set(f.value) if isinstance(f.value, tuple) else {f.value}
            named = values if named is None else named & values
    return named


def check_kind_attributes(
    session: Session, fields: Fields, filters: list[Filter], sort: Sort | None
) -> None:
    """Refuse a path into the kind attributes that no kind in question has: a typo
    (``nmae:eq:x``, ``--sort colour``) would otherwise match nothing, or sort by nothing,
    without a word. An attribute is known if a registered kind declares it or an artifact of
    those kinds holds it (built-in kinds allow attributes they do not declare). A path that
    says ``attributes.`` is checked when the filters name a kind; a path without it always,
    since it may as well be a misspelt field."""
    if fields.kind_column is None or fields.default_document is None:
        return
    document = fields.default_document
    kinds = _named_kinds(fields, filters)
    asked: list[tuple[Filter | Sort, str, bool]] = []
    subjects: list[Filter | Sort] = [*filters, *([sort] if sort else [])]
    for f in subjects:
        head = f.path[0]
        if head in fields.columns or head in fields.relations or head in fields.derived:
            continue
        if head in fields.named and len(f.path) > 1:
            continue
        if head == document and len(f.path) > 1:
            if kinds is not None:
                asked.append((f, f.path[1], True))
        elif head not in fields.documents:
            asked.append((f, head, False))
    if not asked:
        return
    query = select(KindRow.name, KindRow.schema_)
    if kinds is not None:
        query = query.where(KindRow.name.in_(sorted(kinds)))
    declared: set[str] = set()
    registered: set[str] = set()
    for name, schema in session.execute(query):
        registered.add(name)
        properties = schema.get("properties") if isinstance(schema, dict) else None
        if isinstance(properties, dict):
            declared.update(properties)
    dialect = session.get_bind().dialect.name
    column = fields.documents[document]
    for f, attribute, explicit in asked:
        if attribute in declared or _stored(session, dialect, fields, column, attribute, kinds):
            continue
        if kinds is not None and not registered:
            message = f"no kind named {', '.join(sorted(kinds))} is registered"
        else:
            scope = f"of {', '.join(sorted(kinds))}" if kinds is not None else "of any kind"
            attributes = ", ".join(sorted(declared)) or "none"
            message = f"no attribute '{attribute}' {scope}; known attributes: {attributes}"
            if not explicit:
                message = (
                    f"unknown field; known fields: {', '.join(fields.known())}, "
                    f"or a kind attribute ({document}.NAME): {attributes}"
                )
        raise pointer_error(f, message)


def _stored(
    session: Session,
    dialect: str,
    fields: Fields,
    column: Any,
    attribute: str,
    kinds: set[str] | None,
) -> bool:
    """Whether an artifact (of these kinds) holds ``attribute``: stops at the first one."""
    assert fields.kind_column is not None
    query = select(fields.kind_column).where(
        d.json_text(dialect, column, (attribute,)).is_not(None)
    )
    if kinds is not None:
        query = query.where(fields.kind_column.in_(sorted(kinds)))
    return session.execute(query.limit(1)).first() is not None


# ---------------------------------------------------------------- names of related entities


def _ids_and_names(f: Filter) -> tuple[list[uuid.UUID], list[str]]:
    values = f.value if isinstance(f.value, tuple) else (f.value,)
    ids, names = [], []
    for v in values:
        try:
            ids.append(uuid.UUID(v))
        except ValueError:
            names.append(v)
    return ids, names


def _by_ids_or_names(fields: Fields, f: Filter, match: Any) -> ColumnElement[bool] | None:
    """``match(ids)`` for the ids given and the ids of the entities named, or None when the
    field takes no names. ``match`` accepts a list or a subquery."""
    target = fields.named.get(f.path[0])
    if target is None or len(f.path) > 1:
        return None
    ids, names = _ids_and_names(f)
    if not names:
        return None
    if f.op not in (Op.EQ, Op.IN):
        raise pointer_error(f, "only eq and in are supported with names")
    by_name = match(select(target.id).where(target.name.in_(names)))
    return or_(match(ids), by_name) if ids else by_name


def _typed(column: Any, value: str, f: Filter) -> Any:
    python_type: type | None
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        python_type = None
    if isinstance(column.type, UTCDateTime):
        python_type = datetime
    try:
        if python_type is datetime:
            return in_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        if python_type is uuid.UUID:
            return uuid.UUID(value)
        if python_type is int:
            number = int(value)
            if (reason := unstorable_number(number)) is not None:
                raise ValueError(reason)
            return number
        if python_type is bool:
            return value.lower() in {"true", "1", "yes"}
    except ValueError as exc:
        name = python_type.__name__ if python_type else "value"
        raise pointer_error(f, f"'{value}' is not a valid {name}: {exc}") from None
    return value


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _compare(expr: ColumnElement[Any], op: Op, value: Any) -> ColumnElement[bool]:
    compared: ColumnElement[bool]
    match op:
        case Op.EQ:
            compared = expr == value
        case Op.NE:
            compared = or_(expr != value, expr.is_(None))
        case Op.LT:
            compared = expr < value
        case Op.LE:
            compared = expr <= value
        case Op.GT:
            compared = expr > value
        case Op.GE:
            compared = expr >= value
        case Op.IN:
            compared = expr.in_(value)
        case _:
            raise AssertionError(op)
    return compared


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filter_clause(dialect: str, fields: Fields, f: Filter) -> ColumnElement[bool]:
    where, target, subpath = resolve(dialect, fields, f.path, f)
    if where == "relation":
        if f.op not in (Op.EQ, Op.IN):
            raise pointer_error(f, "only eq and in are supported on this field")
        named = _by_ids_or_names(fields, f, target)
        if named is not None:
            return named
        values = f.value if isinstance(f.value, tuple) else (f.value,)
        try:
            ids = [uuid.UUID(v) for v in values]
        except ValueError:
            raise pointer_error(f, "expects artifact/run/execution ids") from None
        return target(ids)  # type: ignore[no-any-return]
    if where == "derived":
        values = f.value if isinstance(f.value, tuple) else (f.value,)
        if f.op in (Op.PREFIX, Op.CONTAINS) or not all(_is_number(v) for v in values):
            raise pointer_error(f, f"{number_name(f.path[0])} is a number: compare it with numbers")
        numbers = [float(v) for v in values]
        if f.op is Op.NE:
            return or_(target != numbers[0], target.is_(None))
        return _compare(target, f.op, numbers if f.op is Op.IN else numbers[0])
    if where == "column":
        named = _by_ids_or_names(fields, f, target.in_)
        if named is not None:
            return named
    if f.op in (Op.PREFIX, Op.CONTAINS):
        if where == "column" and isinstance(target.type, Uuid):
            # An id column holds no text to match a part of (SQLite keeps its hex digits only).
            raise pointer_error(f, "an id is compared whole: use eq, ne or in")
        expr = target if where == "column" else d.json_text(dialect, target, subpath)
        pattern = _escape_like(str(f.value))
        pattern = pattern + "%" if f.op is Op.PREFIX else "%" + pattern + "%"
        return d.like(dialect, expr, pattern, case_sensitive=f.op is Op.PREFIX)
    if where == "column":
        if isinstance(f.value, tuple):
            return _compare(target, f.op, [_typed(target, v, f) for v in f.value])
        return _compare(target, f.op, _typed(target, f.value, f))
    text = d.json_text(dialect, target, subpath)
    values = f.value if isinstance(f.value, tuple) else (f.value,)
    if f.op in (Op.EQ, Op.IN, Op.NE):
        numeric = [float(v) for v in values if _is_number(v)]
        matches = [text.in_(list(values))]
        if numeric:
            matches.append(d.json_number(dialect, target, subpath).in_(numeric))
        hit = or_(*matches)
        return or_(~hit, text.is_(None)) if f.op is Op.NE else hit
    value = values[0]
    if _is_number(value):
        return _compare(d.json_number(dialect, target, subpath), f.op, float(value))
    return _compare(text, f.op, value)


# ---------------------------------------------------------------- cursors


def _encode_cursor(value: Any, row_id: uuid.UUID, sort: Sort) -> str:
    if isinstance(value, datetime):
        value = {"$dt": value.isoformat()}
    elif isinstance(value, float) and not math.isfinite(value):
        # JSON has no infinities: orjson would write null, and the next page would start
        # over from the NULLs.
        value = {"$float": str(value)}
    raw = orjson.dumps([value, str(row_id), str(sort)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_error(detail: str) -> InvalidInput:
    return InvalidInput(
        f"the cursor does not fit this list: {detail}",
        errors=[{"pointer": "/cursor", "detail": detail}],
    )


def _decode_cursor(cursor: str, sort: Sort) -> tuple[Any, uuid.UUID]:
    """The sort value and id a cursor continues after; it must come from a list in the same
    order (a cursor of another order would skip or repeat rows without a word)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, row_id, *issued_for = orjson.loads(raw)
        if isinstance(value, dict) and "$dt" in value:
            value = datetime.fromisoformat(value["$dt"])
        elif isinstance(value, dict) and "$float" in value:
            value = float(value["$float"])
        row_id = uuid.UUID(row_id)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise _cursor_error("not a cursor this server issued") from None
    if issued_for and issued_for[0] != str(sort):
        raise _cursor_error(
            f"it continues a list sorted by {issued_for[0]}, not by {sort}; "
            "ask for the first page again"
        )
    return value, row_id


def after(expr: Any, value: Any, row_id: Any, id_col: Any, descending: bool) -> ColumnElement[bool]:
    """Rows strictly after (value, id) in the order: NULLs first ascending, last descending."""
    if value is None:
        tie = and_(expr.is_(None), (id_col < row_id) if descending else (id_col > row_id))
        return tie if descending else or_(tie, expr.is_not(None))
    if descending:
        return or_(expr < value, and_(expr == value, id_col < row_id), expr.is_(None))
    return or_(expr > value, and_(expr == value, id_col > row_id))


def join_derived(
    dialect: str,
    fields: Fields,
    query: Select[Any],
    paths: list[tuple[str, ...]],
) -> tuple[Select[Any], Fields]:
    """``query`` outer-joined with what the derived fields among ``paths`` are read from
    (where ``fields.joined`` offers it), and fields whose derived paths name the joined
    columns: a sort or filter on a metric over every candidate row is then one join, not a
    subquery per row."""
    by_head: dict[str, list[tuple[str, ...]]] = {}
    for path in paths:
        if path and path[0] in fields.joined and path[1:] not in by_head.get(path[0], []):
            by_head.setdefault(path[0], []).append(path[1:])
    if not by_head:
        return query, fields
    derived = dict(fields.derived)
    for head, subpaths in by_head.items():
        joined = fields.joined[head](dialect, subpaths)
        for table, on in joined.joins:
            query = query.outerjoin(table, on)

        def column(
            dialect: str,
            subpath: tuple[str, ...],
            columns: dict[tuple[str, ...], ColumnElement[Any]] = joined.columns,
            per_row: Callable[[str, tuple[str, ...]], ColumnElement[Any]] = derived[head],
        ) -> ColumnElement[Any]:
            found = columns.get(subpath)
            return per_row(dialect, subpath) if found is None else found

        derived[head] = column
    return query, replace(fields, derived=derived, joined={})


def list_rows(
    session: Session,
    query: Select[Any],
    *,
    model: Any,
    fields: Fields,
    filters: list[Filter],
    sort: Sort | None,
    limit: int,
    cursor: str | None = None,
    count: bool = False,
    expression: Node | None = None,
) -> ListResult:
    dialect = session.get_bind().dialect.name
    checked: list[Filter] = [*filters, *kind_checks(expression)]
    check_kind_attributes(session, fields, checked, sort)
    if fields.joined:
        paths = [f.path for f in filters]
        if expression is not None:
            paths += [p.field.path for p in predicates(expression)]
        if sort is not None:
            paths.append(sort.path)
        query, fields = join_derived(dialect, fields, query, paths)
    for f in filters:
        query = query.where(filter_clause(dialect, fields, f))
    if expression is not None:
        query = query.where(query_clause(dialect, fields, expression))
    total = None
    if count:
        total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))

    sort = sort or Sort(("createTime",))
    where, target, subpath = resolve(dialect, fields, sort.path, sort)
    if where == "relation":
        raise pointer_error(sort, "cannot sort on this field")
    as_cursor: Callable[[Any], Any]
    if where in ("column", "derived"):
        expr, as_cursor = target, lambda v: v
    else:
        expr = d.json_sortable(dialect, target, subpath)

        def as_cursor(v: Any) -> Any:
            return None if v is None else d.sortable_literal(dialect, v)

    id_col = model.id
    if cursor:
        value, row_id = _decode_cursor(cursor, sort)
        if where == "column" and value is not None:
            try:
                value = _typed(target, str(value), Filter(sort.path, Op.EQ, str(value), str(sort)))
            except InvalidInput as exc:
                raise _cursor_error(exc.errors[0]["detail"]) from None
        query = query.where(after(expr, as_cursor(value), row_id, id_col, sort.descending))
    if sort.descending:
        query = query.order_by(expr.desc().nulls_last(), id_col.desc())
    else:
        query = query.order_by(expr.asc().nulls_first(), id_col.asc())
    query = query.add_columns(expr.label("_sort_key")).limit(limit + 1)
    result = session.execute(query).all()
    more = len(result) > limit
    result = result[:limit]
    next_cursor = None
    if more and result:
        last = result[-1]
        next_cursor = _encode_cursor(last._sort_key, last[0].id, sort)
    return ListResult([r[0] for r in result], next_cursor, total)


# ---------------------------------------------------------------- attribute indexes


def ensure_attribute_index(session: Session, attribute: str) -> None:
    """An index for lists of one kind's artifacts sorted by ``attributes.<attribute>``:
    (kind, the attribute's sortable form, id), the order ``list_rows`` asks for, so that
    the first page is read off the index instead of sorting every artifact of the kind.
    One index per attribute name serves every kind with that attribute."""
    dialect = session.get_bind().dialect.name
    expr = d.json_sortable(dialect, ArtifactRow.attributes, (attribute,))
    # PostgreSQL's indexes are named anew since JSON null sorts as no value: an index of the
    # earlier expression would be found by name and kept, and serve no list.
    named = f"nullif:{attribute}" if dialect == "postgresql" else attribute
    digest = hashlib.sha256(named.encode()).hexdigest()[:16]
    id_order = ArtifactRow.id.desc() if dialect == "postgresql" else ArtifactRow.id
    index = Index(
        f"ix_artifacts_attribute_{digest}",
        ArtifactRow.kind,
        *d.sortable_index_columns(dialect, expr),
        id_order,
    )
    try:
        index.create(session.connection(), checkfirst=True)
    finally:
        # Made for this database, not part of the schema every database gets.
        ArtifactRow.__table__.indexes.discard(index)  # type: ignore[attr-defined]
