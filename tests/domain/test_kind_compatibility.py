"""A new version of a kind keeps every attribute set the old version accepted valid.

``check_compatible`` is the rule; these tests hold it to its promise on examples and on
schemas that hypothesis makes from an old version by random changes: whenever the rule lets a
new version through, every document that the old version accepted must be accepted by the new
one. The documents only use the attribute names the old version declares (``a``, ``b``,
``c``); adding an attribute to an open kind is the documented exception (docs/kinds.md).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from modeltrail.domain.errors import IncompatibleKind
from modeltrail.domain.kinds import check_compatible

KEYS = ["a", "b", "c"]
TYPES = ["string", "number", "integer", "boolean", "null", "array", "object"]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([-1.5, 0.5, 2.5]),
    st.sampled_from(["", "x", "xyz", "hello"]),
)
DOCS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
    ),
    max_leaves=8,
)


def leaf() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.just({}),
        st.builds(lambda t: {"type": t}, st.sampled_from(TYPES)),
        st.builds(
            lambda t: {"type": t},
            st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique=True),
        ),
        st.builds(
            lambda lo, hi: {"type": "number", "minimum": lo, "maximum": hi},
            st.integers(-3, 0),
            st.integers(0, 3),
        ),
        st.builds(lambda n: {"type": "string", "maxLength": n}, st.integers(0, 5)),
        st.builds(lambda n: {"type": "string", "minLength": n}, st.integers(0, 3)),
        st.builds(
            lambda vs: {"enum": vs}, st.lists(SCALARS, min_size=1, max_size=4, unique_by=repr)
        ),
    )


SCHEMAS = st.recursive(
    leaf(),
    lambda inner: st.one_of(
        st.builds(
            lambda props, required, extra: {
                "type": "object",
                # every name a document may use is declared, possibly as {} (anything)
                "properties": {k: props.get(k, {}) for k in KEYS},
                "required": required,
                **({} if extra is None else {"additionalProperties": extra}),
            },
            st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
            st.lists(st.sampled_from(KEYS), max_size=2, unique=True),
            st.sampled_from([None, True, False]),
        ),
        st.builds(
            lambda items, n: {"type": "array", "items": items, "maxItems": n},
            inner,
            st.integers(0, 3),
        ),
    ),
    max_leaves=6,
)

CHANGES = [
    (
        "type",
        lambda: st.one_of(
            st.sampled_from(TYPES),
            st.lists(st.sampled_from(TYPES), min_size=1, max_size=4, unique=True),
        ),
    ),
    ("minimum", lambda: st.integers(-4, 4)),
    ("maximum", lambda: st.integers(-4, 4)),
    ("minLength", lambda: st.integers(0, 4)),
    ("maxLength", lambda: st.integers(0, 6)),
    ("maxItems", lambda: st.integers(0, 4)),
    ("enum", lambda: st.lists(SCALARS, min_size=1, max_size=5, unique_by=repr)),
    ("required", lambda: st.lists(st.sampled_from(KEYS), max_size=3, unique=True)),
    ("additionalProperties", lambda: st.booleans()),
    ("pattern", lambda: st.sampled_from(["^x", "y"])),
    ("description", lambda: st.text(max_size=5)),
]


def _subschemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    found = [schema]
    for sub in schema.get("properties", {}).values():
        found += _subschemas(sub)
    if isinstance(schema.get("items"), dict):
        found += _subschemas(schema["items"])
    return found


@st.composite
def changed(draw: st.DrawFn, old: dict[str, Any]) -> dict[str, Any]:
    """``old`` with a few keywords set, changed or removed, anywhere in it."""
    new = copy.deepcopy(old)
    for _ in range(draw(st.integers(1, 3))):
        target = draw(st.sampled_from(_subschemas(new)))
        keyword, values = draw(st.sampled_from(CHANGES))
        if keyword in target and draw(st.booleans()):
            del target[keyword]
        else:
            target[keyword] = draw(values())
    return new


def valid(schema: dict[str, Any], doc: Any) -> bool:
    return Draft202012Validator(schema).is_valid(doc)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_version_let_through_accepts_all_the_old_version_accepted(data: st.DataObject) -> None:
    old = data.draw(SCHEMAS, label="old")
    new = data.draw(changed(old), label="new")
    try:
        check_compatible(old, new)
    except IncompatibleKind:
        return  # refused: nothing is promised
    event("let through")
    for doc in data.draw(st.lists(DOCS, min_size=1, max_size=8), label="docs"):
        if valid(old, doc):
            assert valid(new, doc), (old, new, doc)


OLD = {
    "type": "object",
    "properties": {
        "result": {"enum": ["valid", "failed"]},
        "score": {"type": "integer", "minimum": 0, "maximum": 10},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
    },
    "required": ["result"],
}


def with_(path: list[str], value: Any, *, drop: bool = False) -> dict[str, Any]:
    new = copy.deepcopy(OLD)
    target = new
    for key in path[:-1]:
        target = target[key]
    if drop:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return new


@pytest.mark.parametrize(
    "new",
    [
        with_(["properties", "note"], {"type": "string"}),  # an optional attribute
        with_(["required"], [], drop=True),
        with_(["properties", "result", "enum"], ["valid", "failed", "unknown"]),
        with_(["properties", "score", "type"], "number"),  # integer may become number
        with_(["properties", "score", "maximum"], 100),
        with_(["properties", "score", "minimum"], None, drop=True),
        with_(["properties", "tags", "maxItems"], 10),
        with_(["properties", "tags", "items"], {}),
        with_(["properties", "score", "description"], "out of ten"),
        with_(["additionalProperties"], True),
    ],
    ids=lambda s: str(s)[:0] or None,
)
def test_relaxing_changes_are_compatible(new: dict[str, Any]) -> None:
    check_compatible(OLD, new)


@pytest.mark.parametrize(
    ("new", "pointer", "says"),
    [
        (with_(["required"], ["result", "score"]), "/schema", "makes attribute(s) score required"),
        (
            with_(["properties", "score", "type"], "string"),
            "/schema/properties/score",
            "changes type",
        ),
        (
            with_(["properties", "result", "enum"], ["valid"]),
            "/schema/properties/result",
            "removes allowed value",
        ),
        (
            with_(["properties", "score", "maximum"], 5),
            "/schema/properties/score",
            "lowers maximum",
        ),
        (
            with_(["properties", "score", "minimum"], 1),
            "/schema/properties/score",
            "raises minimum",
        ),
        (with_(["properties", "tags", "items"], False), "/schema/properties/tags", "forbids"),
        (
            with_(["additionalProperties"], False),
            "/schema",
            "adds the constraint 'additionalProperties'",
        ),
        (
            with_(["properties", "result", "pattern"], "^v"),
            "/schema/properties/result",
            "adds the constraint 'pattern'",
        ),
        (
            with_(["properties", "score", "type"], "boolean"),
            "/schema/properties/score",
            "changes type",
        ),
    ],
)
def test_tightening_changes_are_refused_naming_where(
    new: dict[str, Any], pointer: str, says: str
) -> None:
    with pytest.raises(IncompatibleKind) as refused:
        check_compatible(OLD, new)
    (error,) = refused.value.errors
    assert error["pointer"] == pointer
    assert says in error["detail"]


def test_adding_a_typed_attribute_to_an_open_kind_is_the_documented_exception() -> None:
    """An open kind accepted any value under a name it did not declare; a version that
    declares the name with a type refuses an old artifact that used it otherwise."""
    new = with_(["properties", "note"], {"type": "string"})
    check_compatible(OLD, new)
    old_artifact = {"result": "valid", "note": 3}
    assert valid(OLD, old_artifact) and not valid(new, old_artifact)


@pytest.mark.parametrize(
    ("old", "new"),
    [([True], [1]), ([0], [False]), ([1], [True]), ([{"a": 1}], [{"a": True}])],
)
def test_enum_values_are_compared_as_json_not_as_python(old: list[Any], new: list[Any]) -> None:
    """In Python True == 1; in JSON Schema true is not 1, so an old true would be refused."""
    with pytest.raises(IncompatibleKind):
        check_compatible({"enum": old}, {"enum": new})
    check_compatible({"enum": [1, True]}, {"enum": [True, 1.0, "x"]})
    with pytest.raises(IncompatibleKind):
        check_compatible({"const": True}, {"const": 1})
    check_compatible({"const": 1}, {"const": 1.0})
