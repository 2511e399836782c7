"""The one validator of kind attributes: draft 2020-12, offline, and bounded in time.

Every path that stores an artifact (a single create, an update, a batch, the importers)
decides with this validator and nothing else, so that they all accept and refuse the same
attributes.

Three things a kind's schema could otherwise do to the server are closed here:

- **I/O.** A ``$ref`` is resolved only inside the schema itself. The registry the validator
  resolves against refuses to retrieve anything, so a ``file://`` or ``http://`` reference is
  never read, not even for a kind stored before such references were refused.
- **Unbounded work.** Every keyword a validation evaluates counts against the request's
  ``budget``, so one request's validation stops after ``VALIDATION_BUDGET`` seconds of
  processor time whatever the schema and the values; a regular expression gets at most
  ``PATTERN_TIMEOUT`` per value.
- **Two answers.** ``multipleOf`` is decided exactly on the numbers as written and
  ``uniqueItems`` by hashing, so that the answer depends neither on floating-point rounding
  nor on how many items are compared pairwise.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

import orjson
import regex
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import DRAFT202012

# The processor time the attribute checks of one request may take (every artifact of a batch
# together). A schema and values that need more are refused, not waited for: the checks run on
# the server's threads, and a request that holds them holds everybody else's. Processor time,
# not elapsed time, so that a busy server does not refuse what an idle one accepts.
VALIDATION_BUDGET = 2.0  # seconds

# How long one regular expression may take on one value. The ``regex`` engine takes a timeout
# and lets other threads run while it matches; Python's ``re`` would backtrack for hours on
# ``^(a|aa)+$`` against forty characters and hold the interpreter meanwhile.
PATTERN_TIMEOUT = 0.05  # seconds

# The only meta-schema a kind's schema may name: the one it is validated by.
DIALECTS = frozenset(
    {
        "https://json-schema.org/draft/2020-12/schema",
        "https://json-schema.org/draft/2020-12/schema#",
    }
)


class Undecided(Exception):
    """Validation stopped before it could decide about ``instance``: the value's regular
    expression or the request's whole budget ran out."""

    def __init__(self, instance: Any, detail: str) -> None:
        super().__init__(detail)
        self.instance = instance
        self.detail = detail


@dataclass
class Budget:
    """What the validation of one request may still spend, and what it already checked. It
    counts the processor time of the thread that made it, where the request's checks run."""

    seconds: float
    start: float = field(default_factory=time.thread_time)
    calls: int = 0
    # (schema text, id of attributes) -> the attributes, kept alive so that the id is theirs:
    # attributes checked before the write transaction opened are not checked again inside it.
    checked: dict[tuple[bytes, int], Any] = field(default_factory=dict)

    def remaining(self) -> float:
        return self.start + self.seconds - time.thread_time()


_BUDGET: ContextVar[Budget | None] = ContextVar("modeltrail_validation_budget", default=None)


@contextmanager
def budget(seconds: float = VALIDATION_BUDGET) -> Iterator[Budget]:
    """Bound the validation work of everything inside (one request) to ``seconds`` in all.
    Nested uses share the outermost budget."""
    current = _BUDGET.get()
    if current is not None:
        yield current
        return
    token = _BUDGET.set(Budget(seconds))
    try:
        yield _BUDGET.get()  # type: ignore[misc]
    finally:
        _BUDGET.reset(token)


def _spend(instance: Any, *, now: bool = True) -> float:
    """The seconds left to the request; Undecided about ``instance`` once none are. Unless
    ``now``, the clock (a system call) is read only on every 16th call."""
    spent = _BUDGET.get()
    if spent is None:  # only the validation functions below call this, inside a budget
        raise LookupError("no validation budget")
    spent.calls += 1
    if not now and spent.calls % 16:
        return PATTERN_TIMEOUT
    left = spent.remaining()
    if left <= 0:
        raise Undecided(
            instance,
            f"the request's validation budget of {VALIDATION_BUDGET:g} s of processor time ran out "
            "(the schema is too costly for this many values)",
        )
    return left


# ------------------------------------------------------------------ keywords, bounded


