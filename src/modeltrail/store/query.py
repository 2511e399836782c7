"""The ``q`` expression of a list (``domain.query``) as one SQL condition.

Every predicate is two-valued: a field that is absent (a key a document does not hold, a
metric a run did not log) makes a comparison false rather than unknown, so that ``not`` and
``!=`` select the rows the comparison does not, as a reader of the expression expects.
Values are typed by what they are compared with: a number against a document path compares
numbers (the values stored as numbers or numeric text), quoted text compares text; a number
against a text column, or text against a metric, is refused naming the column of the
expression where the predicate starts.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from modeltrail.domain.errors import InvalidInput
from modeltrail.domain.filters import Filter, Op
from modeltrail.domain.mlflow_names import normalise
from modeltrail.domain.models import in_utc, unstorable_number
from modeltrail.domain.query import (
    And,
    Cmp,
    Compare,
    Field,
    In,
    IsNull,
    Like,
    Node,
    Not,
    Or,
    Predicate,
    conjuncts,
    predicates,
)
from modeltrail.domain.query_tokens import Value, query_error
from modeltrail.store import dialect as d
from modeltrail.store.fields import Fields, entity_fields, number_name, resolve
from modeltrail.store.tables import UTCDateTime

MAX_LIKE_WILDCARDS = 8


def _as_filter(field: Field, op: Op = Op.CONTAINS, value: str | tuple[str, ...] = "") -> Filter:
    return Filter(field.path, op, value, field.name, column=field.column)


def kind_checks(node: Node | None) -> list[Filter]:
    """The predicates as filters for ``listing.check_kind_attributes``: a top-level
    ``kind = X`` or ``kind in (...)`` restricts the kinds the other paths are checked
    against, as ``filter=kind:eq:X`` does."""
    if node is None:
        return []
    out = []
    for part in conjuncts(node):
        if isinstance(part, Compare) and part.field.path == ("kind",) and part.op is Cmp.EQ:
            out.append(_as_filter(part.field, Op.EQ, str(part.value)))
        elif isinstance(part, In) and part.field.path == ("kind",) and not part.negated:
            out.append(_as_filter(part.field, Op.IN, tuple(str(v) for v in part.values)))
    out.extend(_as_filter(p.field) for p in predicates(node))
    return out


def query_clause(dialect: str, fields: Fields, node: Node) -> ColumnElement[bool]:
    """``node`` as a condition on the rows ``fields`` describes."""
    if isinstance(node, And):
        return and_(*(query_clause(dialect, fields, n) for n in node.operands))
    if isinstance(node, Or):
        return or_(*(query_clause(dialect, fields, n) for n in node.operands))
    if isinstance(node, Not):
        return not_(query_clause(dialect, fields, node.operand))
    return _predicate(dialect, fields, node, node.field.path)


def _error(field: Field, message: str) -> InvalidInput:
    return query_error(f"'{field.name}': {message}", field.column)


def _with_path(p: Predicate, path: tuple[str, ...]) -> Predicate:
    field = Field(path, p.field.column)
    if isinstance(p, Compare):
        return Compare(field, p.op, p.value)
    if isinstance(p, In):
        return In(field, p.values, p.negated)
    if isinstance(p, Like):
        return Like(field, p.pattern, p.case_sensitive, p.negated)
    return IsNull(field, p.negated)


def _predicate(
    dialect: str, fields: Fields, p: Predicate, path: tuple[str, ...]
) -> ColumnElement[bool]:
    head = path[0]
    if head == "run" and len(path) == 2 and "run" not in fields.named:
        # MLflow's ``run.status``: the run's own field, on the list of runs.
        path = normalise(path[1:])
        head = path[0]
    if head in fields.named and len(path) > 1 and head not in fields.documents:
        return _related(dialect, fields, p, path)
    where, target, subpath = resolve(dialect, fields, path, _as_filter(p.field))
    if where == "relation" or (where == "column" and head in fields.named):
        return _ids_or_names(fields, p, head, target, where)
    if where == "column":
        return _on_column(dialect, p, target)
    if where == "derived":
        return _on_number(dialect, p, target, f"{number_name(head)} is a number")
    return _on_document(dialect, p, target, subpath)


def _related(
    dialect: str, fields: Fields, p: Predicate, path: tuple[str, ...]
) -> ColumnElement[bool]:
    head = path[0]
    target = fields.named[head]
    inner = _predicate(dialect, entity_fields(target), _with_path(p, path[1:]), path[1:])
    matching = select(target.id).where(inner)
    if head in fields.relations:
        return fields.relations[head](matching)  # type: ignore[no-any-return]
    column = fields.columns[head]
    return and_(column.is_not(None), column.in_(matching))


def _ids_or_names(
    fields: Fields, p: Predicate, head: str, target: Any, where: str
) -> ColumnElement[bool]:
    """A field that holds another entity: ``= "id or name"``, ``in (...)``, ``is null``."""
    match = target if where == "relation" else target.in_
    if isinstance(p, IsNull):
        if where == "relation":
            raise _error(p.field, "ask 'is null' of a field, not of a relation")
        null: ColumnElement[bool] = target.is_not(None) if p.negated else target.is_(None)
        return null
    if isinstance(p, Compare) and p.op in (Cmp.EQ, Cmp.NE):
        values: tuple[Value, ...] = (p.value,)
        negated = p.op is Cmp.NE
    elif isinstance(p, In):
        values, negated = p.values, p.negated
    else:
        raise _error(
            p.field,
            f"holds {_a(head)}: compare it with =, != or in, or name a field of it ({head}.name)",
        )
    ids, names = [], []
    for v in values:
        if not isinstance(v, str):
            raise _error(p.field, f"expects the {head}'s id or name as quoted text")
        try:
            ids.append(uuid.UUID(v))
        except ValueError:
            names.append(v)
    related = fields.named.get(head)
    clauses = []
    if ids:
        clauses.append(match(ids))
    if names:
        if related is None:
            raise _error(p.field, "expects ids")
        clauses.append(match(select(related.id).where(related.name.in_(names))))
    hit = or_(*clauses)
    if where == "column":
        hit = and_(target.is_not(None), hit)
    return not_(hit) if negated else hit


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _python_type(column: Any) -> type | None:
    if isinstance(column.type, UTCDateTime):
        return datetime
    try:
        return column.type.python_type  # type: ignore[no-any-return]
    except NotImplementedError:
        return None


def _column_value(field: Field, column: Any, value: Value) -> Any:
    kind = _python_type(column)
    if kind is datetime:
        if isinstance(value, bool):
            raise _error(field, "is a time: compare it with an ISO 8601 time in quotes")
        if isinstance(value, int | float):
            # MLflow's times are milliseconds since the epoch.
            try:
                return datetime.fromtimestamp(value / 1000, UTC)
            except (OverflowError, ValueError, OSError):
                raise _error(field, f"{value} is no time in milliseconds") from None
        try:
            return in_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            raise _error(field, f"{value!r} is not an ISO 8601 time") from None
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _error(field, f"is a number: compare it with a number, not {value!r}")
        if (reason := unstorable_number(int(value))) is not None:
            raise _error(field, reason)
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise _error(field, "is true or false: compare it with true or false")
        return value
    if kind is uuid.UUID:
        if not isinstance(value, str):
            raise _error(field, "is an id: compare it with an id in quotes")
        try:
            return uuid.UUID(value)
        except ValueError:
            raise _error(field, f"{value!r} is not an id") from None
    if not isinstance(value, str):
        raise _error(field, f"is text: put {value!r} in quotes to compare it as text")
    return value


def _compare(expr: Any, op: Cmp, value: Any) -> ColumnElement[bool]:
    match op:
        case Cmp.EQ:
            return expr == value  # type: ignore[no-any-return]
        case Cmp.NE:
            return expr != value  # type: ignore[no-any-return]
        case Cmp.LT:
            return expr < value  # type: ignore[no-any-return]
        case Cmp.LE:
            return expr <= value  # type: ignore[no-any-return]
        case Cmp.GT:
            return expr > value  # type: ignore[no-any-return]
        case Cmp.GE:
            return expr >= value  # type: ignore[no-any-return]


def _present(expr: Any, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """``condition`` false, not unknown, where ``expr`` is NULL."""
    return and_(expr.is_not(None), condition)


def _two_valued(expr: Any, op: Cmp, value: Any) -> ColumnElement[bool]:
    if op is Cmp.NE:
        return or_(expr.is_(None), expr != value)
    return _present(expr, _compare(expr, op, value))


def _on_column(dialect: str, p: Predicate, column: Any) -> ColumnElement[bool]:
    if isinstance(p, IsNull):
        null: ColumnElement[bool] = column.is_not(None) if p.negated else column.is_(None)
        return null
    if isinstance(p, Like):
        if _python_type(column) is not str:
            raise _error(p.field, "is not text: like, prefix and contains match text")
        return _like(dialect, column, p)
    if isinstance(p, In):
        values = [_column_value(p.field, column, v) for v in p.values]
        hit = _present(column, column.in_(values))
        return not_(hit) if p.negated else hit
    return _two_valued(column, p.op, _column_value(p.field, column, p.value))


def _on_number(dialect: str, p: Predicate, expr: Any, what: str) -> ColumnElement[bool]:
    if isinstance(p, IsNull):
        null: ColumnElement[bool] = expr.is_not(None) if p.negated else expr.is_(None)
        return null
    if isinstance(p, Like):
        raise _error(p.field, f"{what}: like, prefix and contains match text")
    values = p.values if isinstance(p, In) else (p.value,)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise _error(p.field, f"{what}: compare it with a number, not {v!r}")
    if isinstance(p, In):
        hit = _present(expr, expr.in_([float(v) for v in values]))
        return not_(hit) if p.negated else hit
    return _two_valued(expr, p.op, float(p.value))


def _on_document(
    dialect: str, p: Predicate, column: Any, path: tuple[str, ...]
) -> ColumnElement[bool]:
    text = d.json_text(dialect, column, path)
    if isinstance(p, IsNull):
        return text.is_not(None) if p.negated else text.is_(None)
    if isinstance(p, Like):
        return _like(dialect, text, p)
    values = p.values if isinstance(p, In) else (p.value,)
    kinds = {bool if isinstance(v, bool) else str if isinstance(v, str) else float for v in values}
    if len(kinds) > 1:
        raise _error(p.field, "give values of one type: all numbers, all text or all booleans")
    kind = kinds.pop()
    if kind is bool:
        if isinstance(p, Compare) and p.op not in (Cmp.EQ, Cmp.NE):
            raise _error(p.field, "true and false compare with = and != only")
        hit = _present(
            text, or_(*(d.json_is_boolean(dialect, column, path, bool(v)) for v in values))
        )
        negated = p.negated if isinstance(p, In) else p.op is Cmp.NE
        return not_(hit) if negated else hit
    expr = d.json_number(dialect, column, path) if kind is float else text
    cast_values = [float(v) if kind is float else v for v in values]
    if isinstance(p, In):
        hit = _present(expr, expr.in_(cast_values))
        return not_(hit) if p.negated else hit
    return _two_valued(expr, p.op, cast_values[0])


def _collapsed(pattern: str) -> tuple[str, int]:
    """The pattern with runs of '%' made one, and how many wildcards '%' it holds."""
    out: list[str] = []
    wildcards = 0
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if c == "%":
            if out and out[-1] == "%":
                i += 1
                continue
            wildcards += 1
        out.append(c)
        i += 1
    return "".join(out), wildcards


def _like(dialect: str, expr: Any, p: Like) -> ColumnElement[bool]:
    pattern, wildcards = _collapsed(p.pattern)
    if wildcards > MAX_LIKE_WILDCARDS:
        # Each further '%' multiplies the work of matching a long text.
        raise _error(p.field, f"a pattern holds at most {MAX_LIKE_WILDCARDS} '%' wildcards")
    if pattern == "%":
        hit: ColumnElement[bool] = expr.is_not(None)
    else:
        hit = _present(expr, d.like(dialect, expr, pattern, case_sensitive=p.case_sensitive))
    return not_(hit) if p.negated else hit
