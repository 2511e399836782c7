"""The runs grid: chosen parameter, tag and metric columns, sorted, filtered and paged on any
of them, with the duration; ``columns=auto``. On both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from modeltrail.services.metadata import Metadata

API = "/api/v1"


def post(client: TestClient, plural: str, body: dict) -> dict:
    response = client.post(f"{API}/{plural}", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def grid(client: TestClient, **params: object) -> dict:
    response = client.get(f"{API}/runs", params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def experiment(client: TestClient) -> dict:
    hw = post(client, "experiments", {"name": "handwriting"})
    other = post(client, "experiments", {"name": "other"})
    post(client, "runs", {"experiment": other["id"], "name": "elsewhere"})
    exe = post(client, "executables", {"name": "train.py"})
    start = datetime(2026, 1, 1, tzinfo=UTC)
    specs = [
        ("a", {"lr": 0.1, "optimizer": "adam", "batch size": 32}, [0.9, 0.4, 0.2], 60),
        ("b", {"lr": 0.01, "optimizer": "adam", "batch size": 32}, [0.8, 0.3], 30),
        ("c", {"lr": 0.001, "optimizer": "adam"}, [0.7, 0.5, 0.6], None),
        ("d", {"lr": 0.5, "optimizer": "adam", "batch size": 64}, [], 10),
    ]
    for i, (name, config, losses, seconds) in enumerate(specs):
        created = start + timedelta(hours=i)
        body = {
            "experiment": hw["id"],
            "name": name,
            "configuration": config,
            "annotations": {"team": "vision" if i % 2 else "speech"},
            "createTime": created.isoformat(),
        }
        if seconds is not None:
            body |= {
                "status": "SUCCESS",
                "endTime": (created + timedelta(seconds=seconds)).isoformat(),
            }
        run = post(client, "runs", body)
        metrics = [
            post(
                client, "artifacts", {"name": "loss", "kind": "metrics", "attributes": {"value": v}}
            )["id"]
            for v in losses
        ]
        post(
            client,
            "executions",
            {
                "run": run["id"],
                "executable": exe["id"],
                "name": "train",
                "kind": "train",
                "outputArtifacts": metrics,
            },
        )
    return hw


def test_columns_duration_and_sort_on_a_metric(client: TestClient, experiment: dict) -> None:
    page = grid(
        client,
        experiment="handwriting",
        columns="configuration.lr,annotations.team,metrics.loss,metrics.loss.min,"
        "metrics.loss.max,params.`batch size`,status",
        sort="metrics.loss",
    )
    assert page["columns"] == [
        "configuration.lr",
        "annotations.team",
        "metrics.loss",
        "metrics.loss.min",
        "metrics.loss.max",
        "configuration.`batch size`",
        "status",
    ]
    rows = [(i["name"], i["duration"], list(i["columns"].values())) for i in page["items"]]
    assert rows == [
        # a run without the metric sorts first ascending (as missing values do)
        ("d", 10.0, [0.5, "vision", None, None, None, 64, "SUCCESS"]),
        ("a", 60.0, [0.1, "speech", 0.2, 0.2, 0.9, 32, "SUCCESS"]),
        ("b", 30.0, [0.01, "vision", 0.3, 0.3, 0.8, 32, "SUCCESS"]),
        ("c", None, [0.001, "speech", 0.6, 0.5, 0.7, None, "RUNNING"]),
    ]
    down = grid(client, experiment=experiment["id"], columns="metrics.loss", sort="-metrics.loss")
    assert [i["name"] for i in down["items"]] == ["c", "b", "a", "d"]


def test_paging_with_cursors_on_a_metric_column(client: TestClient, experiment: dict) -> None:
    for order, expected in (("metrics.loss.max", "dcba"), ("-metrics.loss.min", "cbad")):
        seen, cursor = [], None
        while True:
            params = {"experiment": "handwriting", "sort": order, "limit": 1}
            page = grid(client, **params, **({"cursor": cursor} if cursor else {}))
            seen += [i["name"] for i in page["items"]]
            cursor = page["nextCursor"]
            if not cursor:
                break
        assert "".join(seen) == expected, order


def test_paging_on_a_parameter_that_is_null_in_some_runs(client: TestClient) -> None:
    # A parameter given as JSON null is no value, as a missing one is: it sorts with the
    # runs that lack it, and a cursor after such a run goes on to the next run.
    exp = post(client, "experiments", {"name": "nulls"})
    lrs = {"n1": None, "n2": None, "m": "absent", "x": "x", "a": 0.01, "b": 1}
    for name, lr in lrs.items():
        config = {} if lr == "absent" else {"lr": lr}
        post(client, "runs", {"experiment": exp["id"], "name": name, "configuration": config})
    for order in ("configuration.lr", "-configuration.lr"):
        whole = [i["name"] for i in grid(client, experiment="nulls", sort=order)["items"]]
        seen: list[str] = []
        cursor = None
        for _ in range(len(lrs) + 1):
            params = {"experiment": "nulls", "sort": order, "limit": 1}
            page = grid(client, **params, **({"cursor": cursor} if cursor else {}))
            seen += [i["name"] for i in page["items"]]
            cursor = page["nextCursor"]
            if not cursor:
                break
        assert seen == whole, order
        assert sorted(seen) == sorted(lrs), order
        nulls = {"n1", "n2", "m"}
        ends = seen[:3] if order == "configuration.lr" else seen[-3:]
        assert set(ends) == nulls, order


def test_filter_and_q_on_columns(client: TestClient, experiment: dict) -> None:
    names = lambda page: sorted(i["name"] for i in page["items"])  # noqa: E731
    assert names(grid(client, experiment="handwriting", filter="metrics.loss:lt:0.35")) == [
        "a",
        "b",
    ]
    page = grid(
        client, experiment="handwriting", q="metrics.loss.max >= 0.8 or metrics.loss is null"
    )
    assert names(page) == ["a", "b", "d"]
    page = grid(client, q='metrics.loss.min < 0.6 and annotations.team = "speech"')
    assert names(page) == ["a", "c"]


def test_auto_proposes_what_varies(client: TestClient, experiment: dict) -> None:
    page = grid(client, experiment="handwriting", columns="auto")
    # the optimizer is the same everywhere; the batch size is missing in one run
    assert page["columns"] == ["configuration.`batch size`", "configuration.lr", "metrics.loss"]
    assert all(set(i["columns"]) == set(page["columns"]) for i in page["items"])


def test_auto_in_any_case_and_with_more_columns(client: TestClient, experiment: dict) -> None:
    chosen = ["configuration.`batch size`", "configuration.lr", "metrics.loss"]
    for word in ("AUTO", " Auto "):
        assert grid(client, experiment="handwriting", columns=word)["columns"] == chosen
    # the columns named besides auto follow the chosen ones, each once, wherever auto is
    for columns in ("auto,annotations.team,metrics.loss", "annotations.team,AUTO"):
        page = grid(client, experiment="handwriting", columns=columns)
        assert page["columns"] == [*chosen, "annotations.team"]
        assert set(page["items"][0]["columns"]) == set(page["columns"])
    bad = client.get(f"{API}/runs", params={"columns": "auto,nosuch"})
    assert bad.status_code == 422, bad.text
    assert bad.json()["errors"][0]["pointer"] == "/columns"


def test_keys_list_every_parameter_tag_and_metric_as_columns(
    client: TestClient, experiment: dict
) -> None:
    response = client.get(f"{API}/runs/keys", params={"experiment": "handwriting"})
    assert response.status_code == 200, response.text
    keys = response.json()
    assert keys == {
        "parameters": ["configuration.`batch size`", "configuration.lr", "configuration.optimizer"],
        "tags": ["annotations.team"],
        "metrics": ["metrics.loss"],
        "sampled": 4,
    }
    # each key is a column the grid takes as it is
    columns = ",".join(keys["parameters"] + keys["tags"] + keys["metrics"])
    assert grid(client, experiment="handwriting", columns=columns)["columns"] == columns.split(",")
    narrowed = client.get(f"{API}/runs/keys", params={"q": 'name = "elsewhere"'}).json()
    assert narrowed["sampled"] == 1 and narrowed["parameters"] == [] == narrowed["metrics"]
    bad = client.get(f"{API}/runs/keys", params={"q": "name = "})
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/q"


def test_no_columns_still_answers_runs_with_their_duration(
    client: TestClient, experiment: dict
) -> None:
    page = grid(client, experiment="handwriting", sort="name")
    assert page["columns"] == [] and [i["duration"] for i in page["items"]] == [60, 30, None, 10]
    assert all(i["columns"] == {} for i in page["items"])


def test_sort_page_and_search_on_the_duration(client: TestClient, experiment: dict) -> None:
    # a: 60 s, b: 30 s, c: still running, d: 10 s; a running run has no duration yet
    names = lambda page: [i["name"] for i in page["items"]]  # noqa: E731
    assert names(grid(client, experiment="handwriting", sort="duration")) == list("cdba")
    assert names(grid(client, experiment="handwriting", sort="-duration")) == list("abdc")
    for order, expected in (("duration", "cdba"), ("-duration", "abdc")):
        seen, cursor = [], None
        while True:
            params = {"experiment": "handwriting", "sort": order, "limit": 1}
            page = grid(client, **params, **({"cursor": cursor} if cursor else {}))
            seen += names(page)
            cursor = page["nextCursor"]
            if not cursor:
                break
        assert "".join(seen) == expected, order
    assert sorted(names(grid(client, experiment="handwriting", q="duration >= 30"))) == ["a", "b"]
    page = grid(client, experiment="handwriting", columns="duration", sort="name")
    assert [
        round(i["columns"]["duration"]) if i["columns"]["duration"] is not None else None
        for i in page["items"]
    ] == [60, 30, None, 10]
    for params, pointer, says in (
        ({"sort": "duration.max"}, "/sort", "'duration' has no sub-fields"),
        ({"q": "duration = 'long'"}, "/q", "'duration' is a number"),
        ({"filter": "duration:contains:1"}, "/filter", "'duration' is a number"),
    ):
        response = client.get(f"{API}/runs", params={"experiment": "handwriting", **params})
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["errors"][0]["pointer"] == pointer and says in problem["detail"], problem


@pytest.mark.parametrize(
    ("columns", "column", "says"),
    [
        ("nope", 1, "unknown field"),
        ("configuration.lr,metrics", 18, "name a metric"),
        ("configuration.lr,,name", 18, "expected a field name"),
        ("configuration", 1, "name a key inside"),
        ("name name", 6, "expected ','"),
        ("metrics.loss,metrics.é", 22, "unexpected character"),
        ("metrics.a!b", 10, "no operator"),
        ("configuration.`lr", 15, "never closed"),
        ("metrics.loss,1e999", 14, "not a finite number"),
    ],
)
def test_bad_columns_are_refused_with_their_column(
    client: TestClient, experiment: dict, columns: str, column: int, says: str
) -> None:
    response = client.get(f"{API}/runs", params={"columns": columns})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["pointer"] == "/columns"
    assert problem["errors"][0]["column"] == column and says in problem["detail"]
    assert problem["detail"].startswith("columns: "), problem
    too_many = ",".join(f"configuration.k{i}" for i in range(60))
    assert client.get(f"{API}/runs", params={"columns": too_many}).status_code == 422
    bad_sort = client.get(f"{API}/runs", params={"sort": "metrics"})
    assert bad_sort.status_code == 422 and bad_sort.json()["errors"][0]["pointer"] == "/sort"


def test_metric_columns_read_series_and_fall_back_to_artifacts(
    client: TestClient, experiment: dict
) -> None:
    runs = {r["name"]: r for r in grid(client, experiment="handwriting")["items"]}
    for name, values in (("a", [0.5, 0.05, 0.1]), ("d", [0.7, 0.4])):
        points = [{"key": "loss", "value": v, "step": i} for i, v in enumerate(values)]
        response = client.post(f"{API}/runs/{runs[name]['id']}/metrics", json={"points": points})
        assert response.status_code in (200, 201), response.text
    page = grid(
        client,
        experiment="handwriting",
        columns="metrics.loss,metrics.loss.min,metrics.loss.max",
        sort="metrics.loss.min",
    )
    cells = {i["name"]: list(i["columns"].values()) for i in page["items"]}
    # a and d from their series; b and c, which logged none, from their metrics artifacts
    assert cells == {
        "a": [0.1, 0.05, 0.5],
        "b": [0.3, 0.3, 0.8],
        "c": [0.6, 0.5, 0.7],
        "d": [0.4, 0.4, 0.7],
    }
    assert [i["name"] for i in page["items"]] == ["a", "b", "d", "c"]
    compared = client.get(
        f"{API}/compare/runs", params={"ids": "a,b", "metrics": "loss", "points": 2}
    ).json()
    assert compared["metrics"] == [
        {"key": "loss", "latest": [0.1, 0.3], "min": [0.05, 0.3], "max": [0.5, 0.8]}
    ]
    series_a, artifacts_b = compared["series"][0]["runs"]
    assert series_a["steps"][-1] == 2 and series_a["values"][-1] == 0.1
    assert artifacts_b == {"steps": [0, 1], "values": [0.8, 0.3], "min": None, "max": None}


# docs/api.md, "Sorting": values of different types in one field sort by type first, in the
# order of types of each database.
MIXED_ORDER = {
    # numbers (false and true as 0 and 1), then text (arrays and objects as their JSON text)
    "sqlite": [
        "minus",
        "false",
        "true",
        "three",
        "ten",
        "digit",
        "upper",
        "array",
        "lower",
        "object",
    ],
    # text, numbers, false, true, arrays, objects
    "postgresql": [
        "digit",
        "upper",
        "lower",
        "minus",
        "three",
        "ten",
        "false",
        "true",
        "array",
        "object",
    ],
}


def test_mixed_types_sort_in_the_documented_order_of_each_database(
    client: TestClient, metadata: Metadata
) -> None:
    exp = post(client, "experiments", {"name": "mixed"})
    values = {"missing": ..., "null": None, "minus": -1, "three": 3, "ten": 10.5, "digit": "2",
              "upper": "B", "lower": "abc", "false": False, "true": True, "array": [1],
              "object": {"a": 1}}  # fmt: skip
    for name, value in values.items():
        config = {} if value is ... else {"p": value}
        post(client, "runs", {"experiment": exp["id"], "name": name, "configuration": config})
    expected = MIXED_ORDER[metadata.db.dialect]
    for order in ("configuration.p", "-configuration.p"):
        seen: list[str] = []
        cursor = None
        for _ in range(len(values)):
            params = {"experiment": "mixed", "sort": order, "limit": 5}
            page = grid(client, **params, **({"cursor": cursor} if cursor else {}))
            seen += [i["name"] for i in page["items"]]
            cursor = page["nextCursor"]
            if not cursor:
                break
        ascending = seen if order == "configuration.p" else seen[::-1]
        assert set(ascending[:2]) == {"missing", "null"}, order
        assert ascending[2:] == expected, order
