"""The node budget of a lineage request (``maxNodes``), on SQLite and PostgreSQL: the nearest
nodes breadth first, the edges among them only, and an honest count of what each node at the
edge of the answer leaves out."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

import casestudy
from casestudy import Api
from modeltrail.domain import limits
from modeltrail.domain.errors import InvalidInput
from modeltrail.services.graph.lineage import check_depth
from modeltrail.services.graph.nearest import check_max_nodes

API = "/api/v1"


def get(client: TestClient, path: str, status: int = 200, **params: object) -> dict[str, Any]:
    response = client.get(API + path, params=params)
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


def hub(client: TestClient, readers: int = 6) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A dataset read by ``readers`` runs, each preparing from it and training on that:
    the dataset, and each run's (prepare step, prepared data)."""
    api = Api(client)
    exp = api.post("/experiments", {"name": "hub"})
    prep, train = api.executable("prep.py"), api.executable("train.py")
    data = api.artifact("data", "dataset", uri="s3://data")
    made = []
    for i in range(readers):
        run = api.post("/runs", {"experiment": exp["id"], "name": f"r{i}"})
        prepared = api.artifact(f"prepared-{i}", "dataset", uri=f"s3://prepared/{i}")
        model = api.artifact(f"model-{i}", "model", uri=f"s3://model/{i}")
        step = api.execution(run, prep, "prepare", "prepare", inputs=[data], outputs=[prepared])
        api.execution(run, train, "train", "train", inputs=[prepared], outputs=[model])
        made.append((step["id"], prepared["id"]))
    return data, made


