"""The artifact-kind registry's rules: schema checks and backward compatibility of versions.

A kind is a name, an integer version and a JSON Schema (draft 2020-12) for the kind's own
attributes. Nothing here knows any particular kind: the built-in ``dataset``, ``model``,
``metrics`` and ``event`` are data (``builtin_kinds``), registered like a user's kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

import jsonschema_rs
import orjson
import regex
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, ValidationError

from modeltrail.domain.errors import IncompatibleKind, InvalidInput, InvalidKindAttributes

# A property whose schema carries this keyword holds the id of another artifact; the store keeps
# it as a relation (metrics -> the artifact it measures, deployment -> the model it serves).
REFERENCE_KEYWORD = "x-artifact-reference"

# A top-level property whose schema carries ``"x-index": true`` is indexed for filtered,
# sorted lists of the kind's artifacts (``sort=-score`` on a million artifacts: milliseconds
# instead of a scan). Indexes cost every write a little, so a kind asks for the ones it needs.
INDEX_KEYWORD = "x-index"

OPEN_SCHEMA: dict[str, Any] = {"type": "object"}


def check_schema(schema: dict[str, Any]) -> None:
    """Refuse a schema that is not a valid draft 2020-12 object schema."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        pointer = "/schema/" + "/".join(str(p) for p in exc.absolute_path)
        raise InvalidInput(
            f"schema is not a valid JSON Schema: {exc.message}",
            errors=[{"pointer": pointer.rstrip("/"), "detail": exc.message}],
        ) from None
    if schema.get("type", "object") != "object":
        raise InvalidInput(
            "a kind's schema must describe an object",
            errors=[{"pointer": "/schema/type", "detail": "must be 'object'"}],
        )
    try:
        _validator(schema).is_valid({})
    except RecursionError:
        raise _endless(InvalidInput, "/schema") from None


def _endless(error: type[InvalidInput], pointer: str) -> InvalidInput:
    detail = "the schema refers to itself in a loop that never reaches a value ($ref)"
    return error(detail, errors=[{"pointer": pointer, "detail": detail}])


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    """The validator of record: draft 2020-12, formats asserted. Made once per schema (the
    same few schemas check every artifact created; making one costs more than using it)."""
    try:
        text = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits: not worth a cache entry
        return _new_validator(schema)
    return _cached_validator(text)


# How long one regular expression of a kind may take on one value. Python's ``re`` backtracks
# without bound and holds the interpreter meanwhile: a pattern such as ``^(a+)+$`` on forty
# characters would stop the whole server. The ``regex`` engine takes a timeout and lets other
# threads run while it matches; a value it cannot decide in time is refused.
PATTERN_TIMEOUT = 0.05  # seconds


def _search(pattern: str, text: str) -> bool | None:
    """Whether ``pattern`` matches somewhere in ``text``; None if it could not tell in time."""
    try:
        return regex.search(pattern, text, timeout=PATTERN_TIMEOUT, concurrent=True) is not None
    except TimeoutError:
        return None


def _undecided(text: str, pattern: str) -> ValidationError:
    return ValidationError(
        f"{text!r} could not be checked against {pattern!r} within {PATTERN_TIMEOUT} s "
        "(the pattern backtracks too much on it)"
    )


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string"):
        found = _search(pattern, instance)
        if found is None:
            yield _undecided(instance, pattern)
        elif not found:
            yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "object"):
        for pattern, subschema in patterns.items():
            for name, value in instance.items():
                found = _search(pattern, name)
                if found is None:
                    yield _undecided(name, pattern)
                elif found:
                    yield from validator.descend(value, subschema, path=name, schema_path=pattern)


# Draft 2020-12 with the two keywords that run regular expressions on values bounded in time.
_Validator = validators.extend(
    Draft202012Validator, {"pattern": _pattern, "patternProperties": _pattern_properties}
)


def _new_validator(schema: dict[str, Any]) -> Draft202012Validator:
    return _Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)  # type: ignore[no-any-return]


