"""MLflow's search grammar, parsed and applied without a server (a run's datasets are matched
in SQL only: tests/integrations/test_mlflow_run_filters.py)."""

from __future__ import annotations

import pytest

from modeltrail.integrations.mlflow import search
from modeltrail.integrations.mlflow.errors import MlflowError

ROW = {
    (search.METRIC, "acc"): 0.93,
    (search.PARAM, "lr"): "0.01",
    (search.PARAM, "max-depth"): "3",
    (search.TAG, "team"): "Vision",
    (search.ATTRIBUTE, "status"): "FINISHED",
    (search.ATTRIBUTE, "start_time"): 1_700_000_000_000,
    (search.ATTRIBUTE, "run_id"): "abc",
}


def matches(text: str) -> bool:
    clauses = search.parse_filter(text, search.RUNS)
    return search.matches(clauses, lambda kind, key: ROW.get((kind, key)))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "metrics.acc > 0.9",
        "metric.acc >= 0.93 and metrics.acc <= 0.93",
        "params.lr = '0.01' AND tags.team = 'Vision'",
        "params.`max-depth` = '3'",
        'params."max-depth" != "4"',
        "tags.team LIKE 'Vi%'",
        "tags.team ILIKE 'vision'",
        "tags.other IS NULL and tags.team IS NOT NULL",
        "attributes.run_id IN ('abc', 'def')",
        "run_id NOT IN ('def')",
        "created > 1600000000000",
        "run.run_id = 'abc'",
    ],
)
def test_matching_filters(text: str) -> None:
    assert matches(text)


@pytest.mark.parametrize(
    "text",
    [
        "metrics.acc > 0.95",
        "metrics.loss < 1",  # a run without the metric never compares
        "params.lr != '0.01'",
        "params.missing != 'x'",
        "tags.team LIKE 'vi%'",  # LIKE is case-sensitive
        "tags.team IS NULL",
    ],
)
def test_filters_that_do_not_match(text: str) -> None:
    assert not matches(text)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("params.lr == '1'", "expected a quoted string or a number"),
        ("metrics.acc > 'high'", "numeric"),
        ("params.lr > '1'", "comparator"),
        ("foo.bar = '1'", "entity type"),
        ("attributes.colour = 'red'", "attribute key"),
        ("params.lr = '1' or params.lr = '2'", "AND"),
        ("params.lr = '1' and", "at the end"),
        ("params.lr IN ('1')", "comparator"),
        ("attributes.status IN ('FINISHED')", "comparator"),
        ("attributes.run_id IN ('a', 'b'", "not closed"),
        ("params.lr = 1 ; drop", "cannot read"),
        ("datasets.size = '1'", "dataset key"),
        ("tags.x IS NOT 'y'", "NULL"),
    ],
)
def test_malformed_filters_are_mlflows_invalid_parameter_value(text: str, said: str) -> None:
    with pytest.raises(MlflowError) as refused:
        search.parse_filter(text, search.RUNS)
    assert refused.value.extra["error_code"] == "INVALID_PARAMETER_VALUE"
    assert refused.value.status == 400
    assert said in refused.value.detail


def test_order_by_puts_rows_without_the_key_last_either_way() -> None:
    rows = [{"v": 2.0}, {"v": None}, {"v": 1.0}, {"v": 3.0}]
    for ascending, expected in ((True, [1.0, 2.0, 3.0, None]), (False, [3.0, 2.0, 1.0, None])):
        orders = search.parse_order_by([f"metrics.v {'ASC' if ascending else 'DESC'}"], search.RUNS)
        search.sort(rows, orders, lambda row, kind, key: row["v"])
        assert [r["v"] for r in rows] == expected


@pytest.mark.parametrize("text", ["params.a sideways", "", "datasets.name", "metrics.a asc desc"])
def test_malformed_order_by(text: str) -> None:
    with pytest.raises(MlflowError):
        search.parse_order_by([text], search.RUNS)


def test_page_tokens_round_trip_and_refuse_forgeries() -> None:
    assert search.decode_page_token(search.encode_page_token(40)) == 40
    for forged in ("x", "eyJvZmZzZXQiOiAtMX0=", "bnVsbA=="):
        with pytest.raises(MlflowError):
            search.decode_page_token(forged)