def check_connected(graph: dict[str, Any]) -> None:
    """Every edge joins nodes sent, and every node sent is reached from the root."""
    ids = {n["id"] for n in graph["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in graph["edges"])
    seen, stack = {graph["root"]}, [graph["root"]]
    while stack:
        here = stack.pop()
        for e in graph["edges"]:
            for a, b in ((e["source"], e["target"]), (e["target"], e["source"])):
                if a == here and b not in seen:
                    seen.add(b)
                    stack.append(b)
    assert seen == ids


def test_a_budget_sends_the_nearest_nodes_and_counts_what_it_left_out(
    client: TestClient,
) -> None:
    data, made = hub(client)
    whole = get(client, f"/artifacts/{data['id']}/lineage", direction="downstream")
    assert len(whole["nodes"]) == 1 + 6 * 4 and whole["limited"] is False
    assert whole["maxNodes"] == limits.DEFAULT_LINEAGE_NODES
    assert not [n for n in whole["nodes"] if "more" in n]

    graph = get(client, f"/artifacts/{data['id']}/lineage", direction="downstream", maxNodes=5)
    assert graph["limited"] is True and graph["truncated"] is False and graph["maxNodes"] == 5
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert len(nodes) == 5
    check_connected(graph)
    # Two steps that read the dataset, each with what it made: the newest runs first.
    steps = [n for n in graph["nodes"] if n["type"] == "execution"]
    assert {s["id"] for s in steps} == {made[5][0], made[4][0]}
    assert made[5][1] in nodes and made[4][1] in nodes
    # The dataset leads to four steps not sent; each prepared set to its training step.
    assert nodes[data["id"]]["more"] == 4
    assert nodes[made[5][1]]["more"] == 1 and nodes[made[4][1]]["more"] == 1
    assert "more" not in nodes[made[5][0]]


def test_an_odd_budget_ends_on_a_step_without_all_it_made(client: TestClient) -> None:
    data, made = hub(client)
    graph = get(client, f"/artifacts/{data['id']}/lineage", direction="downstream", maxNodes=2)
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert set(nodes) == {data["id"], made[5][0]}
    assert nodes[made[5][0]]["more"] == 1 and nodes[data["id"]]["more"] == 5
    alone = get(client, f"/artifacts/{data['id']}/lineage", direction="downstream", maxNodes=1)
    assert [n["id"] for n in alone["nodes"]] == [data["id"]] and alone["edges"] == []
    assert alone["nodes"][0]["more"] == 6 and alone["limited"] is True


def test_the_depth_limit_and_the_budget_each_say_what_they_cut(client: TestClient) -> None:
    data, made = hub(client, readers=2)
    shallow = get(client, f"/artifacts/{data['id']}/lineage", direction="downstream", depth=1)
    assert shallow["truncated"] is True and shallow["limited"] is False
    nodes = {n["id"]: n for n in shallow["nodes"]}
    # At the depth limit the prepared sets have a training step beyond: counted, not sent.
    assert nodes[made[0][1]]["more"] == 1 and nodes[made[1][1]]["more"] == 1
    assert "more" not in nodes[data["id"]]
    # A budget that stops the walk before the depth limit says so, and not that depth did.
    deep = get(
        client, f"/artifacts/{data['id']}/lineage", direction="downstream", depth=10, maxNodes=4
    )
    assert deep["limited"] is True and deep["truncated"] is False
    check_connected(deep)


def test_upstream_budget_counts_runs_and_triggers(client: TestClient) -> None:
    study = casestudy.build(client)
    model = study.models[1]["id"]
    whole = get(client, f"/artifacts/{model}/lineage")
    for budget in (2, 3, 4, len(whole["nodes"]) - 1):
        graph = get(client, f"/artifacts/{model}/lineage", maxNodes=budget)
        assert len(graph["nodes"]) == budget and graph["limited"] is True
        check_connected(graph)
    everything = get(client, f"/artifacts/{model}/lineage", maxNodes=len(whole["nodes"]))
    assert everything["limited"] is False and len(everything["nodes"]) == len(whole["nodes"])


def test_execution_lineage_takes_a_budget_too(client: TestClient) -> None:
    study = casestudy.build(client)
    train = study.executions[1]["train"]["id"]
    graph = get(client, f"/executions/{train}/lineage", maxNodes=2)
    assert graph["root"] == train and len(graph["nodes"]) == 2 and graph["limited"] is True
    check_connected(graph)


@pytest.mark.parametrize("budget", ["0", "-1", str(limits.MAX_LINEAGE_NODES + 1), "many", "1.5"])
@pytest.mark.parametrize("root", ["artifacts", "executions"])
def test_a_bad_budget_is_a_problem_naming_the_field(
    client: TestClient, budget: str, root: str
) -> None:
    study = casestudy.build(client)
    target = study.models[1]["id"] if root == "artifacts" else study.executions[1]["train"]["id"]
    response = client.get(f"{API}/{root}/{target}/lineage", params={"maxNodes": budget})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["pointer"] for e in response.json()["errors"]] == ["/maxNodes"]


def test_the_service_refuses_a_bad_budget_from_any_front_end(client: TestClient) -> None:
    from modeltrail.domain.errors import InvalidInput
    from modeltrail.services.graph import nearest

    with pytest.raises(InvalidInput) as refused:
        nearest.check_max_nodes(limits.MAX_LINEAGE_NODES + 1)
    assert refused.value.errors[0]["pointer"] == "/maxNodes"
    assert nearest.check_max_nodes(limits.MAX_LINEAGE_NODES) == limits.MAX_LINEAGE_NODES


@pytest.mark.parametrize(
    ("check", "param", "high"),
    [
        ("max_nodes", "maxNodes", limits.MAX_LINEAGE_NODES),
        ("depth", "depth", limits.MAX_LINEAGE_DEPTH),
    ],
)
def test_the_services_refuse_a_bound_out_of_range_themselves(
    check: str, param: str, high: int
) -> None:
    """The services check the bounds too, for callers that do not come through the router."""
    checked = check_max_nodes if check == "max_nodes" else check_depth
    assert checked(1) == 1 and checked(high) == high
    for bad in (0, -1, high + 1):
        with pytest.raises(InvalidInput) as refused:
            checked(bad)
        assert refused.value.errors[0]["pointer"] == f"/{param}"


def test_a_long_chain_within_the_budget_is_walked_twice_not_once_per_deepening(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first walk (one step) tells how many nodes a step adds; the second goes as deep
    as the budget needs at that rate, here the whole chain."""
    from modeltrail.services.graph import lineage

    api = Api(client)
    exp = api.post("/experiments", {"name": "chain"})
    run = api.post("/runs", {"experiment": exp["id"], "name": "r"})
    step = api.executable("step.py")
    current = api.artifact("a0", "dataset", uri="s3://a/0")
    for i in range(1, 21):
        nxt = api.artifact(f"a{i}", "dataset", uri=f"s3://a/{i}")
        api.execution(run, step, f"s{i}", "step", inputs=[current], outputs=[nxt])
        current = nxt
    walks: list[int] = []
    walk_from = lineage.walk_from

    def counted(*args: Any, **kwargs: Any) -> Any:
        walks.append(kwargs["depth"])
        return walk_from(*args, **kwargs)

    monkeypatch.setattr(lineage, "walk_from", counted)
    graph = get(client, f"/artifacts/{current['id']}/lineage")
    assert len(graph["nodes"]) == 21 + 20 + 1  # the artifacts, the steps and the run
    assert graph["limited"] is False and graph["truncated"] is False
    assert len(walks) == 2


def test_a_search_brings_in_the_matches_the_budget_left_out_with_their_way(
    client: TestClient,
) -> None:
    data, made = hub(client, readers=8)
    # Five nodes, the nearest first: model-0 (the oldest run's, two steps out) is not among them.
    near = get(client, f"/artifacts/{data['id']}/lineage", direction="downstream", maxNodes=5)
    assert "model-0" not in {n["name"] for n in near["nodes"]} and "matched" not in near
    graph = get(
        client,
        f"/artifacts/{data['id']}/lineage",
        direction="downstream",
        maxNodes=5,
        match="MODEL-0",
    )
    nodes = {n["name"]: n for n in graph["nodes"]}
    assert len(nodes) == 5 and graph["limited"] is True and graph["matched"] == 1
    # The match, and the way to it from the root: data, prepare, prepared-0, train, model-0.
    assert {"data", "prepared-0", "model-0"} <= set(nodes)
    assert [n["name"] for n in graph["nodes"] if n["type"] == "execution"].count("train") == 1
    check_connected(graph)
    # The root still says how many of its neighbours the answer left out.
    assert nodes["data"]["more"] == 7
    # Matches are found to the depth asked for, not beyond: the models are two steps out.
    shallow = get(
        client, f"/artifacts/{data['id']}/lineage", direction="downstream", depth=1, match="model"
    )
    assert shallow["matched"] == 0
    # Many matches: the nearest first, as many as the budget holds, each with its way.
    many = get(
        client,
        f"/artifacts/{data['id']}/lineage",
        direction="downstream",
        maxNodes=9,
        match="model-",
    )
    assert many["matched"] == 8
    check_connected(many)
    assert sum(n["name"].startswith("model-") for n in many["nodes"]) == 2
    # An execution's lineage searches too.
    step = made[0][0]
    from_step = get(client, f"/executions/{step}/lineage", direction="downstream", match="model")
    assert from_step["matched"] == 1


@pytest.mark.parametrize(
    "match",
    ["", "   ", "x" * (limits.MAX_NAME + 1), "a\x00b", "tab\there", "\x7f", "line\nbreak"],
)
@pytest.mark.parametrize("root", ["artifacts", "executions"])
def test_a_bad_search_is_a_problem_naming_the_field(
    client: TestClient, match: str, root: str
) -> None:
    study = casestudy.build(client)
    target = study.models[1]["id"] if root == "artifacts" else study.executions[1]["train"]["id"]
    response = client.get(f"{API}/{root}/{target}/lineage", params={"match": match})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["pointer"] for e in response.json()["errors"]] == ["/match"]


def test_a_search_is_text_not_a_pattern(client: TestClient) -> None:
    data, _ = hub(client, readers=3)
    for text in ("%", "_", "'; drop table artifacts; --", ".*", "ü", "model-1"):
        graph = get(client, f"/artifacts/{data['id']}/lineage", direction="downstream", match=text)
        assert graph["matched"] == (1 if text == "model-1" else 0), text
