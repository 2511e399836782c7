"""``q=``: boolean expressions on every list, MLflow's search_runs grammar included, refusals
that point at the column of the mistake. On both databases."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from conftest import ROOT
from modeltrail.domain import limits
from modeltrail.domain.errors import InvalidInput
from modeltrail.domain.query import parse_query

API = "/api/v1"
LISTS = ["experiments", "runs", "pipelines", "executables", "executions", "artifacts"]


def post(client: TestClient, plural: str, body: dict) -> dict:
    response = client.post(f"{API}/{plural}", json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


def names(client: TestClient, plural: str, q: str, **params: object) -> list[str]:
    response = client.get(f"{API}/{plural}", params={"q": q, "limit": 1000, **params})
    assert response.status_code == 200, (q, response.text)
    return sorted(i["name"] for i in response.json()["items"])


def refused(client: TestClient, plural: str, q: str) -> dict:
    response = client.get(f"{API}/{plural}", params={"q": q})
    assert response.status_code == 422, (q, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["errors"][0]["pointer"] == "/q", problem
    return problem


@pytest.fixture
def runs(client: TestClient) -> dict[str, dict]:
    """Five runs of two experiments, with parameters, tags and a metric each but one."""
    hw = post(client, "experiments", {"name": "handwriting", "annotations": {"team": "vision"}})
    other = post(client, "experiments", {"name": "other"})
    exe = post(client, "executables", {"name": "train.py"})
    made = {}
    specs = [
        ("adam-1", hw, {"optimizer": "adam", "lr": 0.01, "layers": 3, "deep": True}, "ml", 0.95),
        ("adam-2", hw, {"optimizer": "adam", "lr": 0.1, "layers": 5, "deep": False}, "legacy", 0.7),
        ("sgd-1", hw, {"optimizer": "sgd", "lr": 0.01, "layers": 3}, "ml", 0.91),
        ("rms-1", hw, {"optimizer": "rmsprop", "lr": "1e-3"}, None, None),
        ("Sgd-2", other, {"optimizer": "sgd", "lr": 0.5, "layers": 7}, "legacy", 0.5),
    ]
    for name, experiment, config, team, accuracy in specs:
        annotations = {"team": team} if team else {}
        run = post(
            client,
            "runs",
            {
                "experiment": experiment["id"],
                "name": name,
                "configuration": config,
                "annotations": annotations,
                "status": "SUCCESS" if accuracy else "RUNNING",
            },
        )
        made[name] = run
        if accuracy is None:
            continue
        metrics = [
            post(
                client,
                "artifacts",
                {"name": "accuracy", "kind": "metrics", "attributes": {"value": value}},
            )["id"]
            for value in (accuracy - 0.2, accuracy)
        ]
        post(
            client,
            "executions",
            {
                "run": run["id"],
                "executable": exe["id"],
                "name": f"train-{name}",
                "kind": "train",
                "outputArtifacts": metrics,
            },
        )
    return made


def test_the_issue_example_with_and_or_not_and_parentheses(client: TestClient, runs: dict) -> None:
    q = (
        'metrics.accuracy > 0.9 and (configuration.optimizer = "adam" or '
        'configuration.optimizer = "sgd") and not annotations.team = "legacy"'
    )
    assert names(client, "runs", q) == ["adam-1", "sgd-1"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        # precedence: not > and > or
        (
            'configuration.optimizer = "rmsprop" or configuration.layers = 3 and '
            'annotations.team = "ml"',
            ["adam-1", "rms-1", "sgd-1"],
        ),
        (
            '(configuration.optimizer = "rmsprop" or configuration.layers = 3) and '
            'annotations.team = "ml"',
            ["adam-1", "sgd-1"],
        ),
        ('not configuration.optimizer = "adam" and not configuration.optimizer = "sgd"', ["rms-1"]),
        ("not not configuration.layers = 3", ["adam-1", "sgd-1"]),
        # comparisons: numbers compare as numbers (numeric text too), text as text
        ("configuration.lr < 0.05", ["adam-1", "rms-1", "sgd-1"]),
        ("configuration.lr >= 0.1", ["Sgd-2", "adam-2"]),
        ('configuration.optimizer > "r"', ["Sgd-2", "rms-1", "sgd-1"]),
        ('configuration.optimizer != "adam"', ["Sgd-2", "rms-1", "sgd-1"]),
        ('annotations.team != "ml"', ["Sgd-2", "adam-2", "rms-1"]),  # absent counts as !=
        ("configuration.deep = true", ["adam-1"]),
        ("configuration.deep = false", ["adam-2"]),
        ("configuration.deep != true", ["Sgd-2", "adam-2", "rms-1", "sgd-1"]),
        ("configuration.layers in (3, 7)", ["Sgd-2", "adam-1", "sgd-1"]),
        ("configuration.layers not in (3, 7)", ["adam-2", "rms-1"]),
        ('name in ("adam-1", "rms-1")', ["adam-1", "rms-1"]),
        ('name not in ("adam-1", "rms-1")', ["Sgd-2", "adam-2", "sgd-1"]),
        # like (case-sensitive), ilike, prefix, contains
        ('name like "sgd%"', ["sgd-1"]),
        ('name ilike "sgd%"', ["Sgd-2", "sgd-1"]),
        ('name like "_gd-_"', ["Sgd-2", "sgd-1"]),
        ('name not like "%-1"', ["Sgd-2", "adam-2"]),
        ('name prefix "adam"', ["adam-1", "adam-2"]),
        ('name contains "GD"', ["Sgd-2", "sgd-1"]),
        ('configuration.optimizer like "%prop"', ["rms-1"]),
        # is null
        ("annotations.team is null", ["rms-1"]),
        ("annotations.team is not null", ["Sgd-2", "adam-1", "adam-2", "sgd-1"]),
        ("metrics.accuracy is null", ["rms-1"]),
        ("endTime is null", ["rms-1"]),
        # metric columns: latest, min, max
        ("metrics.accuracy >= 0.9", ["adam-1", "sgd-1"]),
        ("metrics.accuracy.min < 0.45", ["Sgd-2"]),
        ("metrics.accuracy.max > 0.94", ["adam-1"]),
        ("not metrics.accuracy > 0.6", ["Sgd-2", "rms-1"]),
        # names of related entities
        ('experiment.name = "handwriting"', ["adam-1", "adam-2", "rms-1", "sgd-1"]),
        ('experiment = "other"', ["Sgd-2"]),
        ('experiment != "other"', ["adam-1", "adam-2", "rms-1", "sgd-1"]),
        ('experiment.annotations.team = "vision" and configuration.layers = 5', ["adam-2"]),
        ('experiment.name like "hand%" and status = "RUNNING"', ["rms-1"]),
    ],
)
def test_expressions(client: TestClient, runs: dict, q: str, expected: list[str]) -> None:
    assert names(client, "runs", q) == sorted(expected)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('name ilike "ärger%"', ["Ärger", "ärger-2"]),
        ('name ilike "%σοφία"', ["ΣΟΦΊΑ"]),
        ('name like "ärger%"', ["ärger-2"]),
        ('name contains "ÄRGER"', ["Ärger", "ärger-2"]),
    ],
)
def test_case_blind_matches_fold_letters_beyond_ascii(
    client: TestClient, q: str, expected: list[str]
) -> None:
    experiment = post(client, "experiments", {"name": "unicode"})
    for name in ("Ärger", "ärger-2", "ΣΟΦΊΑ", "plain"):
        post(client, "runs", {"experiment": experiment["id"], "name": name})
    assert names(client, "runs", q) == sorted(expected)


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ("name:contains:ÄRGER", ["Ärger", "ärger-2"]),
        ("name:prefix:ärger", ["ärger-2"]),
        ("name:prefix:PLAIN", []),
    ],
)
def test_filter_prefix_is_exact_and_contains_folds_case(
    client: TestClient, filter_: str, expected: list[str]
) -> None:
    experiment = post(client, "experiments", {"name": "unicode"})
    for name in ("Ärger", "ärger-2", "plain"):
        post(client, "runs", {"experiment": experiment["id"], "name": name})
    response = client.get(f"{API}/runs", params={"filter": filter_, "limit": 100})
    assert response.status_code == 200, response.text
    assert sorted(i["name"] for i in response.json()["items"]) == sorted(expected)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('params.optimizer = "sgd" and tags.team = "ml"', ["sgd-1"]),
        ("metrics.accuracy > 0.9 AND params.layers = '3'", ["adam-1", "sgd-1"]),
        ("attributes.status = 'RUNNING'", ["rms-1"]),
        ("attribute.run_name LIKE 'adam%'", ["adam-1", "adam-2"]),
        ("run_name ILIKE 'SGD%'", ["Sgd-2", "sgd-1"]),
        ("tags.`team` IN ('legacy')", ["Sgd-2", "adam-2"]),
        ('tags."team" = "legacy" and params.`lr` = "0.5"', ["Sgd-2"]),
        ("attributes.start_time > 0", ["Sgd-2", "adam-1", "adam-2", "rms-1", "sgd-1"]),
        ("attributes.end_time IS NULL", ["rms-1"]),
    ],
)
def test_mlflow_search_runs_filters_are_accepted(
    client: TestClient, runs: dict, q: str, expected: list[str]
) -> None:
    assert names(client, "runs", q) == expected


def test_q_ands_with_filters_sorts_and_pages(client: TestClient, runs: dict) -> None:
    params = {
        "q": "metrics.accuracy > 0",
        "filter": "experiment:eq:handwriting",
        "limit": 1,
        "sort": "-metrics.accuracy",
    }
    seen = []
    while True:
        page = client.get(f"{API}/runs", params=params).json()
        seen += [i["name"] for i in page["items"]]
        if not page["nextCursor"]:
            break
        params["cursor"] = page["nextCursor"]
    assert seen == ["adam-1", "sgd-1", "adam-2"]
    page = client.get(f"{API}/runs", params={"filter": "metrics.accuracy.min:lt:0.45"}).json()
    assert [i["name"] for i in page["items"]] == ["Sgd-2"]


@pytest.mark.parametrize("plural", LISTS)
def test_every_list_takes_q(client: TestClient, runs: dict, plural: str) -> None:
    post(client, "pipelines", {"name": "p"})
    response = client.get(f"{API}/{plural}", params={"q": 'name = "nothing" or createTime > 0'})
    assert response.status_code == 200, response.text
    assert response.json()["items"]
    problem = refused(client, plural, "nmae = 1")
    assert problem["errors"][0]["column"] == 1


def test_other_entities(client: TestClient, runs: dict) -> None:
    assert names(client, "experiments", 'annotations.team = "vision" or name = "other"') == [
        "handwriting",
        "other",
    ]
    assert names(client, "executions", 'run.name prefix "adam" and kind = "train"') == [
        "train-adam-1",
        "train-adam-2",
    ]
    assert names(client, "executions", 'experiment.name = "other"') == ["train-Sgd-2"]
    assert names(client, "executions", 'run in ("sgd-1", "Sgd-2")') == [
        "train-Sgd-2",
        "train-sgd-1",
    ]
    found = names(client, "artifacts", 'kind = "metrics" and value > 0.9 and run.name = "adam-1"')
    assert found == ["accuracy"]
    found = names(client, "artifacts", 'experiment.name = "other" and attributes.value < 0.4')
    assert found == ["accuracy"]


@pytest.mark.parametrize(
    ("q", "column", "says"),
    [
        ("configuration.lr >", 19, "expected a value"),
        ('configuration.lr = "a" and', 27, "expected a field name"),
        ("(name = 'a'", 12, "')'"),
        ("name = 'a')", 11, "expected 'and', 'or'"),
        ("name = 'a", 8, "never closed"),
        ("name = adam", 8, "quote text"),
        ("name == null", 9, "is null"),
        ("name ~ 'a'", 6, "unexpected character"),
        ("name is 3", 9, "expected 'null'"),
        ("name not = 'a'", 10, "expected 'in', 'like'"),
        ("name = 3", 1, "put 3 in quotes"),
        ("createTime > 'yesterday'", 1, "not an ISO 8601 time"),
        ("revision = 'x'", 1, "is a number"),
        ("status like 3", 13, "takes quoted text"),
        ("metrics.accuracy = 'high'", 1, "a metric is a number"),
        ("metrics.accuracy like 'h%'", 1, "a metric is a number"),
        ("metrics = 1", 1, "name a metric"),
        ("x = 1 and nmae = 'a'", 1, "unknown field"),
        ("name = 'a' and nmae = 'a'", 16, "unknown field"),
        ("configuration.lr in (1, 'a')", 1, "one type"),
        ("configuration.deep > true", 1, "= and != only"),
        ("experiment > 'a'", 1, "compare it with =, != or in"),
        ("experiment.nmae = 'a'", 1, "unknown field"),
        ("configuration.lr = 1e999", 20, "finite"),
        ("name = 'a' or", 14, "expected a field name"),
        ("", None, None),
    ],
)
def test_mistakes_point_at_their_column(
    client: TestClient, runs: dict, q: str, column: int | None, says: str | None
) -> None:
    if column is None:  # an empty expression is no expression
        assert client.get(f"{API}/runs", params={"q": q}).status_code == 200
        return
    problem = refused(client, "runs", q)
    assert problem["errors"][0]["column"] == column, problem
    assert says in problem["detail"], problem
    assert f"column {column}" in problem["detail"]


def test_nesting_passes_at_the_documented_limit_and_is_refused_past_it(
    client: TestClient, runs: dict
) -> None:
    """docs/api.md: "32 levels of nesting", of parentheses or of ``not``, on both databases."""
    assert limits.MAX_QUERY_DEPTH == 32
    assert "32 levels of nesting" in (ROOT / "docs" / "api.md").read_text()
    at = limits.MAX_QUERY_DEPTH
    parens = "(" * at + "name = 'adam-1'" + ")" * at
    assert names(client, "runs", parens) == ["adam-1"]
    nots = "not " * at + "name = 'adam-1'"  # an even number of nots: the run itself
    assert names(client, "runs", nots) == ["adam-1"]
    for past in (
        "(" * (at + 1) + "name = 'adam-1'" + ")" * (at + 1),
        "not " * (at + 1) + "name = 'adam-1'",
        "not (" * (at // 2) + "not name = 'adam-1'" + ")" * (at // 2),
    ):
        problem = refused(client, "runs", past)
        assert f"nests deeper than {at} levels" in problem["detail"], problem


def test_hostile_expressions_are_refused_or_answered_never_a_500(
    client: TestClient, runs: dict
) -> None:
    deep = "(" * 40 + "name = 'a'" + ")" * 40
    assert "nests deeper" in refused(client, "runs", deep)["detail"]
    assert "nests deeper" in refused(client, "runs", "not " * 50 + "name = 'a'")["detail"]
    # nesting within the bound is answered
    ok = "(" * 20 + "name = 'adam-1'" + ")" * 20
    assert names(client, "runs", ok) == ["adam-1"]
    wide = " or ".join(f"name = 'n{i}'" for i in range(250))
    assert "at most 200 comparisons" in refused(client, "runs", wide)["detail"]
    huge = "name = '" + "x" * 20_000 + "'"
    assert "characters long" in refused(client, "runs", huge)["detail"]
    many = "name in (" + ",".join(f"'{i}'" for i in range(1200)) + ")"
    assert "at most 1000 values" in refused(client, "runs", many)["detail"]
    assert "NUL" in refused(client, "runs", "name = 'a\x00b'")["detail"]
    # a lone surrogate, percent-encoded as its UTF-8-like bytes (not UTF-8: refused, named)
    # and as a JSON-ish escape
    response = client.get(f"{API}/runs?q=name%20%3D%20%27%ED%A0%80%27")
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["pointer"] == "/q"
    with pytest.raises(InvalidInput, match="surrogate"):
        parse_query("name = '\ud800'")
    # patterns that look like regular expressions are text to like
    assert names(client, "runs", "name like '.*'") == []
    assert names(client, "runs", "name like '[a-z]%'") == []
    assert names(client, "runs", "name like 'a*%'") == []
    assert names(client, "runs", r"name like '%\%%'") == []
    assert names(client, "runs", r"name like 'adam\_1'") == []
    assert names(client, "runs", r"name like 'adam\-1'") == ["adam-1"]
    assert "wildcards" in refused(client, "runs", "name like '" + "%a" * 12 + "'")["detail"]
    assert names(client, "runs", "name like '%%%%%%%%%%%%%%%%%%1'") == ["adam-1", "rms-1", "sgd-1"]
    # quotes and SQL in values are values
    assert names(client, "runs", "name = 'x'' or 1=1 --'") == []
    assert names(client, "runs", 'annotations.`a"b` = "x"') == []
    assert names(client, "runs", "configuration.`'); drop table runs; --` = 1") == []
    assert len(names(client, "runs", "name is not null")) == 5


def test_a_key_with_dots_is_filtered_and_sorted_on_in_backticks(client: TestClient) -> None:
    """``mlflow.runId`` is one key: written in backticks in ``filter`` and ``sort`` as in ``q``;
    without them it is a path of two keys, which no run has."""
    experiment = post(client, "experiments", {"name": "dotted"})["id"]
    for name, run_id in (("first", "b2"), ("second", "a1"), ("third", None)):
        tags = {"mlflow.runId": run_id} if run_id else {}
        post(client, "runs", {"experiment": experiment, "name": name, "annotations": tags})

    def listed(**params: object) -> list[str]:
        response = client.get(f"{API}/runs", params={"experiment": "dotted", **params})
        assert response.status_code == 200, response.text
        return [i["name"] for i in response.json()["items"]]

    assert listed(filter="annotations.`mlflow.runId`:eq:a1") == ["second"]
    assert listed(filter="annotations.`mlflow.runId`:in:a1,b2", sort="name") == [
        "first",
        "second",
    ]
    assert listed(filter="annotations.mlflow.runId:eq:a1") == []
    assert listed(sort="-annotations.`mlflow.runId`", filter="name:ne:third") == [
        "first",
        "second",
    ]
    assert names(client, "runs", 'annotations.`mlflow.runId` = "b2"') == ["first"]
    response = client.get(f"{API}/runs", params={"filter": "annotations.`mlflow.runId:eq:a1"})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["pointer"] == "/filter/0"