def _search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``text``; Undecided if it cannot tell in time."""
    timeout = min(PATTERN_TIMEOUT, _spend(text))
    try:
        return regex.search(pattern, text, timeout=timeout, concurrent=True) is not None
    except TimeoutError:
        if timeout < PATTERN_TIMEOUT:
            _spend(text)  # the request's budget ran out meanwhile
        raise Undecided(
            text,
            f"{_shown(text)} could not be checked against {pattern!r} within "
            f"{PATTERN_TIMEOUT:g} s (the pattern backtracks too much on it)",
        ) from None


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 80 else repr(text[:77] + "...")


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _search(pattern, instance):
        yield ValidationError(f"{_shown(instance)} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "object"):
        for pattern, subschema in patterns.items():
            for name, value in instance.items():
                if _search(pattern, name):
                    yield from validator.descend(value, subschema, path=name, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    # jsonschema's own matches ``patternProperties`` with Python's ``re``, without a bound.
    if not validator.is_type(instance, "object"):
        return
    named, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
    extras = [
        name
        for name in instance
        if name not in named and not any(_search(p, name) for p in patterns)
    ]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif additional is False and extras:
        shown = ", ".join(repr(e) for e in sorted(extras)[:20])
        more = f" and {len(extras) - 20} more" if len(extras) > 20 else ""
        verb = "was" if len(extras) == 1 else "were"
        yield ValidationError(
            f"Additional properties are not allowed ({shown}{more} {verb} unexpected)"
        )


def _exact(number: int | float) -> Fraction | None:
    """The number as written in the JSON text (a float's shortest decimal form), exactly."""
    if isinstance(number, int):
        return Fraction(number)
    if not math.isfinite(number):
        return None
    return Fraction(Decimal(repr(number)))


def _multiple_of(
    validator: Any, divisor: int | float, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    # Decided on the decimal numbers, not on their binary approximations: 0.3 is a multiple of
    # 0.1, and 1e300 one of 1e-300, as anyone reading the JSON would expect.
    if not validator.is_type(instance, "number"):
        return
    value, step = _exact(instance), _exact(divisor)
    if value is None or step is None or (value / step).denominator != 1:
        yield ValidationError(f"{instance!r} is not a multiple of {divisor!r}")


def json_key(value: Any) -> Any:
    """A hashable key equal for two JSON values exactly when JSON Schema says they are equal
    (1 and 1.0 are, true and 1 are not, member order does not matter)."""
    if value is True or value is False:
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", value)
    if isinstance(value, list):
        return ("l", tuple(json_key(v) for v in value))
    if isinstance(value, dict):
        return ("o", frozenset((k, json_key(v)) for k, v in value.items()))
    return ("v", value)


def _unique_items(
    validator: Any, unique: bool, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    # One pass with a set: comparing every pair of a large array of objects never ends.
    if unique and validator.is_type(instance, "array"):
        seen: set[Any] = set()
        for n, item in enumerate(instance):
            if n % 1024 == 1023:
                _spend(instance)
            key = json_key(item)
            if key in seen:
                yield ValidationError(f"{_shown(repr(instance))} has non-unique elements")
                return
            seen.add(key)


# The longest string a ``format`` is checked on. Some checks take a second on a megabyte (a URI
# parsed by regular expressions, a regex compiled) and cannot be interrupted; no date, address
# or identifier is this long, so a longer value is refused without trying.
MAX_FORMAT_LENGTH = 8192

_FORMAT = Draft202012Validator.VALIDATORS["format"]


def _format(validator: Any, fmt: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if isinstance(instance, str) and len(instance) > MAX_FORMAT_LENGTH:
        yield ValidationError(
            f"{_shown(instance)} is too long to be checked as {fmt!r} "
            f"(at most {MAX_FORMAT_LENGTH} characters)"
        )
        return
    try:
        errors = list(_FORMAT(validator, fmt, instance, schema) or ())
    except RecursionError:  # a regular expression nested too deep to compile
        errors = [ValidationError(f"{_shown(instance)} is not a {fmt!r}")]
    yield from errors


def _budgeted(keyword: Callable[..., Any]) -> Callable[..., Any]:
    def checked(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
        _spend(instance, now=False)
        return keyword(validator, value, instance, schema)

    return checked


_OWN: dict[str, Callable[..., Any]] = {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
    "multipleOf": _multiple_of,
    "uniqueItems": _unique_items,
    "format": _format,
}
# The stubs leave ``extend`` untyped: it returns a validator class like the one it extends.
_Validator: type[Draft202012Validator] = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    {
        name: _budgeted(_OWN.get(name) or keyword)
        for name, keyword in Draft202012Validator.VALIDATORS.items()
    },
)


def _refuse(uri: str) -> Any:
    # An attrs class through a decorator of the library's own, which mypy does not follow.
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


# Nothing is ever retrieved: a reference that is not inside the schema does not resolve.
OFFLINE = Registry(retrieve=_refuse)  # type: ignore[call-arg]


def schema_key(schema: dict[str, Any]) -> bytes:
    """The schema's canonical text: what its validator and its checks are cached by."""
    try:
        return orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits
        return json.dumps(schema, sort_keys=True, separators=(",", ":")).encode()


@lru_cache(maxsize=256)
def validator_for(key: bytes) -> Any:
    """The validator of ``schema_key(schema)``, made once (making one costs more than using it)."""
    return _Validator(
        json.loads(key), registry=OFFLINE, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


# ------------------------------------------------------------------ references


# Keywords whose value is a schema, an array of schemas, or an object of schemas.
_ONE = {
    "additionalProperties",
    "contains",
    "contentSchema",
    "else",
    "if",
    "items",
    "not",
    "propertyNames",
    "then",
    "unevaluatedItems",
    "unevaluatedProperties",
}
_MANY = {"allOf", "anyOf", "oneOf", "prefixItems"}
_NAMED = {"$defs", "definitions", "dependentSchemas", "patternProperties", "properties"}


@dataclass(frozen=True)
class SchemaProblem:
    pointer: str  # inside the schema, e.g. /properties/a/$ref
    detail: str


def _escape(part: str | int) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def _places(schema: Any) -> dict[int, str]:
    """The JSON pointer of every object and array in ``schema``, by identity."""
    found: dict[int, str] = {}
    stack: list[tuple[Any, str]] = [(schema, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            found.setdefault(id(node), where)
            stack.extend((v, f"{where}/{_escape(k)}") for k, v in node.items())
        elif isinstance(node, list):
            found.setdefault(id(node), where)
            stack.extend((v, f"{where}/{i}") for i, v in enumerate(node))
    return found


def references_problem(schema: dict[str, Any]) -> SchemaProblem | None:
    """The first reference in ``schema`` that does not resolve inside it without I/O (or that
    resolves to something that is not a schema), a ``$schema`` naming another dialect, or
    keywords this validator cannot bound in time together."""
    places = _places(schema)
    resolver = OFFLINE.resolver_with_root(DRAFT202012.create_resource(schema))
    seen: set[int] = set()
    unevaluated = patterned = ""
    todo: list[tuple[Any, str, Any]] = [(schema, "", resolver)]
    while todo:
        node, where, resolver = todo.pop()
        if not isinstance(node, dict) or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node.get("$id"), str):
            resolver = resolver.in_subresource(DRAFT202012.create_resource(node))
        dialect = node.get("$schema")
        if dialect is not None and dialect not in DIALECTS:
            return SchemaProblem(
                f"{where}/$schema",
                f"{dialect!r} is not the dialect kinds are validated by "
                "(leave $schema out, or name https://json-schema.org/draft/2020-12/schema)",
            )
        if "$vocabulary" in node:
            return SchemaProblem(
                f"{where}/$vocabulary", "a kind's schema cannot declare vocabularies"
            )
        if "unevaluatedProperties" in node:
            unevaluated = unevaluated or f"{where}/unevaluatedProperties"
        if "patternProperties" in node:
            patterned = patterned or f"{where}/patternProperties"
        for keyword in ("$ref", "$dynamicRef"):
            ref = node.get(keyword)
            if not isinstance(ref, str):
                continue
            here = f"{where}/{_escape(keyword)}"
            try:
                target = resolver.lookup(ref)
            except Unresolvable:
                return SchemaProblem(
                    here,
                    f"{ref!r} does not resolve inside the schema (only references to the "
                    "schema's own parts, such as '#/$defs/name', are followed; nothing is "
                    "ever fetched)",
                )
            if not isinstance(target.contents, (dict, bool)):
                return SchemaProblem(here, f"{ref!r} refers to something that is not a schema")
            if isinstance(target.contents, dict):
                place = places.get(id(target.contents), where)
                todo.append((target.contents, place, target.resolver))
        for keyword, value in node.items():
            at = f"{where}/{_escape(keyword)}"
            if keyword in _ONE and isinstance(value, dict):
                todo.append((value, at, resolver))
            elif keyword in _MANY | {"items"} and isinstance(value, list):
                todo.extend((v, f"{at}/{i}", resolver) for i, v in enumerate(value))
            elif keyword in _NAMED and isinstance(value, dict):
                todo.extend((v, f"{at}/{_escape(k)}", resolver) for k, v in value.items())
    if unevaluated and patterned:
        # jsonschema finds the properties that patternProperties evaluated with Python's re,
        # which backtracks without bound and cannot be interrupted.
        return SchemaProblem(
            patterned,
            f"patternProperties cannot be used in a schema that has unevaluatedProperties "
            f"(at {unevaluated}); use additionalProperties instead",
        )
    return None


@lru_cache(maxsize=256)
def cached_references_problem(key: bytes) -> SchemaProblem | None:
    return references_problem(json.loads(key))


def pointer_of(target: Any, document: Any) -> str:
    """The JSON pointer of ``target`` (a value, or a member's name) inside ``document``, found
    by identity, in document order; "" if it is the document or is not inside it."""
    stack: list[tuple[Any, str]] = [(document, "")]
    while stack:
        node, where = stack.pop()
        if node is target:
            return where
        if isinstance(node, dict):
            for k in node:
                if k is target:
                    return f"{where}/{_escape(k)}"
            stack.extend((v, f"{where}/{_escape(k)}") for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, f"{where}/{i}") for i, v in reversed(list(enumerate(node))))
    return ""
