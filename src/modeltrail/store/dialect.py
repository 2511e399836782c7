"""Everything that differs between SQLite and PostgreSQL, in one place.

JSON access (text, number and sortable forms of a value inside a document column) is written
once per dialect here; the rest of the store is dialect-free.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import (
    Float,
    Select,
    String,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

_NUMERIC_RE = r"^\s*-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?\s*$"


def _sqlite_path(path: tuple[str, ...]) -> str:
    return "$" + "".join('."' + p.replace('"', '""') + '"' for p in path)


def json_text(dialect: str, column: Any, path: tuple[str, ...]) -> ColumnElement[Any]:
    """The value at ``path`` as text (numbers rendered as text), NULL where absent."""
    if dialect == "postgresql":
        return type_coerce(column, JSONB).op("#>>")(cast(list(path), _text_array()))
    return cast(func.json_extract(column, _sqlite_path(path)), String)


def json_number(dialect: str, column: Any, path: tuple[str, ...]) -> ColumnElement[Any]:
    """The value at ``path`` as a number where it is one (or a numeric string), else NULL."""
    text = json_text(dialect, column, path)
    if dialect == "postgresql":
        return case((text.op("~")(_NUMERIC_RE), cast(text, Float)), else_=None)
    raw = func.json_extract(column, _sqlite_path(path))
    is_number = func.json_type(column, _sqlite_path(path)).in_(["integer", "real"])
    numeric_text = func.trim(text).op("GLOB")("*[0-9]*") & ~func.trim(text).op("GLOB")(
        "*[^0-9.eE+-]*"
    )
    return case((is_number, raw), (numeric_text, cast(text, Float)), else_=None)


def json_is_boolean(
    dialect: str, column: Any, path: tuple[str, ...], value: bool
) -> ColumnElement[bool]:
    """Whether the value at ``path`` is the JSON boolean ``value`` (SQLite's json_extract
    answers 1 and 0 for booleans, like numbers: its json_type tells them apart)."""
    if dialect == "postgresql":
        at = type_coerce(column, JSONB).op("#>")(cast(list(path), _text_array()))
        return at == cast(literal("true" if value else "false", Text), JSONB)
    return func.json_type(column, _sqlite_path(path)) == ("true" if value else "false")


# The name of the function that lowers text as Python does, registered on every SQLite
# connection (store.database).
UNICODE_LOWER = "modeltrail_lower"


def like(dialect: str, expr: Any, pattern: str, *, case_sensitive: bool) -> ColumnElement[bool]:
    """``expr LIKE pattern`` (``%``, ``_``, ``\\`` escapes), case-sensitive or not on both
    databases: SQLite's LIKE ignores the case of ASCII letters only, so a case-sensitive match
    is a GLOB of the same pattern there and a case-blind one compares Unicode lower case."""
    if dialect == "postgresql":
        # The text of a JSONB path is typed JSONB, which knows no LIKE.
        text = type_coerce(expr, Text)
        return (
            text.like(pattern, escape="\\") if case_sensitive else text.ilike(pattern, escape="\\")
        )
    if not case_sensitive:
        lower = getattr(func, UNICODE_LOWER)
        return lower(expr).like(lower(pattern), escape="\\")  # type: ignore[no-any-return]
    return expr.op("GLOB")(_glob(pattern))  # type: ignore[no-any-return]


def _glob(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            i += 1
            c = pattern[i]
            out.append("[" + c + "]" if c in "*?[" else c)
        elif c == "%":
            out.append("*")
        elif c == "_":
            out.append("?")
        elif c in "*?[":
            out.append("[" + c + "]")
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _sql_string(value: str) -> Any:
    return literal_column("'" + value.replace("'", "''") + "'")


def json_sortable(dialect: str, column: Any, path: tuple[str, ...]) -> ColumnElement[Any]:
    """The value at ``path`` in a form with a total order of the dialect's own.

    The path is written into the SQL rather than bound, so that the expression is the one an
    attribute index was made of (``attribute_index``) and the planner can use the index.

    A JSON null is no value, as on SQLite: it sorts with the rows that lack the key, and a
    cursor after such a row reads as one after a missing value."""
    if dialect == "postgresql":
        expr: ColumnElement[Any] = type_coerce(column, JSONB)
        for part in path:
            expr = expr.op("->")(_sql_string(part))
        return func.nullif(expr, literal_column("'null'::jsonb"))
    return func.json_extract(column, _sql_string(_sqlite_path(path)))


def seconds_between(dialect: str, start: Any, end: Any) -> ColumnElement[Any]:
    """Seconds from ``start`` to ``end`` (two timestamp columns), NULL where either is."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", end - start), Float)
    # SQLite keeps timestamps as ISO text; julianday() reads them to the millisecond, as a
    # fraction of a day: rounded back to milliseconds so that 30 s compares equal to 30.
    return func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3)


