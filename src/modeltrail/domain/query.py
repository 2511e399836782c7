"""The ``q`` language of every list: boolean expressions over the fields ``filter`` names.

::

    metrics.accuracy > 0.9 and (configuration.optimizer = "adam" or
        configuration.optimizer = "sgd") and not annotations.team = "legacy"

Precedence is ``not`` over ``and`` over ``or``; parentheses group. A predicate is a field
(a dotted path; a segment in backticks or, after a dot, in quotes may hold any character)
followed by one of ``= != <> < <= > >=`` and a value, ``[not] in (v, ...)``, ``[not] like``
/ ``ilike`` a pattern (``%`` any text, ``_`` one character, ``\\`` escapes), ``prefix`` /
``contains`` a text, or ``is [not] null``. Values are quoted text (``"..."`` or ``'...'``),
numbers, ``true`` and ``false``. Keywords are case-insensitive.

MLflow's ``search_runs`` filter grammar is a subset: ``params.x`` is ``configuration.x``,
``tags.x`` is ``annotations.x``, ``attributes.status`` (``attribute.``, ``attr.``; ``run.``
where the list has no relation of that name) is the run's own field, and MLflow's attribute
names (``run_name``, ``start_time``, ``end_time``, ``run_id``, ``experiment_id``) are ours
(``name``, ``createTime``, ...).

A hand-written recursive-descent parser, not a grammar library: the language is a dozen
productions, every error names the column it happened at, the nesting depth and the size of
an expression are bounded before any recursion, and the server gains no dependency.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Union

from modeltrail.domain import limits
from modeltrail.domain.errors import InvalidInput
from modeltrail.domain.mlflow_names import normalise
from modeltrail.domain.query_tokens import Token, Value, query_error, tokenize


class Cmp(StrEnum):
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


@dataclass(frozen=True)
class Field:
    """A dotted field as written, with the column (1-based) where it starts."""

    path: tuple[str, ...]
    column: int

    @property
    def name(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Compare:
    field: Field
    op: Cmp
    value: Value


@dataclass(frozen=True)
class In:
    field: Field
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True)
class Like:
    """``like``/``ilike`` with an SQL pattern; ``prefix`` and ``contains`` become one too."""

    field: Field
    pattern: str
    case_sensitive: bool = True
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    field: Field
    negated: bool = False


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


Predicate = Compare | In | Like | IsNull
Node = Union[Predicate, Not, And, Or]  # noqa: UP007 - a forward reference


# ---------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str, param: str) -> None:
        self.param = param
        self.tokens = tokenize(text, param=param)
        self.i = 0
        self.predicates = 0

    def error(self, message: str, token: Token | None = None) -> InvalidInput:
        return query_error(message, (token or self.peek()).column, param=self.param)

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "keyword" and token.value in words

    def expect(self, kind: str, what: str) -> Token:
        token = self.peek()
        if token.kind != kind:
            raise self.error(f"expected {what}, found {_describe(token)}")
        return self.take()

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error("the expression is empty")
        node = self.or_(0)
        if self.peek().kind != "end":
            raise self.error(f"expected 'and', 'or' or the end, found {_describe(self.peek())}")
        return node

    def or_(self, depth: int) -> Node:
        operands = [self.and_(depth)]
        while self.at_keyword("or"):
            self.take()
            operands.append(self.and_(depth))
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_(self, depth: int) -> Node:
        operands = [self.not_(depth)]
        while self.at_keyword("and"):
            self.take()
            operands.append(self.not_(depth))
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def not_(self, depth: int) -> Node:
        # ``depth`` parentheses and ``not``s enclose this operand: MAX_QUERY_DEPTH of them pass.
        if depth > limits.MAX_QUERY_DEPTH:
            raise self.error(f"the expression nests deeper than {limits.MAX_QUERY_DEPTH} levels")
        if self.at_keyword("not"):
            self.take()
            return Not(self.not_(depth + 1))
        if self.peek().kind == "(":
            self.take()
            node = self.or_(depth + 1)
            self.expect(")", "')' to close the '('")
            return node
        return self.predicate()

    def field(self) -> Field:
        first = self.peek()
        if first.kind not in ("ident", "backticked"):
            raise self.error(f"expected a field name, found {_describe(first)}")
        parts = [str(self.take().value)]
        while self.peek().kind == ".":
            self.take()
            token = self.peek()
            if token.kind in ("ident", "backticked", "quoted", "keyword"):
                parts.append(token.text if token.kind == "keyword" else str(token.value))
                self.take()
            else:
                raise self.error(f"expected a name after '.', found {_describe(token)}")
        if any(not p for p in parts):
            raise self.error("a field name may not be empty", first)
        if len(parts) > limits.MAX_QUERY_PATH:
            raise self.error(f"field paths are at most {limits.MAX_QUERY_PATH} levels deep", first)
        return Field(normalise(tuple(parts)), first.column)

    def value(self) -> Value:
        token = self.peek()
        if token.kind in ("quoted", "number"):
            self.take()
            assert token.value is not None
            return token.value
        if token.kind == "keyword" and token.value in ("true", "false"):
            self.take()
            return token.value == "true"
        if token.kind == "keyword" and token.value == "null":
            raise self.error("compare with null as 'is null' or 'is not null'")
        if token.kind == "ident":
            raise self.error(f"expected a value, found the name {token.text!r}: quote text")
        raise self.error(f"expected a value, found {_describe(token)}")

    def text(self, what: str) -> str:
        token = self.peek()
        if token.kind != "quoted":
            raise self.error(f"{what} takes quoted text, found {_describe(token)}")
        self.take()
        return str(token.value)

    def predicate(self) -> Predicate:
        self.predicates += 1
        if self.predicates > limits.MAX_QUERY_PREDICATES:
            raise self.error(f"at most {limits.MAX_QUERY_PREDICATES} comparisons per expression")
        field = self.field()
        token = self.peek()
        if token.kind == "op":
            self.take()
            op = {"==": "=", "<>": "!="}.get(token.text, token.text)
            return Compare(field, Cmp(op), self.value())
        negated = False
        if self.at_keyword("not"):
            self.take()
            negated = True
            if not self.at_keyword("in", "like", "ilike"):
                raise self.error(
                    f"expected 'in', 'like' or 'ilike' after 'not', found {_describe(self.peek())}"
                )
        if self.at_keyword("in"):
            self.take()
            return In(field, self.values(), negated)
        if self.at_keyword("like", "ilike"):
            word = self.take().value
            return Like(field, self.text(str(word)), word == "like", negated)
        if self.at_keyword("prefix", "contains"):
            word = self.take().value
            literal = _escape_like(self.text(str(word)))
            pattern = literal + "%" if word == "prefix" else "%" + literal + "%"
            return Like(field, pattern, case_sensitive=word == "prefix")
        if self.at_keyword("is"):
            self.take()
            is_not = False
            if self.at_keyword("not"):
                self.take()
                is_not = True
            if not self.at_keyword("null"):
                raise self.error(f"expected 'null', found {_describe(self.peek())}")
            self.take()
            return IsNull(field, is_not)
        raise self.error(
            f"expected an operator (= != < <= > >= in like ilike prefix contains is) after "
            f"'{field.name}', found {_describe(token)}"
        )

    def values(self) -> tuple[Value, ...]:
        self.expect("(", "'(' to open the list of values")
        out = [self.value()]
        while self.peek().kind == ",":
            self.take()
            out.append(self.value())
            if len(out) > limits.MAX_FILTER_VALUES:
                raise self.error(f"'in' takes at most {limits.MAX_FILTER_VALUES} values")
        self.expect(")", "',' or ')' to close the list")
        return tuple(out)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _describe(token: Token) -> str:
    if token.kind == "end":
        return "the end of the expression"
    return repr(token.text[:40])


def _check_text(text: str, param: str) -> None:
    if len(text) > limits.MAX_QUERY_TEXT:
        raise query_error(
            f"an expression is at most {limits.MAX_QUERY_TEXT} characters long",
            limits.MAX_QUERY_TEXT + 1,
            param=param,
        )
    for i, c in enumerate(text):
        if c == "\x00":
            raise query_error("the expression holds a NUL character", i + 1, param=param)
        if "\ud800" <= c <= "\udfff":
            raise query_error(
                "the expression holds a lone surrogate, which is not text", i + 1, param=param
            )


def parse_query(text: str | None, *, param: str = "q") -> Node | None:
    """The expression ``text`` as a tree, None for no expression; a 422 that names the column
    of the first mistake otherwise."""
    if text is None or not text.strip():
        return None
    _check_text(text, param)
    return _Parser(text, param).parse()


def predicates(node: Node) -> list[Predicate]:
    """Every predicate in the tree, left to right."""
    out: list[Predicate] = []
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, And | Or):
            stack.extend(reversed(current.operands))
        elif isinstance(current, Not):
            stack.append(current.operand)
        else:
            out.append(current)
    return out


def conjuncts(node: Node) -> list[Node]:
    """The operands of a top-level ``and`` (the node itself otherwise)."""
    return list(node.operands) if isinstance(node, And) else [node]


def parse_columns(text: str | None, *, param: str = "columns") -> list[Field] | None:
    """``a.b,metrics.loss.min,configuration.`batch size``` as fields (the names of ``q``, with
    MLflow's ``params.`` and ``tags.``), None for none given. ``auto`` is left to the caller."""
    if text is None or not text.strip():
        return None
    _check_text(text, param)
    parser = _Parser(text, param)
    fields = [parser.field()]
    while parser.peek().kind == ",":
        parser.take()
        fields.append(parser.field())
        if len(fields) > limits.MAX_COLUMNS:
            raise parser.error(f"at most {limits.MAX_COLUMNS} columns")
    if parser.peek().kind != "end":
        raise parser.error(f"expected ',' or the end, found {_describe(parser.peek())}")
    return fields


def split_auto(fields: list[Field]) -> tuple[list[Field], bool]:
    """The columns named, without ``auto``, and whether ``auto`` (in any case: ``AUTO``,
    ``Auto``) was among them. No run has a field named so: the word stands for the columns
    chosen for you."""
    named = [f for f in fields if not (len(f.path) == 1 and f.path[0].lower() == "auto")]
    return named, len(named) < len(fields)
