"""The lineage questions through the HTTP API, on SQLite and PostgreSQL: the five scenarios of
thesis Chapter 4, the case-study diff of Chapter 8, and bad input."""

from __future__ import annotations

import uuid

import pytest
from starlette.testclient import TestClient

import casestudy
from casestudy import EMNIST_LETTERS_URI, MNIST_URI, Api
from conftest import statements_of
from modeltrail.domain.lineage import Node, Trace
from modeltrail.services.graph import trace
from scenarios import build_automated_workflow, build_repeated_steps

API = "/api/v1"


def get(client: TestClient, path: str, status: int = 200, **params: object) -> dict:
    response = client.get(API + path, params=params)
    assert response.status_code == status, response.text
    return response.json()


def by_id(graph: dict) -> dict[str, dict]:
    return {n["id"]: n for n in graph["nodes"]}


# ---------------------------------------------------------------- Scenario 1 / case study


def test_case_study_diff_names_the_letters_dataset_first_and_the_learning_rate_second(
    client: TestClient,
) -> None:
    study = casestudy.build(client)
    bad, good = study.models[1], study.models[0]
    result = get(client, f"/artifacts/{bad['id']}/diff", against=good["id"])
    assert result["artifact"]["id"] == bad["id"] and result["against"]["id"] == good["id"]
    first, second = result["differences"][:2]
    assert first["category"] == "input" and not first["derived"]
    changes = {c["field"]: (c["before"], c["after"]) for c in first["changes"]}
    assert changes["uri"] == (MNIST_URI, EMNIST_LETTERS_URI)
    assert changes["attributes.classes"] == casestudy.CLASSES
    assert first["step"]["kind"] == "prepare"
    assert "uri" in first["summary"] and str(casestudy.CLASSES[1]) in first["summary"]
    assert second["category"] == "configuration" and second["step"]["kind"] == "train"
    assert [(c["field"], c["before"], c["after"]) for c in second["changes"]] == [
        ("configuration.learning-rate", *casestudy.LEARNING_RATES)
    ]
    # The run's trigger changed too; the training data changed because its input did.
    categories = [d["category"] for d in result["differences"]]
    assert "trigger" in categories
    trigger = next(d for d in result["differences"] if d["category"] == "trigger")
    before, after = casestudy.CAUSES
    assert {"field": "cause", "before": before, "after": after} in trigger["changes"]
    derived = [d for d in result["differences"] if d["derived"]]
    assert [d["subject"] for d in derived] == [
        f"input dataset '{casestudy.TRAINING_DATA}' of step train (train.py)"
    ]
    assert categories.index("trigger") < len(categories) - len(derived)
    assert [(s["kind"], s["level"]) for s in result["steps"]] == [("prepare", 2), ("train", 1)]


def test_why_without_against_diffs_against_the_previous_model_of_that_name(
    client: TestClient,
) -> None:
    study = casestudy.build(client)
    result = get(client, f"/artifacts/{study.models[1]['id']}/diff")
    assert result["against"]["id"] == study.models[0]["id"]
    assert result["differences"][0]["changes"][0] == {
        "field": "uri",
        "before": MNIST_URI,
        "after": EMNIST_LETTERS_URI,
    }
    # The first model has no earlier one to explain it against.
    missing = get(client, f"/artifacts/{study.models[0]['id']}/diff", status=404)
    assert "against" in missing["detail"]
    # An id that names nothing is named in the answer, whichever side it is on.
    unknown = str(uuid.uuid4())
    for path, against in [(unknown, study.models[0]["id"]), (study.models[1]["id"], unknown)]:
        problem = get(client, f"/artifacts/{path}/diff", against=against, status=404)
        assert problem["detail"] == f"artifact {unknown} does not exist"


def test_upstream_lineage_reaches_the_event_that_started_the_run(client: TestClient) -> None:
    study = casestudy.build(client)
    graph = get(client, f"/artifacts/{study.models[1]['id']}/lineage")
    nodes = by_id(graph)
    assert graph["root"] == study.models[1]["id"] and graph["truncated"] is False
    assert graph["direction"] == "upstream" and graph["mergeEqual"] is True
    assert nodes[study.raw[1]["id"]]["uri"] == EMNIST_LETTERS_URI
    assert nodes[study.raw[1]["id"]]["depth"] == 2
    event = nodes[study.events[1]["id"]]
    assert event["type"] == "event" and event["attributes"]["cause"] == casestudy.CAUSES[1]
    edges = {(e["source"], e["target"], e["type"]) for e in graph["edges"]}
    run = study.runs[1]["id"]
    train = study.executions[1]["train"]["id"]
    assert (study.events[1]["id"], run, "trigger") in edges
    assert (run, train, "contains") in edges
    assert (study.prepared[1]["id"], train, "input") in edges
    assert (train, study.models[1]["id"], "output") in edges
    assert (study.executions[1]["prepare"]["id"], train, "successor") in edges
    # Nothing of run 1 is upstream of run 2's model, and nothing downstream of it.
    assert study.raw[0]["id"] not in nodes and study.validations[1]["id"] not in nodes
    assert nodes[train]["executable"]["name"] == casestudy.EXECUTABLES["train"]
    assert nodes[train]["configuration"]["learning-rate"] == casestudy.LEARNING_RATES[1]