def to_milliseconds(dialect: str, column: Any) -> ColumnElement[Any]:
    """A timestamp column cut to whole milliseconds, in the column's order: two times of one
    millisecond sort as equal, as an API that answers milliseconds shows them."""
    if dialect == "postgresql":
        return func.date_trunc("milliseconds", column)
    # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff': the text to the millisecond sorts as the time.
    return func.substr(column, 1, 23)


def sortable_index_columns(dialect: str, expr: Any) -> list[Any]:
    """``expr`` as an index column whose order serves both sort directions of a list:
    descending with NULLs last and ascending with NULLs first (SQLite's NULLs sort first
    anyway; PostgreSQL's sort last unless told)."""
    return [expr.desc().nulls_last()] if dialect == "postgresql" else [expr]


def sortable_literal(dialect: str, value: Any) -> ColumnElement[Any]:
    """A cursor value in the same form as ``json_sortable`` so that keyset comparison works."""
    if dialect == "postgresql":
        return cast(literal(orjson.dumps(value).decode(), Text), JSONB)
    return literal(value)


def _text_array() -> Any:
    from sqlalchemy.dialects.postgresql import ARRAY

    return ARRAY(Text)


def multiple_recursive_terms(dialect: str) -> bool:
    """Whether a recursive CTE may have several recursive SELECTs (``seed UNION a UNION b``).

    SQLite (3.34+) runs each recursive SELECT against the queue and looks up every edge
    table through its index; a UNION ALL subquery of edge tables would instead be
    materialised whole on every step. PostgreSQL allows only one recursive reference, so it
    gets one step over a LATERAL union of the edge kinds (a plain subquery there is
    hash-joined whole on every step, which grows with the table instead of the walk).
    """
    return dialect != "postgresql"


def sorted_string_agg(dialect: str, column: Any, separator: str = ",") -> ColumnElement[Any]:
    """The values of ``column`` in a group joined in sorted order (equal sets, equal text).

    SQLite's group_concat takes no ORDER BY before 3.44: callers feed it rows that are
    already sorted (a subquery with ORDER BY), which SQLite keeps in practice.
    """
    if dialect == "postgresql":
        return func.string_agg(column, aggregate_order_by(literal(separator, Text), column))
    return func.group_concat(column, separator)


def id_hex(dialect: str, column: Any) -> ColumnElement[str]:
    """A uuid column as 32 lowercase hex digits: SQLite's stored form, PostgreSQL's text
    form without dashes."""
    if dialect == "postgresql":
        return func.replace(cast(column, Text), "-", "")
    return type_coerce(column, String)


def id_text(dialect: str, column: Any) -> ColumnElement[str]:
    """A uuid column as the text the API shows (lowercase, with dashes): a page of a
    thousand rows needs no ``uuid.UUID`` built for each of its ids. For the columns of an
    answer only, not for comparing in SQL: SQLite keeps a uuid as 32 hex digits, and their
    dashes are put in as each is read (slicing in Python costs half of what SQLite's
    ``substr`` and ``||`` cost for the same ids)."""
    if dialect == "postgresql":
        return cast(column, Text)
    return type_coerce(column, _DashedHex())


class _DashedHex(TypeDecorator[str]):
    """Read 32 hex digits as the dashed text of a uuid."""

    impl = String
    cache_ok = True

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        def dashed(h: str | None) -> str | None:
            if h is None or len(h) != 32:
                return h
            return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

        return dashed


def utc_text(dialect: str, column: Any) -> ColumnElement[str]:
    """A timestamp column as the text the API shows (RFC 3339 in UTC with ``Z``, the
    fraction left out when it is zero, as ``orjson`` writes a ``datetime``), for rows read
    from the driver as they are: no ``datetime`` is made for each of a page's times only to
    be written out again. SQLite keeps the UTC time as text with six digits of fraction."""
    if dialect == "postgresql":
        utc = func.timezone("UTC", column)
        whole = func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS')
        fraction = func.to_char(utc, '"."US"Z"')
        return whole.concat(
            case((func.to_char(utc, "US") == "000000", literal("Z")), else_=fraction)
        )
    stored = type_coerce(column, String)
    dated = func.replace(stored, " ", "T")
    return case(
        (stored.like("%.000000"), func.substr(dated, 1, 19).concat("Z")),
        else_=dated.concat("Z"),
    )


def document_text(dialect: str, column: Any) -> ColumnElement[str]:
    """A JSON column as its text, for rows read from the driver as they are."""
    if dialect == "postgresql":
        return cast(column, Text)
    return type_coerce(column, String)


def json_member(dialect: str, column: Any, key: str) -> ColumnElement[Any]:
    """The JSON text of the member ``key`` of an object column; NULL where it has none (a
    member that is JSON null reads as ``'null'``)."""
    if dialect == "postgresql":
        return cast(type_coerce(column, JSONB).op("->")(literal(key, Text)), Text)
    path = _sqlite_path((key,))
    return case(
        (func.json_type(column, path).is_(None), None),
        else_=func.json_quote(func.json_extract(column, path)),
    )


