"""``search_runs`` filters on datasets, the artifact URI and the run id, answered in SQL on
SQLite and PostgreSQL, against what MLflow's own store answers for the same runs: MLflow's
``SqlAlchemyStore`` on a scratch SQLite file is the oracle, each comparator in turn.

Ids and artifact URIs differ between the two stores, so a filter names them by run
(``{r2.id}``) and each store's own value is put in."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from modeltrail.integrations.mlflow.tracking import execution_of

pytestmark = pytest.mark.filterwarnings("ignore::Warning:mlflow.*")

MLFLOW = "/api/2.0/mlflow"
START = 1_700_000_000_000
# Each run's dataset inputs: (name, digest, context or None).
RUNS: dict[str, list[tuple[str, str, str | None]]] = {
    "r0": [("digits", "aaa1", "train")],
    "r1": [("Digits", "AAA1", "Train")],
    "r2": [("digits", "bbb2", "eval"), ("cifar_10", "ccc3", "training")],
    "r3": [],
    "r4": [("cifar_10", "ccc3", None)],
    "r5": [("a%b", "ddd4", "test")],
}

FILTERS = [
    # dataset names, digests and contexts: one of a run's datasets meets the clause
    "datasets.name = 'digits'",
    "datasets.name != 'digits'",
    "datasets.name LIKE 'dig%'",
    "datasets.name LIKE 'Dig%'",
    "datasets.name ILIKE 'DIG%'",
    "datasets.name LIKE 'cifar_%'",
    "datasets.name LIKE 'a_b'",
    "datasets.name LIKE 'a%%b'",
    "datasets.name IN ('digits', 'cifar_10')",
    "datasets.name NOT IN ('digits')",
    "datasets.name IN ('DIGITS')",
    "datasets.digest = 'aaa1'",
    "datasets.digest != 'ccc3'",
    "datasets.digest LIKE 'AAA%'",
    "datasets.digest ILIKE 'aaa%'",
    "datasets.digest NOT IN ('aaa1', 'ccc3')",
    "datasets.context = 'train'",
    "datasets.context != 'train'",
    "datasets.context LIKE 'train%'",
    "datasets.context ILIKE 'train%'",
    "datasets.context IN ('eval', 'test')",
    "datasets.context NOT IN ('train')",
    "dataset.context = 'missing'",
    "datasets.name = 'cifar_10' AND datasets.context = 'eval'",
    "datasets.name = 'cifar_10' AND datasets.digest = 'ccc3' AND params.p = 'x'",
    # the artifact URI, as each store answers it
    "attributes.artifact_uri = '{r1.uri}'",
    "attributes.artifact_uri != '{r1.uri}'",
    "attributes.artifact_uri LIKE '%/{r2.id}/artifacts'",
    "attributes.artifact_uri LIKE 'mlflow-artifacts:/%'",
    "attributes.artifact_uri LIKE '%/ARTIFACTS'",
    "attributes.artifact_uri ILIKE '%/ARTIFACTS'",
    "attributes.artifact_uri ILIKE '%{r4.ID}%'",
    # run ids: text of 32 lowercase hex digits
    "attributes.run_id LIKE '{r3.id8}%'",
    "attributes.run_id ILIKE '{r3.ID8}%'",
    "attributes.run_id LIKE '%{r5.id}'",
    "attributes.run_id LIKE '%'",
    "attributes.run_id = '{r1.id}'",
    "attributes.run_id = '{r1.ID}'",
    "attributes.run_id = '{r1.dashed}'",
    "attributes.run_id != '{r1.id}'",
    "attributes.run_id IN ('{r0.id}', '{r4.id}', 'nothing')",
    "attributes.run_id IN ('{r0.ID}')",
    "attributes.run_id NOT IN ('{r0.id}', '{r2.id}')",
    "run_id ILIKE '{r0.ID}' AND datasets.name = 'digits'",
]


def _fill(ids: dict[str, dict[str, str]], text: str) -> str:
    def value(match: re.Match[str]) -> str:
        run, what = match.group(1), match.group(2)
        rid = ids[run]["id"]
        return {
            "id": rid,
            "ID": rid.upper(),
            "id8": rid[:8],
            "ID8": rid[:8].upper(),
            "dashed": str(uuid.UUID(rid)),
            "uri": ids[run]["uri"],
        }[what]

    return re.sub(r"\{(r\d)\.(\w+)\}", value, text)


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[str]]]:
    """What MLflow's own store answers for each filter: the names of the runs, in order."""
    from mlflow.entities import Dataset, DatasetInput, InputTag, Param, ViewType
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    tmp: Path = tmp_path_factory.mktemp("oracle")
    store = SqlAlchemyStore(f"sqlite:///{tmp / 'mlflow.db'}", "mlflow-artifacts:/")
    experiment = store.create_experiment("filters")
    ids: dict[str, dict[str, str]] = {}
    for i, (name, inputs) in enumerate(RUNS.items()):
        run = store.create_run(experiment, "someone", START + i * 1000, [], name)
        rid = run.info.run_id
        ids[name] = {"id": rid, "uri": run.info.artifact_uri}
        store.log_param(rid, Param("p", "x"))
        datasets = [
            DatasetInput(
                Dataset(n, digest, "code", "{}"),
                [InputTag("mlflow.data.context", c)] if c else [],
            )
            for n, digest, c in inputs
        ]
        if datasets:
            store.log_inputs(rid, datasets=datasets)
    answers = {}
    for text in FILTERS:
        found = store.search_runs([experiment], _fill(ids, text), ViewType.ACTIVE_ONLY, 100)
        answers[text] = [r.info.run_name for r in found]
    yield answers


