"""MLflow's search grammar: ``filter_string`` and ``order_by`` of ``search_runs`` and
``search_experiments``, parsed into clauses that are applied to the rows read.

A filter is clauses joined by AND: ``metrics.acc > 0.9 and params.lr = '0.01' and
tags."team" != 'x' and attributes.status IN ('FINISHED', 'FAILED') and datasets.name LIKE
'mnist%'``. Keys may be quoted with backticks or double quotes; values are quoted strings or
numbers. What MLflow refuses is refused with its code (INVALID_PARAMETER_VALUE) and the place
of the mistake.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from modeltrail.domain import limits
from modeltrail.integrations.mlflow.errors import invalid

METRIC, PARAM, TAG, ATTRIBUTE, DATASET = "metric", "param", "tag", "attribute", "dataset"
ENTITY_TYPES = {
    "metric": METRIC,
    "metrics": METRIC,
    "param": PARAM,
    "params": PARAM,
    "parameter": PARAM,
    "parameters": PARAM,
    "tag": TAG,
    "tags": TAG,
    "attribute": ATTRIBUTE,
    "attributes": ATTRIBUTE,
    "attr": ATTRIBUTE,
    "run": ATTRIBUTE,
    "dataset": DATASET,
    "datasets": DATASET,
}

NUMERIC_OPS = frozenset({"=", "!=", ">", ">=", "<", "<="})
STRING_OPS = frozenset({"=", "!=", "LIKE", "ILIKE"})
NULL_OPS = frozenset({"IS NULL", "IS NOT NULL"})
LIST_OPS = frozenset({"IN", "NOT IN"})


@dataclass(frozen=True)
class Grammar:
    """What one search accepts: its attributes (numeric ones compared as numbers) and which
    entity types it knows besides attributes and tags."""

    string_attributes: frozenset[str]
    numeric_attributes: frozenset[str]
    aliases: Mapping[str, str] = field(default_factory=dict)
    list_attributes: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset({ATTRIBUTE, TAG})
    # Numeric attributes compared as integers: sent as an integer or as a quoted one, as
    # MLflow's registry takes a version number (a fraction is refused).
    integer_attributes: frozenset[str] = frozenset()
    # Whether a tag may be asked to be absent (``IS NULL``): not in MLflow's registry.
    nulls: bool = True
    # The spellings of an entity type a filter may use (all of ``ENTITY_TYPES`` unless
    # named): MLflow's registry takes ``attribute``, ``tag`` and ``tags`` alone.
    prefixes: frozenset[str] | None = None


RUNS = Grammar(
    string_attributes=frozenset(
        {"run_id", "run_name", "status", "user_id", "artifact_uri", "lifecycle_stage"}
    ),
    numeric_attributes=frozenset({"start_time", "end_time"}),
    aliases={"created": "start_time", "Created": "start_time", "run name": "run_name"}
    | {"Run name": "run_name", "Run Name": "run_name"},
    list_attributes=frozenset({"run_id"}),
    types=frozenset({METRIC, PARAM, TAG, ATTRIBUTE, DATASET}),
)
EXPERIMENTS = Grammar(
    string_attributes=frozenset({"name", "experiment_id"}),
    numeric_attributes=frozenset({"creation_time", "last_update_time"}),
)
DATASET_KEYS = frozenset({"name", "digest", "context"})


@dataclass(frozen=True)
class Clause:
    type: str
    key: str
    op: str
    value: Any  # a string, a float, a tuple of strings, or None


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*")
    | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![\w.])
    | (?P<op>>=|<=|!=|<>|=|>|<)
    | (?P<punct>[(),])
    | (?P<word>(?:[A-Za-z_][\w]*)(?:\.(?:`[^`]*`|"[^"]*"|[\w.\-/:]+))?)
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            at = len(text) - len(text[pos:].lstrip())
            raise invalid(
                f"Invalid filter {text!r}: cannot read {text[at : at + 20]!r} at position {at}"
            )
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return out


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"`":
        inner = value[1:-1]
        return inner.replace("''", "'") if value[0] == "'" else inner
    return value


def _identifier(word: str, grammar: Grammar, where: str) -> tuple[str, str]:
    if "." in word:
        prefix, key = word.split(".", 1)
        kind = ENTITY_TYPES.get(prefix)
        spellings = sorted(
            t
            for t, k in ENTITY_TYPES.items()
            if k in grammar.types and (grammar.prefixes is None or t in grammar.prefixes)
        )
        if kind is None or prefix not in spellings:
            raise invalid(f"Invalid entity type '{prefix}' in {where}. Valid types are {spellings}")
    else:
        kind, key = ATTRIBUTE, word
    key = _unquote(key)
    if not key:
        raise invalid(f"Invalid identifier {word!r} in {where}: the key is empty")
    if kind == ATTRIBUTE:
        key = grammar.aliases.get(key, key)
        known = grammar.string_attributes | grammar.numeric_attributes
        if key not in known:
            raise invalid(
                f"Invalid attribute key '{key}' specified. Valid keys are '{sorted(known)}'"
            )
    if kind == DATASET and key not in DATASET_KEYS:
        raise invalid(
            f"Invalid dataset key '{key}' specified. Valid keys are '{sorted(DATASET_KEYS)}'"
        )
    return kind, key


def parse_filter(text: str | None, grammar: Grammar) -> list[Clause]:
    """The clauses of a filter string (none for an empty one)."""
    if not text or not text.strip():
        return []
    if len(text) > limits.MAX_FILTER_TEXT:
        raise invalid(f"The filter is {len(text)} characters long; at most 4096 are allowed")
    tokens = _tokens(text)
    clauses: list[Clause] = []
    i = 0

    def expect(what: str) -> tuple[str, str, int]:
        if i >= len(tokens):
            raise invalid(f"Invalid filter {text!r}: expected {what} at the end")
        return tokens[i]

    while True:
        kind, word, at = expect("a key such as metrics.accuracy")
        if kind != "word":
            raise invalid(f"Invalid filter {text!r}: expected a key at position {at}, not {word!r}")
        entity, key = _identifier(word, grammar, "the filter")
        i += 1
        kind, op, at = expect("a comparison")
        op_upper = op.upper()
        if kind == "op":
            op = "!=" if op == "<>" else op
            i += 1
        elif kind == "word" and op_upper in ("LIKE", "ILIKE", "IN"):
            op = op_upper
            i += 1
        elif kind == "word" and op_upper in ("NOT", "IS"):
            i += 1
            kind2, nxt, _ = expect("a comparison")
            nxt = nxt.upper()
            if op_upper == "NOT" and nxt == "IN":
                op, i = "NOT IN", i + 1
            elif op_upper == "IS" and nxt == "NULL":
                op, i = "IS NULL", i + 1
            elif op_upper == "IS" and nxt == "NOT":
                i += 1
                if expect("NULL")[1].upper() != "NULL":
                    raise invalid(f"Invalid filter {text!r}: expected NULL after IS NOT")
                op, i = "IS NOT NULL", i + 1
            else:
                raise invalid(f"Invalid filter {text!r}: unknown comparison at position {at}")
        else:
            raise invalid(f"Invalid filter {text!r}: expected a comparison at position {at}")
        value: Any = None
        if op in LIST_OPS:
            value, i = _list(tokens, i, text)
        elif op not in NULL_OPS:
            kind, raw, at = expect("a value")
            if kind == "string":
                value = _unquote(raw)
            elif kind == "number":
                value = float(raw)
            else:
                raise invalid(
                    f"Invalid filter {text!r}: expected a quoted string or a number at "
                    f"position {at}, not {raw!r}"
                )
            if entity == ATTRIBUTE and key in grammar.integer_attributes:
                value = _integer(key, raw if kind == "number" else value)
            i += 1
        clauses.append(_checked(Clause(entity, key, op, value), grammar))
        if i >= len(tokens):
            return clauses
        kind, word, at = tokens[i]
        if kind != "word" or word.upper() != "AND":
            raise invalid(
                f"Invalid filter {text!r}: expected AND at position {at}, not {word!r} "
                "(MLflow's search joins clauses with AND only)"
            )
        i += 1


def _list(tokens: list[tuple[str, str, int]], i: int, text: str) -> tuple[tuple[str, ...], int]:
    if i >= len(tokens) or tokens[i][1] != "(":
        raise invalid(f"Invalid filter {text!r}: IN takes a list such as ('a', 'b')")
    i += 1
    values: list[str] = []
    while True:
        if i >= len(tokens) or tokens[i][0] != "string":
            raise invalid(f"Invalid filter {text!r}: IN takes a list of quoted strings")
        values.append(_unquote(tokens[i][1]))
        i += 1
        if i < len(tokens) and tokens[i][1] == ",":
            i += 1
            continue
        if i < len(tokens) and tokens[i][1] == ")":
            return tuple(values), i + 1
        raise invalid(f"Invalid filter {text!r}: the list after IN is not closed")


def _integer(key: str, text: str) -> int:
    """``text`` (a number as written, or a quoted string's content) as an integer, as
    MLflow's ``int(value)`` takes it (``' 1_000'`` is 1000); a fraction or anything else is
    refused."""
    try:
        return int(text)
    except ValueError:
        raise invalid(f"Invalid value for numeric attribute '{key}': {text[:64]!r}") from None


def _checked(clause: Clause, grammar: Grammar) -> Clause:
    kind, key, op, value = clause.type, clause.key, clause.op, clause.value
    numeric = kind == METRIC or (kind == ATTRIBUTE and key in grammar.numeric_attributes)
    if numeric:
        if op not in NUMERIC_OPS:
            raise invalid(f"Invalid comparator '{op}' for {kind} {key!r}: use =, !=, <, <=, >, >=")
        integer = key in grammar.integer_attributes and isinstance(value, int)
        if not isinstance(value, float) and not integer:
            raise invalid(f"Expected numeric value type for {kind} {key!r}. Found {value!r}")
        return clause
    if kind in (PARAM, TAG):
        allowed = STRING_OPS | (NULL_OPS if grammar.nulls else frozenset())
    elif kind == DATASET:
        allowed = STRING_OPS | LIST_OPS
    else:
        allowed = STRING_OPS | (LIST_OPS if key in grammar.list_attributes else frozenset())
    if op not in allowed:
        raise invalid(f"Invalid comparator '{op}' for {kind} {key!r}: use one of {sorted(allowed)}")
    if op in STRING_OPS and not isinstance(value, str):
        raise invalid(f"Expected a quoted string value for {kind} {key!r}. Found {value!r}")
    return clause


def _like(pattern: str, flags: int = 0) -> re.Pattern[str]:
    out = []
    for ch in pattern:
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
    return re.compile("".join(out), flags | re.DOTALL)


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == "LIKE":
        return _like(right).fullmatch(left) is not None
    if op == "ILIKE":
        return _like(right, re.IGNORECASE).fullmatch(left) is not None
    if op == "IN":
        return left in right
    if op == "NOT IN":
        return left not in right
    if isinstance(left, float) and math.isnan(left):
        return False
    if op == ">":
        return bool(left > right)
    if op == ">=":
        return bool(left >= right)
    if op == "<":
        return bool(left < right)
    return bool(left <= right)


def matches(clauses: Iterable[Clause], lookup: Callable[[str, str], Any]) -> bool:
    """Whether a row meets every clause; ``lookup(type, key)`` gives the row's value (None when
    it has none). Runs, whose clauses may name datasets, are matched in SQL instead
    (``run_query``)."""
    for c in clauses:
        value = lookup(c.type, c.key)
        if c.op == "IS NULL":
            if value is not None:
                return False
            continue
        if c.op == "IS NOT NULL":
            if value is None:
                return False
            continue
        if value is None:
            return False  # as in MLflow's SQL: a row without the key never compares
        if isinstance(c.value, float):
            try:
                value = float(value)
            except (TypeError, ValueError):
                return False
        elif not isinstance(value, str):
            value = str(value)
        if not _compare(c.op, value, c.value):
            return False
    return True


@dataclass(frozen=True)
class Order:
    type: str
    key: str
    ascending: bool


def parse_order_by(items: Iterable[str], grammar: Grammar) -> list[Order]:
    out = []
    for item in items:
        text = item.strip()
        ascending = True
        match = re.fullmatch(r"(.+?)\s+(asc|desc|ASC|DESC|Asc|Desc)", text)
        if match:
            text, ascending = match.group(1).strip(), match.group(2).lower() == "asc"
        if not text or not re.fullmatch(r"[A-Za-z_]\w*(\.(`[^`]*`|\"[^\"]*\"|[^\s]+))?", text):
            raise invalid(f"Invalid order_by clause '{item}'. Could not be parsed.")
        kind, key = _identifier(text, grammar, "order_by")
        if kind == DATASET:
            raise invalid(f"Invalid order_by clause '{item}': datasets cannot be ordered on")
        out.append(Order(kind, key, ascending))
    return out


def sort(rows: list[Any], orders: list[Order], lookup: Callable[[Any, str, str], Any]) -> None:
    """Sort ``rows`` in place by ``orders``; a row without the key goes last either way, as in
    MLflow."""
    for order in reversed(orders):

        def key(row: Any, order: Order = order) -> tuple[bool, Any]:
            value = lookup(row, order.type, order.key)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return (order.ascending, 0)
            return (not order.ascending, value)

        rows.sort(key=key, reverse=not order.ascending)


# The greatest offset a page token may hold: far beyond any store's rows, and with a page
# added still within the databases' 64-bit integers (an offset of 2**63 was a 500).
MAX_OFFSET = 2**62


def decode_page_token(token: str | None) -> int:
    if not token:
        return 0
    if not isinstance(token, str):
        raise invalid("Invalid page token: send the next_page_token answered")
    try:
        offset = orjson.loads(base64.b64decode(token, validate=True))["offset"]
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        raise invalid(
            f"Invalid page token {token[:64]!r}: send the next_page_token answered"
        ) from None
    if not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise invalid("Invalid page token: send the next_page_token answered")
    return offset


def encode_page_token(offset: int) -> str:
    return base64.b64encode(orjson.dumps({"offset": offset})).decode()