def test_depth_limit_says_when_it_cut_something_off(client: TestClient) -> None:
    study = casestudy.build(client)
    model = study.models[1]["id"]
    one = get(client, f"/artifacts/{model}/lineage", depth=1)
    assert one["truncated"] is True and one["depth"] == 1
    assert {n["id"] for n in one["nodes"] if n["type"] == "artifact"} == {
        model,
        study.prepared[1]["id"],
    }
    two = get(client, f"/artifacts/{model}/lineage", depth=2)
    assert two["truncated"] is False and study.raw[1]["id"] in by_id(two)
    for depth in (1_000_000, 0, -1):
        problem = get(client, f"/artifacts/{model}/lineage", status=422, depth=depth)
        assert problem["errors"][0]["pointer"] == "/depth", problem
    bad_direction = get(client, f"/artifacts/{model}/lineage", status=422, direction="sideways")
    assert bad_direction["errors"][0]["pointer"] == "/direction"


def test_downstream_impact_reaches_models_metrics_and_deployments_with_paths(
    client: TestClient,
) -> None:
    study = casestudy.build(client)
    # The digits of run 1 reach its deployment.
    result = get(client, f"/artifacts/{study.raw[0]['id']}/impact")
    affected = {a["artifact"]["id"]: a for a in result["artifacts"]}
    assert set(affected) == {
        study.prepared[0]["id"],
        study.models[0]["id"],
        study.metrics[0]["id"],
        study.validations[0]["id"],
        study.deployments[0]["id"],
    }
    prepare, train, deploy = (study.executions[0][s]["id"] for s in ("prepare", "train", "deploy"))
    assert affected[study.deployments[0]["id"]]["path"] == [
        study.raw[0]["id"],
        prepare,
        study.prepared[0]["id"],
        train,
        study.models[0]["id"],
        deploy,
        study.deployments[0]["id"],
    ]
    assert {d["id"] for d in result["deployments"]} == {deploy, study.deployments[0]["id"]}
    assert result["runs"] == [study.runs[0]["id"]]
    assert result["counts"]["kind:model"] == 1 and result["counts"]["kind:metrics"] == 1
    # The letters of run 2 reach its failed validation, and no deployment: none was made.
    letters = get(client, f"/artifacts/{study.raw[1]['id']}/impact")
    assert study.validations[1]["id"] in {a["artifact"]["id"] for a in letters["artifacts"]}
    assert letters["deployments"] == [] and letters["runs"] == [study.runs[1]["id"]]
    downstream = get(client, f"/artifacts/{study.models[0]['id']}/lineage", direction="downstream")
    edges = {(e["source"], e["target"], e["type"]) for e in downstream["edges"]}
    # A metric that references the model is downstream of it even without an execution between.
    assert (study.models[0]["id"], study.metrics[0]["id"], "reference") in edges