@pytest.fixture
def ours(client: TestClient) -> dict[str, Any]:
    """The same runs logged through modeltrail's MLflow API."""

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = client.post(f"{MLFLOW}/{path}", json=body)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    experiment = post("experiments/create", {"name": "filters"})["experiment_id"]
    ids: dict[str, dict[str, str]] = {}
    for i, (name, inputs) in enumerate(RUNS.items()):
        info = post(
            "runs/create",
            {"experiment_id": experiment, "start_time": START + i * 1000, "run_name": name},
        )["run"]["info"]
        ids[name] = {"id": info["run_id"], "uri": info["artifact_uri"]}
        post("runs/log-parameter", {"run_id": info["run_id"], "key": "p", "value": "x"})
        datasets = [
            {
                "dataset": {"name": n, "digest": digest, "source_type": "code", "source": "{}"},
                "tags": [{"key": "mlflow.data.context", "value": c}] if c else [],
            }
            for n, digest, c in inputs
        ]
        if datasets:
            post("runs/log-inputs", {"run_id": info["run_id"], "datasets": datasets})
    return {"experiment": experiment, "ids": ids}


def _search(client: TestClient, experiment: str, text: str) -> list[str]:
    answer = client.post(
        f"{MLFLOW}/runs/search", json={"experiment_ids": [experiment], "filter": text}
    )
    assert answer.status_code == 200, answer.text
    return [r["info"]["run_name"] for r in answer.json().get("runs", [])]


def test_filters_answer_as_mlflows_own_store(
    client: TestClient, ours: dict[str, Any], oracle: dict[str, list[str]]
) -> None:
    differ = {}
    for text in FILTERS:
        got = _search(client, ours["experiment"], _fill(ours["ids"], text))
        if got != oracle[text]:
            differ[text] = (got, oracle[text])
    assert differ == {}
    # The cases mean something: each comparator matched some runs and left others out.
    assert any(0 < len(found) < len(RUNS) for found in oracle.values())


def test_a_context_kept_as_anything_but_a_json_object_matches_nothing(
    client: TestClient, ours: dict[str, Any]
) -> None:
    run = uuid.UUID(ours["ids"]["r0"]["id"])
    execution = f"/api/v1/executions/{execution_of(run)}"
    annotations = client.get(execution).json()["annotations"]
    key = next(k for k in annotations if k.startswith("mlflow.inputTags."))
    for hostile in ("{not json", '{"mlflow.data.context": 5}', '"train"', '{"a":"\\u0000"}'):
        changed = client.patch(execution, json={"annotations": {**annotations, key: hostile}})
        assert changed.status_code == 200, changed.text
        found = _search(client, ours["experiment"], "datasets.context LIKE '%'")
        assert "r0" not in found and "r2" in found


@pytest.mark.parametrize(
    "text",
    [
        "datasets.name > 'a'",
        "datasets.size = '1'",
        "attributes.artifact_uri IN ('a')",
        "attributes.run_id > 'a'",
        "datasets.context IS NULL",
    ],
)
def test_comparators_mlflow_refuses_are_refused_in_its_shape(
    client: TestClient, ours: dict[str, Any], text: str
) -> None:
    answer = client.post(
        f"{MLFLOW}/runs/search", json={"experiment_ids": [ours["experiment"]], "filter": text}
    )
    assert answer.status_code == 400
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_a_runs_inputs_are_those_of_its_mlflow_executions(
    client: TestClient, ours: dict[str, Any]
) -> None:
    """A run's datasets are those of its MLflow executions, as its answer shows them: the one
    MLflow's API made for it and the one ``modeltrail import mlflow`` made for a run it
    imported. A step of the run made through modeltrail's own API adds none."""
    rid = ours["ids"]["r3"]["id"]

    def made(path: str, body: dict[str, Any]) -> str:
        answer = client.post(f"/api/v1/{path}", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    executable = made("executables", {"name": "import", "version": "1"})
    for name, kind in [("elsewhere", "train"), ("imported", "mlflow-run")]:
        dataset = made("artifacts", {"name": name, "version": "1", "kind": "dataset"})
        made(
            "executions",
            {
                "run": str(uuid.UUID(rid)),
                "executable": executable,
                "name": name,
                "kind": kind,
                "inputArtifacts": [dataset],
                "annotations": {
                    "mlflow.runId": "0" * 32,
                    f"mlflow.inputTags.{dataset}": '{"mlflow.data.context":"imported"}',
                },
            },
        )
    assert _search(client, ours["experiment"], "datasets.name = 'elsewhere'") == []
    assert _search(client, ours["experiment"], "datasets.name = 'imported'") == ["r3"]
    assert _search(client, ours["experiment"], "datasets.context = 'imported'") == ["r3"]
    run = client.get(f"{MLFLOW}/runs/get", params={"run_id": rid}).json()["run"]
    read = {i["dataset"]["name"]: i["tags"] for i in run["inputs"]["dataset_inputs"]}
    assert "elsewhere" not in read
    assert read["imported"] == [{"key": "mlflow.data.context", "value": "imported"}]
