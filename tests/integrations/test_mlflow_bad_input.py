"""Values of the wrong type or out of range on MLflow's paths are MLflow's
INVALID_PARAMETER_VALUE, never a server error, and change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

MLFLOW = "/api/2.0/mlflow"


@pytest.fixture
def made(client: TestClient) -> dict[str, str]:
    exp = client.post(f"{MLFLOW}/experiments/create", json={"name": "e"}).json()
    run = client.post(f"{MLFLOW}/runs/create", json={"experiment_id": exp["experiment_id"]})
    client.post(f"{MLFLOW}/registered-models/create", json={"name": "m"}).raise_for_status()
    client.post(
        f"{MLFLOW}/model-versions/create", json={"name": "m", "source": "s3://b/m"}
    ).raise_for_status()
    return {"experiment": exp["experiment_id"], "run": run.json()["run"]["info"]["run_id"]}


BAD: list[tuple[str, dict[str, Any]]] = [
    ("registered-models/rename", {"name": "m", "new_name": "a\x00b"}),
    ("registered-models/rename", {"name": "m", "new_name": "../../etc/passwd"}),
    ("registered-models/rename", {"name": "m", "new_name": "models:/m@"}),
    ("registered-models/rename", {"name": "m", "new_name": "x" * 70_000}),
    ("registered-models/alias", {"name": "m", "alias": "a", "version": "-1"}),
    ("registered-models/alias", {"name": "m", "alias": "a", "version": str(10**30)}),
    ("logged-models/search", {"filter": 1}),
    ("logged-models/search", {"filter": {"a": 1}}),
    ("logged-models/search", {"order_by": 1}),
    ("logged-models/search", {"order_by": True}),
    ("logged-models/search", {"page_token": 1}),
    ("logged-models/search", {"page_token": {"offset": 0}}),
    ("model-versions/search", {"page_token": ["a", "b"]}),
]


@pytest.mark.parametrize(("path", "body"), BAD, ids=[f"{p}-{i}" for i, (p, _) in enumerate(BAD)])
def test_a_bad_value_is_invalid_parameter_value(
    client: TestClient, made: dict[str, str], path: str, body: dict[str, Any]
) -> None:
    method = "GET" if path == "model-versions/search" else "POST"
    if method == "GET":
        answer = client.get(f"{MLFLOW}/{path}", params=body)
    else:
        answer = client.post(f"{MLFLOW}/{path}", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    model = client.get(f"{MLFLOW}/registered-models/get", params={"name": "m"}).json()
    assert model["registered_model"]["name"] == "m"
    assert model["registered_model"].get("aliases", []) == []


def test_a_param_beyond_64_bits_is_kept_as_its_digits(
    client: TestClient, made: dict[str, str]
) -> None:
    sent = {"run_id": made["run"], "key": "seed", "value": 10**30}
    client.post(f"{MLFLOW}/runs/log-parameter", json=sent).raise_for_status()
    run = client.get(f"{MLFLOW}/runs/get", params={"run_id": made["run"]}).json()["run"]
    assert run["data"]["params"] == [{"key": "seed", "value": str(10**30)}]