def among(dialect: str, column: Any, name: str, *, uuids: bool = False) -> ColumnElement[bool]:
    """``column IN`` the values of the parameter ``name``, bound whole (see ``values``):
    the statement is the same whatever the count, so it is compiled and prepared once, and
    no count runs into a driver's limit on parameters. ``uuids``: hex ids against a uuid
    column."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY, UUID

        array = bindparam(name, type_=ARRAY(Text))
        return column == any_(cast(array, ARRAY(UUID)) if uuids else array)  # type: ignore[no-any-return]
    column = type_coerce(column, String) if uuids else column
    listed: Select[Any] = select(literal_column("value")).select_from(
        func.json_each(bindparam(name, type_=Text))
    )
    return column.in_(listed)  # type: ignore[no-any-return]


def among_ids(dialect: str, column: Any, name: str) -> ColumnElement[bool]:
    """``among`` for a uuid column and the ids of ``id_values``. On PostgreSQL the parameter
    is a ``uuid[]`` itself: cast from text inside the statement, a prepared statement's
    generic plan casts the whole array again for every row it filters (a thousand ids
    against a thousand rows took over half a second)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY, UUID

        return column == any_(bindparam(name, type_=ARRAY(UUID(as_uuid=True))))  # type: ignore[no-any-return]
    return among(dialect, column, name, uuids=True)


def id_values(dialect: str, ids: Sequence[str]) -> Any:
    """The value of an ``among_ids`` parameter from ids as text (with or without dashes)."""
    if dialect == "postgresql":
        return [uuid.UUID(i) for i in ids]
    return orjson.dumps([i.replace("-", "") for i in ids]).decode()


def equals(dialect: str, column: Any, name: str, *, uuids: bool = False) -> ColumnElement[bool]:
    """``column =`` the one value of the parameter ``name`` (a hex id against a uuid column,
    with ``uuids``). For a read keyed by one id, rather than ``among`` a list of one:
    PostgreSQL plans a prepared statement with a single value once (its generic plan) and
    then only runs it, but plans one with ``= ANY`` an array afresh on every run, since for
    an array of unknown length its generic plan looks costlier. Planning is most of what a
    small read costs there."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import UUID

        value = bindparam(name, type_=Text)
        return column == (cast(value, UUID) if uuids else value)  # type: ignore[no-any-return]
    return (type_coerce(column, String) if uuids else column) == bindparam(name, type_=Text)


def values(dialect: str, items: Sequence[str]) -> Any:
    """The value of an ``among`` parameter: a JSON array on SQLite, a list on PostgreSQL."""
    return list(items) if dialect == "postgresql" else orjson.dumps(list(items)).decode()


def id_dashed(dialect: str, column: Any) -> ColumnElement[str]:
    """A uuid column as the text the API shows (lowercase, with dashes), for comparing in
    SQL (``id_text`` inserts the dashes as rows are read)."""
    if dialect == "postgresql":
        return cast(column, Text)
    hexed = type_coerce(column, String)
    parts = [func.substr(hexed, start, length) for start, length in _UUID_PARTS]
    dashed: ColumnElement[str] = parts[0]
    for part in parts[1:]:
        dashed = dashed.concat("-").concat(part)
    return dashed


_UUID_PARTS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))

# A JSON object of string members as ``orjson`` writes it (no spaces; escapes PostgreSQL's
# JSONB reads), so that text kept in a document is parsed only when parsing cannot fail.
_JSON_STRING = (
    r'"([^"\\\x01-\x1f]'
    r"|\\([\"\\/bfnrt]|u(?!0000)([0-9a-cA-Ce-fE-F][0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2})))*\""
)
_FLAT_OBJECT_RE = rf"^\{{({_JSON_STRING}:{_JSON_STRING}(,{_JSON_STRING}:{_JSON_STRING})*)?\}}$"


def json_text_keyed(dialect: str, column: Any, key: Any) -> ColumnElement[Any]:
    """The text of the member of an object column named by the SQL expression ``key``; NULL
    where there is none."""
    if dialect == "postgresql":
        member = type_coerce(column, JSONB).op("->>")(type_coerce(key, Text).self_group())
        return type_coerce(member, Text)
    path = literal('$."').concat(key).concat('"')
    return cast(func.json_extract(column, path), String)


def json_string_in_text(dialect: str, text: Any, key: str) -> ColumnElement[Any]:
    """The string member ``key`` of a JSON object of strings held as text (an annotation
    whose value is such an object); NULL where the text is not one, or has no such member."""
    if dialect == "postgresql":
        text = type_coerce(text, Text)
        parsed = type_coerce(cast(text, JSONB).op("->>")(literal(key, Text)), Text)
        return case((text.op("~")(literal(_FLAT_OBJECT_RE, Text)), parsed), else_=None)
    path = _sqlite_path((key,))
    valid = and_(func.json_valid(text) == 1, func.json_type(text) == "object")
    return case(
        (and_(valid, func.json_type(text, path) == "text"), func.json_extract(text, path)),
        else_=None,
    )