@lru_cache(maxsize=256)
def _cached_validator(schema_json: bytes) -> Draft202012Validator:
    return _new_validator(orjson.loads(schema_json))


# Keywords two validators may not read to the letter: regular expressions (Python's re, Rust's
# regex), formats (each asserts its own set) and references (resolved each its own way).
_DIALECT_KEYWORDS = frozenset({"format", "pattern", "patternProperties", "$ref", "$dynamicRef"})


def _uses_dialect_keywords(schema: Any) -> bool:
    if isinstance(schema, dict):
        return any(k in _DIALECT_KEYWORDS or _uses_dialect_keywords(v) for k, v in schema.items())
    if isinstance(schema, list):
        return any(_uses_dialect_keywords(v) for v in schema)
    return False


def attributes_check(schema: dict[str, Any]) -> Callable[[Any], bool]:
    """Whether attributes are valid under ``schema``, for the many creates of a batch.

    A schema of plain structural keywords is checked in Rust (``jsonschema-rs``, a hundred
    times faster); one that uses regular expressions, formats or references by the same
    validator as ``validate_attributes``, so that both always agree.
    """
    if _uses_dialect_keywords(schema):
        is_valid = _validator(schema).is_valid

        def checked(attributes: Any) -> bool:
            try:
                return is_valid(attributes)  # type: ignore[no-any-return]
            except RecursionError:  # a loop of references: the ordinary path explains it
                return False

        return checked
    return jsonschema_rs.Draft202012Validator(schema).is_valid  # type: ignore[no-any-return]


def validate_attributes(kind: str, version: int, schema: dict[str, Any], attributes: Any) -> None:
    """Raise InvalidKindAttributes with the JSON pointer of every failing attribute."""
    try:
        failures = sorted(
            _validator(schema).iter_errors(attributes), key=lambda e: list(e.absolute_path)
        )
    except RecursionError:  # a kind registered before loops of references were refused
        raise _endless(InvalidKindAttributes, "/attributes") from None
    if not failures:
        return
    errors = [
        {
            "pointer": "/attributes" + "".join(f"/{p}" for p in e.absolute_path),
            "detail": e.message,
        }
        for e in failures
    ]
    raise InvalidKindAttributes(
        f"{len(errors)} attribute(s) break the schema of kind '{kind}' version {version}",
        errors=errors,
    )


def reference_properties(schema: dict[str, Any]) -> list[str]:
    """Names of the top-level properties that hold references to other artifacts."""
    props = schema.get("properties", {})
    return [
        name for name, sub in props.items() if isinstance(sub, dict) and sub.get(REFERENCE_KEYWORD)
    ]


def indexed_properties(schema: dict[str, Any]) -> list[str]:
    """Names of the top-level properties the kind asks to have indexed."""
    props = schema.get("properties", {})
    return [name for name, sub in props.items() if isinstance(sub, dict) and sub.get(INDEX_KEYWORD)]


# Keywords that say nothing about which documents are valid: free to change between versions.
_ANNOTATION_KEYWORDS = {
    "title",
    "description",
    "examples",
    "default",
    "$comment",
    "deprecated",
    REFERENCE_KEYWORD,
    INDEX_KEYWORD,
}


