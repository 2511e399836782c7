"""The artifact-kind registry's rules: schema checks and backward compatibility of versions.

A kind is a name, an integer version and a JSON Schema (draft 2020-12) for the kind's own
attributes. Nothing here knows any particular kind: the built-in ``dataset``, ``model``,
``metrics`` and ``event`` are data (``builtin_kinds``), registered like a user's kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing.exceptions import Unresolvable

from modeltrail.domain import limits
from modeltrail.domain import schemas as vs
from modeltrail.domain.errors import IncompatibleKind, InvalidInput, InvalidKindAttributes

# A property whose schema carries this keyword holds the id of another artifact; the store keeps
# it as a relation (metrics -> the artifact it measures, deployment -> the model it serves).
REFERENCE_KEYWORD = "x-artifact-reference"

# A top-level property whose schema carries ``"x-index": true`` is indexed for filtered,
# sorted lists of the kind's artifacts (``sort=-score`` reads the first page from the index
# instead of scanning every artifact of the kind). Indexes cost every write a little, so a
# kind asks for the ones it needs.
INDEX_KEYWORD = "x-index"

OPEN_SCHEMA: dict[str, Any] = {"type": "object"}

# The validation limits, re-exported where the kind rules are read.
budget = vs.budget
VALIDATION_BUDGET = vs.VALIDATION_BUDGET
PATTERN_TIMEOUT = vs.PATTERN_TIMEOUT


def check_schema(schema: dict[str, Any]) -> None:
    """Refuse a schema that is not a valid draft 2020-12 object schema, that is larger than
    ``limits.MAX_SCHEMA_BYTES``, that refers to anything outside itself or to nothing, or that
    cannot be evaluated within the validation budget."""
    key = vs.schema_key(schema)
    if len(key) > limits.MAX_SCHEMA_BYTES:
        detail = (
            f"the schema is {len(key):,} bytes of JSON; a kind's schema may have at most "
            f"{limits.MAX_SCHEMA_BYTES:,}"
        )
        raise InvalidInput(detail, errors=[{"pointer": "/schema", "detail": detail}])
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
    problem = vs.cached_references_problem(key)
    if problem is not None:
        raise InvalidInput(
            f"schema{problem.pointer}: {problem.detail}",
            errors=[{"pointer": "/schema" + problem.pointer, "detail": problem.detail}],
        )
    try:
        with vs.budget():
            vs.validator_for(key).is_valid({})
    except RecursionError:
        raise _endless(InvalidInput, "/schema") from None
    except vs.Undecided:
        detail = (
            "the schema cannot be evaluated on an empty object within the validation budget "
            f"of {vs.VALIDATION_BUDGET:g} s"
        )
        raise InvalidInput(detail, errors=[{"pointer": "/schema", "detail": detail}]) from None


def usable(schema: dict[str, Any]) -> bool:
    """Whether a stored schema can validate anything (one stored before references outside
    it were refused cannot)."""
    return vs.cached_references_problem(vs.schema_key(schema)) is None


def _endless(error: type[InvalidInput], pointer: str) -> InvalidInput:
    detail = "the schema refers to itself in a loop that never reaches a value ($ref)"
    return error(detail, errors=[{"pointer": pointer, "detail": detail}])


def _short(detail: str) -> str:
    # A message quotes the value it is about, and a value may be megabytes long.
    return detail if len(detail) <= 500 else detail[:497] + "..."


def attributes_errors(
    kind: str, version: int, schema: dict[str, Any], attributes: Any
) -> list[dict[str, str]]:
    """The failures of ``attributes`` under ``schema``, each with its JSON pointer; empty if
    they are valid. Raises InvalidKindAttributes when the schema itself cannot be used or the
    request's validation budget runs out.

    Runs inside the caller's ``budget`` (one of its own otherwise); attributes already checked
    against the same schema within that budget are not checked again.
    """
    key = vs.schema_key(schema)
    with vs.budget() as spent:
        if spent.checked.get((key, id(attributes))) is attributes:
            return []
        problem = vs.cached_references_problem(key)
        if problem is not None:
            detail = (
                f"kind '{kind}' version {version} cannot validate anything: its schema at "
                f"{problem.pointer} {problem.detail}; register a new version of the kind"
            )
            raise InvalidKindAttributes(detail, errors=[{"pointer": "/kind", "detail": detail}])
        try:
            failures = sorted(
                vs.validator_for(key).iter_errors(attributes), key=lambda e: list(e.absolute_path)
            )
        except RecursionError:  # a kind registered before loops of references were refused
            raise _endless(InvalidKindAttributes, "/attributes") from None
        except Unresolvable:  # cannot happen after the check above; never a fetch, never a 500
            detail = f"kind '{kind}' version {version} refers outside its schema"
            raise InvalidKindAttributes(
                detail, errors=[{"pointer": "/kind", "detail": detail}]
            ) from None
        except vs.Undecided as exc:
            pointer = "/attributes" + vs.pointer_of(exc.instance, attributes)
            raise InvalidKindAttributes(
                f"the attributes could not be checked against kind '{kind}' version {version}: "
                f"{exc.detail}; checking stopped at {pointer}",
                errors=[{"pointer": pointer, "detail": _short(exc.detail)}],
            ) from None
        if not failures:
            spent.checked[(key, id(attributes))] = attributes
            return []
    return [
        {
            "pointer": "/attributes" + "".join(f"/{p}" for p in e.absolute_path),
            "detail": _short(e.message),
        }
        for e in failures
    ]


def attributes_check(schema: dict[str, Any]) -> Callable[[Any], bool]:
    """Whether attributes are valid under ``schema``, for the many creates of a batch: the
    same validator as ``validate_attributes``, so that a batch and a single create always
    agree. A failure of any sort is False: the ordinary path then gives the one answer."""

    def checked(attributes: Any) -> bool:
        try:
            return not attributes_errors("", 0, schema, attributes)
        except InvalidKindAttributes:
            return False

    return checked


def validate_attributes(kind: str, version: int, schema: dict[str, Any], attributes: Any) -> None:
    """Raise InvalidKindAttributes with the JSON pointer of every failing attribute."""
    errors = attributes_errors(kind, version, schema, attributes)
    if errors:
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
            # Compared as JSON values: true is not 1, though Python says it is.
            allowed = {vs.json_key(v) for v in new_value}
            removed = [v for v in old_value if vs.json_key(v) not in allowed]
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
        if vs.json_key(new_value) != vs.json_key(old_value):
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
    """The four kinds of thesis Tables 6.8-6.11, as plain registrations; their descriptions
    speak to the user (shown by `kinds list` and the UI), the tables' numbers stay here."""
    string_map = {
        "type": "object",
        "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
    }
    return [
        _kind(
            "dataset",
            "A dataset: data that steps read or write, with its storage type.",
            {"type": {"type": "string", "description": "storage type, e.g. Blob, SQL, HDFS"}},
        ),
        _kind(
            "model",
            "A trained model, with its type, framework, hyperparameters and schemas.",
            {
                "type": {"type": "string", "description": "e.g. Linear Regression, SVM, CNN"},
                # Version 2 of the kind: named fields and JSON where version 1 had the thesis's
                # Pair (value1, value2) and JSON in a string. Documents of version 1 stay valid;
                # the thesis's API translates both ways (integrations.thesis_v1).
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
            "A metric of another artifact: a value and how to read it.",
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
            "What started a run: its cause.",
            {"cause": {"type": "string", "description": "e.g. manual, schedule, data change"}},
        ),
    ]
