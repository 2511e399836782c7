"""The filter and sort language: what parses, what it parses to, and what is refused where."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modeltrail.domain import limits
from modeltrail.domain.errors import InvalidInput
from modeltrail.domain.filters import Op, Sort, parse_filters, parse_sort, path_text

SEGMENT = st.text(
    alphabet=st.characters(blacklist_characters='.:"', blacklist_categories=("Cc", "Cs")),
    min_size=1,
    max_size=8,
).filter(lambda s: not s.startswith("`"))  # a leading backtick quotes the segment
PATHS = st.lists(SEGMENT, min_size=1, max_size=8)
VALUES = st.text(
    alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=20
)


@given(path=PATHS, op=st.sampled_from([o for o in Op if o is not Op.IN]), value=VALUES)
def test_a_filter_is_field_op_and_all_the_rest(path: list[str], op: Op, value: str) -> None:
    text = f"{'.'.join(path)}:{op}:{value}"
    (parsed,) = parse_filters([text])
    assert parsed.path == tuple(path)
    assert parsed.op is op
    assert parsed.value == value  # colons and commas included
    assert parsed.source == text


@given(path=PATHS, values=st.lists(VALUES.filter(lambda v: "," not in v), min_size=1, max_size=5))
def test_in_takes_a_comma_separated_list(path: list[str], values: list[str]) -> None:
    (parsed,) = parse_filters([f"{'.'.join(path)}:in:{','.join(values)}"])
    assert parsed.value == tuple(values)


ANY_SEGMENT = st.text(
    alphabet=st.characters(blacklist_characters='"', blacklist_categories=("Cc", "Cs")),
    min_size=1,
    max_size=8,
)


@given(path=st.lists(ANY_SEGMENT, min_size=1, max_size=8), value=VALUES)
def test_a_segment_in_backticks_may_hold_dots_colons_and_backticks(
    path: list[str], value: str
) -> None:
    quoted = ".".join(f"`{p.replace('`', '``')}`" for p in path)
    (parsed,) = parse_filters([f"{quoted}:eq:{value}"])
    assert parsed.path == tuple(path) and parsed.value == value
    assert parse_sort(f"-{quoted}") == Sort(tuple(path), True)
    # As the field is shown (errors, cursors): it parses back to the same path.
    assert parse_filters([f"{parsed.field}:eq:x"])[0].path == tuple(path)


def test_a_key_with_dots_is_one_segment_in_backticks() -> None:
    (parsed,) = parse_filters(["annotations.`mlflow.runId`:eq:0a1b"])
    assert parsed.path == ("annotations", "mlflow.runId") and parsed.value == "0a1b"
    assert parsed.field == "annotations.`mlflow.runId`"
    assert parse_filters(["annotations.mlflow.runId:eq:0a1b"])[0].path == (
        "annotations",
        "mlflow",
        "runId",
    )
    assert path_text(("metrics", "val.acc", "max")) == "metrics.`val.acc`.max"


def test_a_time_keeps_its_colons() -> None:
    (parsed,) = parse_filters(["createTime:ge:2026-01-01T00:00:00Z"])
    assert parsed.field == "createTime" and parsed.value == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("texts", "pointer", "says"),
    [
        (["name"], "/filter/0", "FIELD:OP:VALUE"),
        (["name:eq"], "/filter/0", "FIELD:OP:VALUE"),
        (["kind:eq:model", "name:like:x"], "/filter/1", "unknown operator 'like'"),
        ([":eq:x"], "/filter/0", "not a field name"),
        (["a..b:eq:x"], "/filter/0", "not a field name"),
        (["a.`b:eq:x"], "/filter/0", "does not close"),
        (["a.`b`c:eq:x"], "/filter/0", "followed by a dot"),
        (["a.``:eq:x"], "/filter/0", "not a field name"),
        (['na"me:eq:x'], "/filter/0", "quote or a control character"),
        (["na\tme:eq:x"], "/filter/0", "quote or a control character"),
        (["a.b.c.d.e.f.g.h.i:eq:x"], "/filter/0", "at most 8 levels"),
        (["name:eq:a\x00b"], "/filter/0", "NUL"),
        (["name:eq:" + "x" * limits.MAX_FILTER_TEXT], "/filter/0", "characters long"),
        (["name:in:" + ",".join("x" * (limits.MAX_FILTER_VALUES + 1))], "/filter/0", "at most"),
        (["name:eq:x"] * (limits.MAX_FILTERS + 1), "/filter", "filters per request"),
    ],
)
def test_bad_filters_are_refused_naming_which(texts: list[str], pointer: str, says: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_filters(texts)
    assert says in str(refused.value)
    assert refused.value.errors[0]["pointer"] == pointer


def test_a_filter_list_can_be_named_after_its_parameter() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_filters(["x"], param="q")
    assert refused.value.errors[0]["pointer"] == "/q/0"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("", None),
        ("name", Sort(("name",), False)),
        ("-createTime", Sort(("createTime",), True)),
        ("+attributes.score", Sort(("attributes", "score"), False)),
    ],
)
def test_sorts(text: str | None, expected: Sort | None) -> None:
    assert parse_sort(text) == expected
    if expected is not None:
        assert str(parse_sort(text)) == text.lstrip("+")


def test_a_bad_sort_names_its_parameter() -> None:
    for text in ("-", "a..b", 'a"b'):
        with pytest.raises(InvalidInput) as refused:
            parse_sort(text)
        assert refused.value.errors[0]["pointer"] == "/sort"