def test_impact_of_a_hub_counts_its_deployments_without_comparing_nodes(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dataset that many runs deploy from: each deploy step and what it wrote are found by
    their keys. Comparing nodes with one another grows with nodes times deployments (a
    thousand runs took minutes), so none are compared."""
    api = Api(client)
    exp = api.post("/experiments", {"name": "hub"})
    prep, deploy = api.executable("prep.py"), api.executable("deploy.py")
    data = api.artifact("data", "dataset", uri="s3://data")
    for i in range(8):
        run = api.post("/runs", {"experiment": exp["id"], "name": f"r{i}"})
        model = api.artifact(f"model-{i}", "model", uri=f"s3://model/{i}")
        service = api.artifact(f"service-{i}", "deployment", uri=f"http://serve/{i}")
        api.execution(run, prep, "train", "train", inputs=[data], outputs=[model])
        api.execution(run, deploy, "deploy", "deploy", inputs=[model], outputs=[service])
    compared = []
    equal = Node.__eq__
    monkeypatch.setattr(Node, "__eq__", lambda a, b: compared.append(1) or equal(a, b))
    result = get(client, f"/artifacts/{data['id']}/impact")
    assert result["counts"]["deployments"] == 8 and len(result["deployments"]) == 16
    assert result["counts"]["kind:deployment"] == 8
    assert not compared


def test_flag_marks_everything_downstream_wherever_it_appears_until_unflagged(
    client: TestClient,
) -> None:
    study = casestudy.build(client)
    raw = study.raw[1]["id"]
    created = client.put(f"{API}/artifacts/{raw}/flag", json={"reason": "letters, not digits"})
    assert created.status_code == 201, created.text
    assert {a["artifact"]["id"] for a in created.json()["affected"]} >= {study.models[1]["id"]}
    again = client.put(f"{API}/artifacts/{raw}/flag", json={"reason": "EMNIST letters"})
    assert again.status_code == 200 and again.json()["reason"] == "EMNIST letters"
    flags = get(client, "/flags")["items"]
    assert [(f["artifact"]["id"], f["reason"]) for f in flags] == [(raw, "EMNIST letters")]
    assert {a["artifact"]["id"] for a in flags[0]["affected"]} == {
        study.prepared[1]["id"],
        study.models[1]["id"],
        study.metrics[1]["id"],
        study.validations[1]["id"],
    }

    lineage = by_id(get(client, f"/artifacts/{study.models[1]['id']}/lineage"))
    assert lineage[study.models[1]["id"]]["affectedBy"] == [raw]
    assert lineage[raw]["flagged"]["reason"] == "EMNIST letters"
    trace = get(client, f"/experiments/{study.experiment['id']}/trace")
    marked = {a["id"]: a for a in trace["artifacts"]}
    assert marked[study.validations[1]["id"]]["affectedBy"] == [raw]
    assert (
        "affectedBy" not in marked[study.deployments[0]["id"]]
        and "flagged" not in marked[study.raw[0]["id"]]
    )
    dag_nodes = by_id(get(client, f"/runs/{study.runs[1]['id']}/dag"))
    assert dag_nodes[study.models[1]["id"]]["affectedBy"] == [raw]
    diff = get(client, f"/artifacts/{study.models[1]['id']}/diff", against=study.models[0]["id"])
    assert diff["artifact"]["affectedBy"] == [raw] and "affectedBy" not in diff["against"]
    impact = get(client, f"/artifacts/{raw}/impact")
    assert impact["flag"]["reason"] == "EMNIST letters"

    assert client.delete(f"{API}/artifacts/{raw}/flag").status_code == 204
    assert get(client, "/flags")["items"] == []
    assert (
        "affectedBy"
        not in by_id(get(client, f"/artifacts/{study.models[1]['id']}/lineage"))[
            study.models[1]["id"]
        ]
    )
    assert client.delete(f"{API}/artifacts/{raw}/flag").status_code == 404
    assert (
        client.put(f"{API}/artifacts/{uuid.uuid4()}/flag", json={"reason": "x"}).status_code == 404
    )
    assert client.put(f"{API}/artifacts/{raw}/flag", json={"reason": ""}).status_code == 422


def test_run_dag_has_executions_artifacts_and_typed_edges(client: TestClient) -> None:
    study = casestudy.build(client)
    result = get(client, f"/runs/{study.runs[0]['id']}/dag")
    assert (
        result["run"]["id"] == study.runs[0]["id"]
        and result["run"]["event"] == study.events[0]["id"]
    )
    executions = [n["name"] for n in result["nodes"] if n["type"] == "execution"]
    assert executions == list(casestudy.STEPS)
    artifacts = {n["id"] for n in result["nodes"] if n["type"] == "artifact"}
    assert artifacts == {
        study.raw[0]["id"],
        study.test_data[0]["id"],
        study.prepared[0]["id"],
        study.models[0]["id"],
        study.metrics[0]["id"],
        study.validations[0]["id"],
        study.deployments[0]["id"],
    }
    types = sorted(e["type"] for e in result["edges"])
    # prepare 1 input, train 1, evaluate 2, validate 1, deploy 2; one output each; a chain.
    assert types == ["input"] * 7 + ["output"] * 5 + ["successor"] * 4
    # A step of this run followed by a step of another: the edge leaves the run's DAG.
    deploy, other_run = study.executions[0]["deploy"]["id"], study.executions[1]["prepare"]["id"]
    linked = client.post(f"{API}/executions/{deploy}/successors", json={"executions": [other_run]})
    assert linked.status_code == 200, linked.text
    again = get(client, f"/runs/{study.runs[0]['id']}/dag")
    assert again["edges"] == result["edges"] and again["nodes"] == result["nodes"]
    assert get(client, f"/runs/{uuid.uuid4()}/dag", status=404)["type"].endswith("/not-found")
    started = client.post(
        f"{API}/runs", json={"experiment": study.experiment["id"], "name": "just started"}
    )
    assert started.status_code == 201, started.text
    empty = get(client, f"/runs/{started.json()['id']}/dag")
    assert empty["run"]["name"] == "just started" and empty["nodes"] == empty["edges"] == []


# ---------------------------------------------------------------- Scenario 2: collaboration


def test_which_data_and_hyperparameters_made_the_deployed_model(client: TestClient) -> None:
    """Bob forgot which dataset he used; Alice did not store the hyperparameters."""
    study = casestudy.build(client)
    graph = get(client, f"/artifacts/{study.deployments[0]['id']}/lineage")
    nodes = by_id(graph)
    datasets = {n["uri"] for n in graph["nodes"] if n.get("kind") == "dataset"}
    assert MNIST_URI in datasets
    train = nodes[study.executions[0]["train"]["id"]]
    assert train["configuration"] == casestudy.train_configuration(0)
    assert train["configuration"]["learning-rate"] == casestudy.LEARNING_RATES[0]
    comparison = get(client, "/compare", a=study.prepared[0]["id"], b=study.prepared[1]["id"])
    assert comparison["kind"] == "dataset" and comparison["equal"] is False
    differing = {f["field"] for f in comparison["fields"] if not f["equal"]}
    assert {"uri", "attributes.classes", "producedBy.run.configuration.learning-rate"} <= differing
    assert "attributes.type" not in differing


def test_compare_models_field_by_field_and_refuse_different_kinds(client: TestClient) -> None:
    study = casestudy.build(client)
    result = get(client, "/compare", a=study.models[0]["id"], b=study.models[1]["id"])
    fields = {f["field"]: f for f in result["fields"]}
    lr = fields["attributes.hyperParameters.learning-rate"]
    assert (lr["a"], lr["b"], lr["equal"]) == (*casestudy.LEARNING_RATES, False)
    assert fields["attributes.framework.value1"]["equal"] is True
    assert fields["producedBy.configuration.learning-rate"]["equal"] is False
    assert (
        result["differences"] == sum(1 for f in result["fields"] if not f["equal"]) - 2
    )  # fingerprint, time
    problem = get(client, "/compare", status=422, a=study.models[0]["id"], b=study.raw[0]["id"])
    assert "different kinds" in problem["detail"] and problem["errors"][0]["pointer"] == "/b"
    get(client, "/compare", status=404, a=study.models[0]["id"], b=str(uuid.uuid4()))


# ---------------------------------------------------------------- Scenario 3: automated workflows


def test_history_since_last_deploy_with_triggers_and_first_failed_step(client: TestClient) -> None:
    flow = build_automated_workflow(client)
    full = get(client, f"/experiments/{flow.experiment['id']}/history")
    assert [r["name"] for r in full["runs"]] == [f"recommender-{n}" for n in range(1, 5)]
    assert full["lastDeploy"]["id"] == flow.runs[0]["id"] and full["runsSinceLastDeploy"] == 3
    assert full["countsByCause"] == {"schedule": 1, "item threshold": 2, "script update": 1}
    since = get(client, f"/experiments/{flow.experiment['id']}/history", sinceLastDeploy="true")
    assert [r["id"] for r in since["runs"]] == [r["id"] for r in flow.runs[1:]]
    assert all(
        r["status"] == "FAILED" and r["firstFailed"]["kind"] == "validation" for r in since["runs"]
    )
    assert [r["firstFailed"]["id"] for r in since["runs"]] == [
        v["id"] for v in flow.failed_validations
    ]
    assert since["runs"][0]["trigger"]["attributes"] == {"cause": "item threshold", "newItems": 100}
    assert since["countsByCause"] == {"item threshold": 2, "script update": 1}
    assert since["countsByStatus"] == {"FAILED": 3}
    get(client, f"/experiments/{uuid.uuid4()}/history", status=404)


# ---------------------------------------------------------------- Scenario 4: reuse


def test_cache_lookup_finds_the_latest_equal_work_and_its_outputs(client: TestClient) -> None:
    rep = build_repeated_steps(client)
    exe = rep.executable
    query = {
        "executable": {"name": exe["name"], "version": exe["version"], "uri": exe["uri"]},
        "kind": "transformation",
        "configuration": {"scale": "z"},
        "inputArtifacts": [rep.dataset["id"]],
    }
    hit = client.post(f"{API}/cache/lookup", json=query)
    assert hit.status_code == 200, hit.text
    body = hit.json()
    assert body["fingerprint"] == rep.first["fingerprint"]
    assert body["execution"]["name"] == "normalize" and body["execution"]["status"] == "SUCCESS"
    assert [o["id"] for o in body["outputs"]] == [
        rep.outputs[2]["id"]
    ]  # the most recent of the three
    miss = client.post(f"{API}/cache/lookup", json={**query, "configuration": {"scale": "log"}})
    assert miss.status_code == 404 and "fingerprint" in miss.json()
    unknown = client.post(
        f"{API}/cache/lookup", json={**query, "inputArtifacts": [str(uuid.uuid4())]}
    )
    assert (
        unknown.status_code == 422 and unknown.json()["errors"][0]["pointer"] == "/inputArtifacts/0"
    )
    other = get(client, f"/executions/{rep.first['id']}/cache")
    assert (
        other["execution"]["id"] != rep.first["id"]
        and other["fingerprint"] == rep.first["fingerprint"]
    )


def test_reuse_report_counts_repeats_with_equal_outputs(client: TestClient) -> None:
    rep = build_repeated_steps(client)
    report = get(client, "/reports/reuse")
    row = next(r for r in report["items"] if r["executable"]["id"] == rep.executable["id"])
    # Four executions, two kinds of work (scale z three times, minmax once): two repeats,
    # one of which wrote what the first one wrote.
    assert (
        row["executions"],
        row["successful"],
        row["distinctWork"],
        row["repeats"],
        row["reusable"],
    ) == (4, 4, 2, 2, 1)
    assert report["totals"]["reusable"] >= 1


def test_equal_artifacts_of_many_runs_are_one_node(client: TestClient) -> None:
    rep = build_repeated_steps(client)
    graph = get(client, f"/artifacts/{rep.outputs[3]['id']}/lineage")
    datasets = [
        n for n in graph["nodes"] if n["type"] == "artifact" and n["name"] == "transactions"
    ]
    assert (
        len(datasets) == 1 and len(datasets[0]["artifacts"]) == 4 and len(datasets[0]["runs"]) == 4
    )
    # The one dataset leads to every run's output.
    impact = get(client, f"/artifacts/{rep.dataset['id']}/impact")
    assert (
        impact["counts"]["runs"] == 4 and impact["counts"]["artifacts"] == 3
    )  # outputs a (twice, equal), b, c
    apart = get(client, f"/artifacts/{rep.outputs[3]['id']}/lineage", mergeEqual="false")
    assert [n.get("artifacts") for n in apart["nodes"] if n["name"] == "transactions"] == [None]
    assert (
        get(client, f"/artifacts/{rep.dataset['id']}/impact", mergeEqual="false")["counts"]["runs"]
        == 1
    )


def test_a_step_node_names_its_run_and_an_artifact_node_its_version(client: TestClient) -> None:
    # One dataset read by runs of one executable, each writing a version of one model: every
    # step is "train" and every model "cnn"; their runs and versions tell them apart.
    api = Api(client)
    exp = api.post("/experiments", {"name": "sweep"})
    exe = api.executable("train.py")
    data = api.artifact("mnist", "dataset", uri="s3://datasets/mnist")
    steps, models = [], []

    def train(n: int) -> None:
        run = api.post("/runs", {"experiment": exp["id"], "name": f"sweep-{n}"})
        model = api.artifact("cnn", "model", uri=f"s3://models/{n}", version=str(n + 1))
        steps.append(api.execution(run, exe, "train", "train", inputs=[data], outputs=[model]))
        models.append(model)

    for n in range(2):
        train(n)
    path = f"{API}/artifacts/{data['id']}/lineage"
    _, few = statements_of(client, path, direction="downstream")
    for n in range(2, 6):
        train(n)
    graph, many = statements_of(client, path, direction="downstream")
    down = by_id(graph)
    assert [down[s["id"]]["runName"] for s in steps] == [f"sweep-{n}" for n in range(6)]
    assert [down[m["id"]]["version"] for m in models] == [str(n + 1) for n in range(6)]
    assert all("runName" not in n for n in graph["nodes"] if n["type"] != "execution")
    # The runs' names are read for all the steps at once, not step by step.
    assert many == few, (few, many)
    # Upstream of a model, the step names the run the graph holds too.
    up = by_id(get(client, f"/artifacts/{models[1]['id']}/lineage"))
    assert up[steps[1]["id"]]["runName"] == "sweep-1" == up[up[steps[1]["id"]]["run"]]["name"]
    assert up[models[1]["id"]]["version"] == "2"
    # From a step, either way: the step itself names its run.
    for direction in ("upstream", "downstream"):
        from_step = get(client, f"/executions/{steps[3]['id']}/lineage", direction=direction)
        assert by_id(from_step)[steps[3]["id"]]["runName"] == "sweep-3"


def test_a_step_that_copies_its_input_does_not_loop(client: TestClient) -> None:
    api = Api(client)
    exp = api.post("/experiments", {"name": "copies"})
    run = api.post("/runs", {"experiment": exp["id"], "name": "r"})
    exe = api.executable("cp")
    a = api.artifact("data", "dataset", uri="s3://x")
    b = api.artifact("data", "dataset", uri="s3://x")  # equal content
    api.execution(run, exe, "copy", "copy", inputs=[a], outputs=[b])
    graph = get(client, f"/artifacts/{b['id']}/lineage")
    assert graph["truncated"] is False
    assert [n["artifacts"] for n in graph["nodes"] if n["type"] == "artifact"] == [
        [b["id"], a["id"]]
    ]


# ---------------------------------------------------------------- Scenario 5: custom kinds


def test_a_custom_validation_kind_takes_part_in_lineage_compare_and_trace(
    client: TestClient,
) -> None:
    """The case study registers ``validation`` and logs one of each result; the kind's schema
    is enforced and its artifacts are graph nodes like any other."""
    study = casestudy.build(client)
    kind = get(client, "/kinds/validation")
    assert kind["schema"]["properties"]["result"]["enum"] == ["valid", "failed"]
    refused = client.post(
        f"{API}/artifacts",
        json={"name": "v", "kind": "validation", "attributes": {"result": "?", "accuracy": 0.5}},
    )
    assert refused.status_code == 422
    results = study.validations
    comparison = get(client, "/compare", a=results[0]["id"], b=results[1]["id"])
    fields = {f["field"]: f for f in comparison["fields"]}
    assert (fields["attributes.result"]["a"], fields["attributes.result"]["b"]) == (
        "valid",
        "failed",
    )
    history = fields["attributes.history"]
    assert (history["a"], history["b"]) == ([casestudy.ACCURACIES[0]], list(casestudy.ACCURACIES))
    lineage = by_id(get(client, f"/artifacts/{results[1]['id']}/lineage"))
    assert study.raw[1]["id"] in lineage and lineage[results[1]["id"]]["kind"] == "validation"
    impact = get(client, f"/artifacts/{study.raw[1]['id']}/impact")
    assert results[1]["id"] in {a["artifact"]["id"] for a in impact["artifacts"]}


# ---------------------------------------------------------------- reproduce and trace


def test_recipe_lists_steps_in_executable_order_with_everything_a_rebuild_needs(
    client: TestClient,
) -> None:
    study = casestudy.build(client)
    recipe = get(client, f"/artifacts/{study.deployments[0]['id']}/recipe")
    assert [s["execution"]["name"] for s in recipe["steps"]] == list(casestudy.STEPS)
    prepare, train, evaluate, _, _ = recipe["steps"]
    assert (
        prepare["executable"]["uri"].endswith("#prepare.py")
        and prepare["sourceHash"] == casestudy.SOURCE_HASHES["prepare"]
    )
    assert prepare["command"] == casestudy.COMMANDS["prepare"] == "python prepare.py"
    assert (
        prepare["inputs"][0]["uri"] == MNIST_URI
        and prepare["inputs"][0].get("producedByStep") is None
    )
    assert train["inputs"][0]["producedByStep"] == 1
    assert (
        train["configuration"]["learning-rate"] == casestudy.LEARNING_RATES[0]
        and train["runConfiguration"]["learning-rate"] == casestudy.LEARNING_RATES[0]
    )
    assert {o["name"] for o in train["outputs"]} == {casestudy.MODEL}
    assert {o["name"] for o in evaluate["outputs"]} == {casestudy.METRIC}
    assert recipe["complete"] is True and recipe["gaps"] == []
    script = client.get(
        f"{API}/artifacts/{study.deployments[0]['id']}/recipe", params={"format": "sh"}
    )
    assert script.headers["content-type"].startswith("text/x-shellscript")
    text = script.text
    assert text.startswith("#!/bin/sh") and "set -eu" in text
    assert (
        text.index("python prepare.py")
        < text.index("python train.py")
        < text.index("python deploy.py")
    )


def test_recipe_names_every_gap(client: TestClient) -> None:
    api = Api(client)
    exp = api.post("/experiments", {"name": "gaps"})
    run = api.post("/runs", {"experiment": exp["id"], "name": "r"})
    exe = api.executable("notebook")  # no uri, no source hash, no command
    data = api.artifact("local-data", "dataset")  # no uri
    model = api.artifact("m", "model")
    api.execution(run, exe, "train", "train", inputs=[data], outputs=[model], status="FAILED")
    recipe = get(client, f"/artifacts/{model['id']}/recipe")
    assert recipe["complete"] is False
    gaps = {(g["what"], g["blocking"]) for g in recipe["gaps"]}
    assert gaps == {
        ("executable-uri", True),
        ("step-status", True),
        ("input-uri", True),
        ("source-hash", False),
        ("command", False),
    }
    script = client.get(f"{API}/artifacts/{model['id']}/recipe", params={"format": "sh"}).text
    assert "no command recorded" in script and "exit 1" in script
    orphan = get(client, f"/artifacts/{data['id']}/recipe")
    assert orphan["steps"] == [] and orphan["gaps"][0]["what"] == "no-producer"


def test_recipe_reads_what_the_sdk_records_and_a_trigger_is_never_a_gap(
    client: TestClient,
) -> None:
    """The SDK records ``git.commit`` and ``sha256`` on the executable and makes the trigger
    the first step's input: a complete recipe, whose source is the commit."""
    api = Api(client)
    exp = api.post("/experiments", {"name": "sdk"})
    event = api.artifact("manual", "event", attributes={"cause": "manual"})  # no uri
    run = api.post("/runs", {"experiment": exp["id"], "name": "r", "event": event["id"]})
    commit, digest = "9f2c" * 10, "ab" * 32
    exe = api.executable(
        "train:train",
        version=digest[:12],
        uri="examples/train.py",
        annotations={"sha256": digest, "git.commit": commit, "git.dirty": "false"},
    )
    data = api.artifact("digits", "dataset", uri="s3://data/digits")
    model = api.artifact("m", "model")
    api.execution(run, exe, "train", "train", inputs=[event, data], outputs=[model])
    recipe = get(client, f"/artifacts/{model['id']}/recipe")
    assert recipe["complete"] is True, recipe["gaps"]
    assert [g["what"] for g in recipe["gaps"]] == ["command"]  # not recorded here
    assert recipe["steps"][0]["sourceHash"] == commit
    hashed_only = api.executable(
        "cell", version="1", uri="file:///nb.py", annotations={"sha256": digest}
    )
    other = api.artifact("m2", "model")
    api.execution(run, hashed_only, "fit", "train", inputs=[data], outputs=[other])
    assert get(client, f"/artifacts/{other['id']}/recipe")["steps"][0]["sourceHash"] == digest


def test_diff_depth_limits_each_side_and_says_when_it_cut_something_off(
    client: TestClient,
) -> None:
    study = casestudy.build(client)
    bad, good = study.models[1]["id"], study.models[0]["id"]
    near = get(client, f"/artifacts/{bad}/diff", against=good, depth=1)
    assert near["truncated"] is True
    assert {d["step"]["kind"] for d in near["differences"] if d.get("step")} == {"train"}
    whole = get(client, f"/artifacts/{bad}/diff", against=good, depth=20)
    assert whole["truncated"] is False
    assert {d["step"]["kind"] for d in whole["differences"] if d.get("step")} >= {
        "train",
        "prepare",
    }


def test_upstream_lineage_shows_runs_without_a_trigger_event(client: TestClient) -> None:
    rep = build_repeated_steps(client)
    graph = get(client, f"/artifacts/{rep.outputs[0]['id']}/lineage")
    runs = [n for n in graph["nodes"] if n["type"] == "run"]
    # The output is equal to the second run's, merged: both runs wrote it.
    assert [r["name"] for r in runs] == ["fraud-0", "fraud-1"]
    assert not [r for r in runs if "event" in r]
    assert not [e for e in graph["edges"] if e["type"] == "trigger"]
    assert (runs[0]["id"], rep.first["id"], "contains") in {
        (e["source"], e["target"], e["type"]) for e in graph["edges"]
    }


def test_trace_orders_runs_merges_equal_artifacts_and_joins_artifacts_of_a_run(
    client: TestClient,
) -> None:
    rep = build_repeated_steps(client)
    trace = get(client, f"/experiments/{rep.experiment['id']}/trace")
    assert [r["name"] for r in trace["runs"]] == [f"fraud-{n}" for n in range(4)]
    nodes = {a["id"]: a for a in trace["artifacts"]}
    data = [a for a in trace["artifacts"] if a["name"] == "transactions"]
    assert len(data) == 1 and len(data[0]["artifacts"]) == 4
    assert data[0]["runs"] == [r["id"] for r in trace["runs"]]
    assert (
        len([a for a in trace["artifacts"] if a["name"] == "normalized"]) == 3
    )  # a twice (equal), b, c
    assert "edges" not in trace
    with_edges = get(client, f"/experiments/{rep.experiment['id']}/trace", edges="true")
    derived = [e for e in with_edges["edges"] if e["type"] == "derived"]
    assert len(derived) == 4 and all(e["source"] == data[0]["id"] for e in derived)
    assert {e["run"] for e in derived} == {r["id"] for r in trace["runs"]}
    assert {(e["source"], e["target"], e["run"]) for e in derived} == {
        (i, o, r["id"])
        for r in trace["runs"]
        for x in r["executions"]
        for i in x["inputs"]
        for o in x["outputs"]
    }, "the derived edges are what the executions' inputs and outputs say"
    execution = trace["runs"][0]["executions"][0]
    assert execution["inputs"] == [data[0]["id"]] and execution["outputs"][0] in nodes
    limited = get(client, f"/experiments/{rep.experiment['id']}/trace", limit=2)
    assert [r["name"] for r in limited["runs"]] == ["fraud-2", "fraud-3"] and limited[
        "truncated"
    ] is True


def test_the_trace_pages_back_through_older_runs(client: TestClient) -> None:
    rep = build_repeated_steps(client)
    path = f"/experiments/{rep.experiment['id']}/trace"
    newest = get(client, path, limit=2)
    assert [r["name"] for r in newest["runs"]] == ["fraud-2", "fraud-3"] and newest["truncated"]
    older = get(client, path, limit=2, before=newest["runs"][0]["id"])
    assert [r["name"] for r in older["runs"]] == ["fraud-0", "fraud-1"]
    assert older["truncated"] is False
    # Only the artifacts of the page's runs, and only those runs named on them.
    page_runs = {r["id"] for r in older["runs"]}
    assert all(set(a["runs"]) <= page_runs for a in older["artifacts"])
    assert get(client, path, before=older["runs"][0]["id"])["runs"] == []
    elsewhere = casestudy.build(client).runs[0]["id"]
    problem = get(client, path, 422, before=elsewhere)
    assert problem["errors"][0]["pointer"] == "/before"
    assert get(client, path, 422, before="not-a-run")["errors"][0]["pointer"] == "/before"


def test_the_trace_says_which_parameters_each_run_changed(client: TestClient) -> None:
    def post(plural: str, body: dict) -> dict:
        response = client.post(f"{API}/{plural}", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    experiment = post("experiments", {"name": "sweep"})["id"]
    configs = [
        {"lr": 0.1, "model": {"depth": 3, "act": "relu"}, "seed": 1},
        {"lr": 0.1, "model": {"depth": 3, "act": "relu"}, "seed": 1},  # the same
        {"lr": 0.01, "model": {"depth": 4, "act": "relu"}, "seed": True},  # 1 is not True
        {"lr": 0.01, "model": {"depth": 4, "act": "relu"}, "note": None},
        {},
    ]
    for i, config in enumerate(configs):
        post(
            "runs",
            {
                "experiment": experiment,
                "name": f"r{i}",
                "configuration": config,
                "createTime": f"2026-03-0{i + 1}T00:00:00Z",
            },
        )
    path = f"/experiments/{experiment}/trace"
    runs = get(client, path)["runs"]
    assert [r.get("parameterChanges") for r in runs] == [
        None,  # the oldest run: nothing to compare with
        None,  # nothing changed: nothing sent
        [
            {"key": "lr", "value": 0.01},
            {"key": "model.depth", "value": 4},
            {"key": "seed", "value": True},
        ],
        [{"key": "note"}, {"key": "seed", "removed": True}],
        [
            {"key": "lr", "removed": True},
            {"key": "model.act", "removed": True},
            {"key": "model.depth", "removed": True},
            {"key": "note", "removed": True},
        ],
    ]
    # a page's oldest run is compared with the run before the page
    page = get(client, path, limit=2, before=runs[4]["id"])["runs"]
    assert [r["name"] for r in page] == ["r2", "r3"]
    assert page[0]["parameterChanges"] == runs[2]["parameterChanges"]
    Trace.model_validate(get(client, path))


def test_the_trace_sent_is_exactly_what_its_model_makes_of_it(client: TestClient) -> None:
    """The server writes the trace as the service built it, without pydantic: every field
    must be valid, none extra, and ids and times in the form the model writes them."""
    study = casestudy.build(client)
    raw = study.raw[1]["id"]
    assert client.put(f"{API}/artifacts/{raw}/flag", json={"reason": "letters"}).status_code == 201
    for edges in (False, True):
        response = client.get(
            f"{API}/experiments/{study.experiment['id']}/trace", params={"edges": edges}
        )
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        sent = response.json()
        assert any("flagged" in a for a in sent["artifacts"])
        assert any("affectedBy" in a for a in sent["artifacts"])
        assert all("trigger" in r and r["executions"] for r in sent["runs"])
        assert bool(sent.get("edges")) is edges
        model = Trace.model_validate(sent)
        assert model.model_dump(mode="json", by_alias=True, exclude_none=True) == sent
        embedded = client.app.state.metadata.query(  # type: ignore[attr-defined]
            trace.experiment_trace, uuid.UUID(study.experiment["id"]), edges=edges
        )
        assert embedded == model


@pytest.mark.parametrize(
    "path",
    [
        "/artifacts/{id}/lineage",
        "/artifacts/{id}/impact",
        "/artifacts/{id}/diff",
        "/artifacts/{id}/recipe",
        "/experiments/{id}/trace",
        "/experiments/{id}/history",
        "/pipelines/{id}/history",
        "/runs/{id}/dag",
        "/executions/{id}/lineage",
        "/executions/{id}/cache",
    ],
)
def test_unknown_ids_are_404_problems(client: TestClient, path: str) -> None:
    response = client.get(API + path.format(id=uuid.uuid4()))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_execution_lineage_starts_from_its_inputs(client: TestClient) -> None:
    study = casestudy.build(client)
    train = study.executions[1]["train"]["id"]
    graph = get(client, f"/executions/{train}/lineage")
    nodes = by_id(graph)
    assert graph["root"] == train and nodes[train]["depth"] == 0
    assert study.raw[1]["id"] in nodes and study.models[1]["id"] not in nodes
    down = by_id(get(client, f"/executions/{train}/lineage", direction="downstream"))
    assert study.validations[1]["id"] in down and study.raw[1]["id"] not in down
