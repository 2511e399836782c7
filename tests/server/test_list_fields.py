"""Every list endpoint refuses a field it does not know, the same way; fields that hold another
entity take its name as well as its id. On both databases."""

from __future__ import annotations

import uuid

import pytest
from starlette.testclient import TestClient

from conftest import statements_of

API = "/api/v1"
LISTS = ["experiments", "runs", "pipelines", "executables", "executions", "artifacts"]


def post(client: TestClient, plural: str, body: dict) -> dict:
    response = client.post(f"{API}/{plural}", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def refused(client: TestClient, plural: str, **params: object) -> dict:
    response = client.get(f"{API}/{plural}", params=params)
    assert response.status_code == 422, (plural, params, response.text)
    return response.json()


@pytest.mark.parametrize("plural", LISTS)
def test_a_misspelt_field_is_refused_naming_the_known_fields(
    client: TestClient, plural: str
) -> None:
    post(client, "artifacts", {"name": "mnist", "kind": "dataset", "attributes": {"type": "Blob"}})
    for params, pointer in (({"filter": "nmae:eq:x"}, "/filter"), ({"sort": "colour"}, "/sort")):
        problem = refused(client, plural, **params)
        assert "unknown field" in problem["detail"] and "known fields: " in problem["detail"]
        assert "createTime" in problem["detail"] and "name" in problem["detail"]
        assert problem["errors"][0]["pointer"] == pointer


def test_a_kind_attribute_may_still_be_given_without_its_prefix(client: TestClient) -> None:
    post(client, "artifacts", {"name": "mnist", "kind": "dataset", "attributes": {"type": "Blob"}})
    post(client, "artifacts", {"name": "m", "kind": "model", "attributes": {"owner2": "x"}})
    # declared by a kind
    page = client.get(f"{API}/artifacts", params={"filter": "type:eq:Blob"})
    assert [a["name"] for a in page.json()["items"]] == ["mnist"]
    # not declared, but stored (the built-in kinds take attributes they do not declare)
    page = client.get(f"{API}/artifacts", params={"filter": "owner2:eq:x", "sort": "owner2"})
    assert [a["name"] for a in page.json()["items"]] == ["m"]
    problem = refused(client, "artifacts", filter="typ:eq:Blob")
    assert "kind attribute" in problem["detail"] and "hyperParameters" in problem["detail"]


def test_attribute_paths_are_checked_against_the_kind_the_filter_names(
    client: TestClient,
) -> None:
    post(client, "artifacts", {"name": "cnn", "kind": "model", "attributes": {"type": "CNN"}})
    post(client, "artifacts", {"name": "d", "kind": "dataset", "attributes": {"kept": "yes"}})
    problem = refused(client, "artifacts", filter=["kind:eq:model", "attributes.nope:eq:1"])
    assert "no attribute 'nope' of model" in problem["detail"]
    assert "known attributes: framework, hyperParameters" in problem["detail"]
    problem = refused(client, "artifacts", filter="kind:eq:model", sort="-attributes.nope")
    assert problem["errors"][0]["pointer"] == "/sort"
    # an attribute another kind holds is still unknown for this one
    refused(client, "artifacts", filter=["kind:in:model", "attributes.kept:eq:yes"])
    ok = client.get(
        f"{API}/artifacts", params={"filter": ["kind:eq:dataset", "attributes.kept:eq:yes"]}
    )
    assert [a["name"] for a in ok.json()["items"]] == ["d"]
    ok = client.get(
        f"{API}/artifacts", params={"filter": ["kind:eq:model", "attributes.type:eq:CNN"]}
    )
    assert [a["name"] for a in ok.json()["items"]] == ["cnn"]
    # without a kind, an explicit attribute path is a question about any artifact
    assert (
        client.get(f"{API}/artifacts", params={"filter": "attributes.nope:eq:1"}).status_code == 200
    )
    problem = refused(client, "artifacts", filter=["kind:eq:modle", "attributes.type:eq:CNN"])
    assert "no kind named modle is registered" in problem["detail"]


def test_relations_take_names_as_well_as_ids(client: TestClient) -> None:
    hw = post(client, "experiments", {"name": "handwriting"})
    other = post(client, "experiments", {"name": "other"})
    run = post(client, "runs", {"experiment": hw["id"], "name": "first"})
    post(client, "runs", {"experiment": other["id"], "name": "second"})
    exe = post(client, "executables", {"name": "train.py"})
    data = post(client, "artifacts", {"name": "mnist", "kind": "dataset"})
    post(client, "artifacts", {"name": "unused", "kind": "dataset"})
    post(
        client,
        "executions",
        {
            "run": run["id"],
            "executable": exe["id"],
            "name": "train",
            "kind": "training",
            "inputArtifacts": [data["id"]],
        },
    )

    def names(plural: str, *filters: str) -> list[str]:
        response = client.get(f"{API}/{plural}", params={"filter": list(filters)})
        assert response.status_code == 200, response.text
        return [i["name"] for i in response.json()["items"]]

    assert names("runs", "experiment:eq:handwriting") == ["first"]
    assert names("runs", f"experiment:eq:{hw['id']}") == ["first"]
    assert names("runs", f"experiment:in:other,{hw['id']}") == ["first", "second"]
    assert names("runs", "experiment:eq:nobody") == []
    assert names("artifacts", "experiment:eq:handwriting") == ["mnist"]
    assert names("artifacts", "run:eq:first", "consumedBy:eq:train") == ["mnist"]
    assert names("executions", "experiment:eq:handwriting") == ["train"]
    assert names("executions", "run:eq:first", "executable:eq:train.py") == ["train"]
    assert names("executions", "inputArtifact:eq:mnist") == ["train"]
    problem = refused(client, "runs", filter="experiment:ne:handwriting")
    assert "only eq and in" in problem["detail"]


def test_lists_of_runs_and_executions_name_what_their_items_refer_to(client: TestClient) -> None:
    """A list answers the names of the experiments, pipelines, runs and executables its items
    refer to, in one statement however many there are: no request per row for a name."""
    exe = post(client, "executables", {"name": "train.py"})["id"]
    pipeline = post(client, "pipelines", {"name": "nightly"})["id"]
    made: dict[str, str] = {}
    for i in range(5):
        experiment = post(client, "experiments", {"name": f"exp-{i}"})["id"]
        run = post(
            client, "runs", {"experiment": experiment, "name": f"run-{i}", "pipeline": pipeline}
        )["id"]
        post(
            client, "executions", {"run": run, "executable": exe, "name": "train", "kind": "train"}
        )
        made |= {experiment: f"exp-{i}", run: f"run-{i}"}
        if i == 0:
            _, one = statements_of(client, f"{API}/executions")
            _, one_run = statements_of(client, f"{API}/runs")
    runs, many_run = statements_of(client, f"{API}/runs")
    assert runs["names"] == {k: v for k, v in made.items() if v.startswith("exp")} | {
        pipeline: "nightly"
    }
    executions, many = statements_of(client, f"{API}/executions")
    assert executions["names"] == {k: v for k, v in made.items() if v.startswith("run")} | {
        exe: "train.py"
    }
    # five experiments and runs cost no more statements than one
    assert (many, many_run) == (one, one_run)
    # the runs grid answers them too
    grid = client.get(f"{API}/runs", params={"columns": "auto"}).json()
    assert grid["names"] == runs["names"]


def test_a_list_names_the_ids_its_filters_compare_with_though_nothing_matches(
    client: TestClient,
) -> None:
    """A filter chip shows names even when no row does: the answer names the ids the filters
    compare a field with, and takes anything else in a filter's value as no id."""
    empty = post(client, "experiments", {"name": "no runs yet"})["id"]
    other = post(client, "experiments", {"name": "other"})["id"]
    exe = post(client, "executables", {"name": "train.py"})["id"]
    run = post(client, "runs", {"experiment": other, "name": "r"})["id"]
    step = post(
        client, "executions", {"run": run, "executable": exe, "name": "fit", "kind": "train"}
    )["id"]

    def listed(plural: str, *filters: str) -> dict:
        response = client.get(f"{API}/{plural}", params={"filter": list(filters)})
        assert response.status_code == 200, response.text
        return response.json()

    runs = listed("runs", f"experiment:eq:{empty}")
    assert runs["items"] == [] and runs["names"] == {empty: "no runs yet"}
    runs = listed("runs", f"experiment:in:{empty},{other},other,{uuid.uuid4()}")
    assert runs["names"] == {empty: "no runs yet", other: "other"}
    assert listed("runs", f"experiment:ne:{other}")["names"] == {other: "other"}
    # relations too: an execution's outputs, though it wrote none
    outputs = listed("artifacts", f"producedBy:eq:{step}")
    assert outputs["items"] == [] and outputs["names"] == {step: "fit"}
    # ids in other fields or operators, or hostile values, name nothing
    top = "ffffffff-ffff-ffff-ffff-ffffffffffff"
    for hostile in (f"name:eq:{empty}", "experiment:eq:' or 1=1 --", f"experiment:gt:{top}"):
        assert listed("runs", hostile)["names"] == {}, hostile
    assert listed("artifacts", f"experiment.name:eq:{empty}")["names"] == {}


def test_a_part_of_an_id_is_a_problem_not_an_error(client: TestClient) -> None:
    """An id column holds no text to match a part of: a 422 that says so, never a 500."""
    for plural in ("runs", "executions", "artifacts", "experiments"):
        for f in ("id", "experiment", "run"):
            for op in ("prefix", "contains"):
                for value in (str(uuid.uuid4()), "abc"):
                    sent = f"{f}:{op}:{value}"
                    response = client.get(f"{API}/{plural}", params={"filter": sent})
                    assert response.status_code == 422, (plural, sent, response.text)
                    assert response.json()["errors"][0]["pointer"] == "/filter", response.text