def check_compatible(old: dict[str, Any], new: dict[str, Any], path: str = "") -> None:
    """A new version may only add optional attributes or relax constraints.

    Every document valid under ``old`` must stay valid under ``new``. The check is structural
    and conservative: a change it cannot prove harmless is refused, naming where.
    """
    where = path or "/"
    for key, old_value in old.items():
        if key in _ANNOTATION_KEYWORDS:
            continue
        if key not in new:
            continue  # dropping a constraint relaxes it
        new_value = new[key]
        if key == "properties":
            for prop, sub in old_value.items():
                if prop in new_value:
                    check_compatible(sub, new_value[prop], f"{path}/properties/{prop}")
            continue
        if key == "required":
            added = sorted(set(new_value) - set(old_value))
            if added:
                raise _incompatible(where, f"makes attribute(s) {', '.join(added)} required")
            continue
        if key in {"items", "additionalProperties"} and isinstance(old_value, dict):
            if isinstance(new_value, dict):
                check_compatible(old_value, new_value, f"{path}/{key}")
            elif new_value is False:
                raise _incompatible(where, f"forbids what '{key}' allowed")
            continue
        if key == "additionalProperties" and old_value is False:
            continue  # anything new is a relaxation of 'false'
        if key == "type":
            old_types = {old_value} if isinstance(old_value, str) else set(old_value)
            new_types = {new_value} if isinstance(new_value, str) else set(new_value)
            if "integer" in old_types and "number" in new_types:
                old_types.discard("integer")
            if not old_types <= new_types:
                raise _incompatible(where, f"changes type from {old_value!r} to {new_value!r}")
            continue
        if key == "enum":
            removed = [v for v in old_value if v not in new_value]
            if removed:
                raise _incompatible(where, f"removes allowed value(s) {removed!r}")
            continue
        if key in {"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"}:
            if new_value > old_value:
                raise _incompatible(where, f"raises {key} from {old_value} to {new_value}")
            continue
        if key in {"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"}:
            if new_value < old_value:
                raise _incompatible(where, f"lowers {key} from {old_value} to {new_value}")
            continue
        if new_value != old_value:
            raise _incompatible(where, f"changes '{key}'")
    for key in new:
        if key in _ANNOTATION_KEYWORDS or key in old:
            continue
        if key == "properties":
            continue  # new optional attributes
        if key == "additionalProperties" and new[key] is not False:
            continue
        raise _incompatible(where, f"adds the constraint '{key}'")


def _incompatible(where: str, what: str) -> IncompatibleKind:
    return IncompatibleKind(
        f"the new version {what} at {where}; register it under a new name instead",
        errors=[{"pointer": "/schema" + ("" if where == "/" else where), "detail": what}],
    )


def _kind(name: str, description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "schema": {"type": "object", "properties": properties, "additionalProperties": True},
    }


def builtin_kinds() -> list[dict[str, Any]]:
    """The four kinds of thesis Tables 6.8-6.11, as plain registrations."""
    string_map = {
        "type": "object",
        "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
    }
    return [
        _kind(
            "dataset",
            "A dataset (thesis Table 6.8).",
            {"type": {"type": "string", "description": "storage type, e.g. Blob, SQL, HDFS"}},
        ),
        _kind(
            "model",
            "A trained model (thesis Table 6.9).",
            {
                "type": {"type": "string", "description": "e.g. Linear Regression, SVM, CNN"},
                # Version 2 of the kind: named fields and JSON where version 1 had the thesis's
                # Pair (value1, value2) and JSON in a string. Documents of version 1 stay valid;
                # the thesis's API translates both ways (services.compat).
                "framework": {
                    "type": "object",
                    "description": "the framework that made the model",
                    "properties": {
                        "name": {"type": "string", "description": "e.g. scikit-learn, pytorch"},
                        "version": {"type": "string"},
                    },
                },
                "hyperParameters": string_map,
                "inputSchema": {"description": "what the model reads, as JSON"},
                "outputSchema": {"description": "what the model answers, as JSON"},
            },
        ),
        _kind(
            "metrics",
            "A metric of another artifact (thesis Table 6.10).",
            {
                "reference": {"type": "string", "format": "uuid", REFERENCE_KEYWORD: True},
                "schema": {
                    "type": "string",
                    "description": "how to read value: number, vector, ...",
                },
                "value": {"type": ["string", "number", "boolean", "array", "object", "null"]},
            },
        ),
        _kind(
            "event",
            "What started a run (thesis Table 6.11).",
            {"cause": {"type": "string", "description": "e.g. manual, schedule, data change"}},
        ),
    ]
