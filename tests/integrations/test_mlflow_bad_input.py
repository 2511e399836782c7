"""Values of the wrong type or out of range on MLflow's paths are MLflow's
INVALID_PARAMETER_VALUE, never a server error, and change nothing."""

from __future__ import annotations

import base64
import json
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


def _token(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


# Each search as the client sends it, with a page token of a huge offset: beyond the
# databases' integers (2**63 was a 500), or just within what a token may hold.
SEARCHES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "runs/search", {}),
    ("POST", "experiments/search", {}),
    ("POST", "logged-models/search", {}),
    ("GET", "registered-models/search", {}),
    ("GET", "model-versions/search", {}),
]


@pytest.mark.parametrize(("method", "path", "body"), SEARCHES, ids=[s[1] for s in SEARCHES])
def test_a_page_token_beyond_any_page_is_refused_or_empty(
    client: TestClient, made: dict[str, str], method: str, path: str, body: dict[str, Any]
) -> None:
    if path in ("runs/search", "logged-models/search"):
        body = {**body, "experiment_ids": [made["experiment"]]}

    def search(extra: dict[str, Any]) -> Any:
        if method == "GET":
            return client.get(f"{MLFLOW}/{path}", params={**body, **extra})
        return client.post(f"{MLFLOW}/{path}", json={**body, **extra})

    for offset in (2**63, 2**64 - 1, 2**62 + 1, -1):
        answer = search({"page_token": _token(offset)})
        assert answer.status_code == 400, (offset, answer.text)
        assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    answer = search({"page_token": _token(2**62)})
    assert answer.status_code == 200, answer.text
    assert not [v for v in answer.json().values() if isinstance(v, list) and v]
    for most in (-1, "-1", -(2**70)):
        answer = search({"max_results": most})
        assert answer.status_code == 400, (most, answer.text)
        assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"


# Each search's greatest page: MLflow's (its tracking store's 50,000; the registry's 1,000
# models and 200,000 versions), and as much for logged models, where MLflow has none.
CEILINGS = {
    "runs/search": 50_000,
    "experiments/search": 50_000,
    "logged-models/search": 50_000,
    "registered-models/search": 1_000,
    "model-versions/search": 200_000,
}


@pytest.mark.parametrize(("method", "path", "body"), SEARCHES, ids=[s[1] for s in SEARCHES])
def test_a_page_beyond_a_searchs_ceiling_is_refused(
    client: TestClient, made: dict[str, str], method: str, path: str, body: dict[str, Any]
) -> None:
    if path in ("runs/search", "logged-models/search"):
        body = {**body, "experiment_ids": [made["experiment"]]}
    for most, status in ((CEILINGS[path], 200), (CEILINGS[path] + 1, 400), (2**31, 400)):
        sent = {**body, "max_results": most}
        if method == "GET":
            answer = client.get(f"{MLFLOW}/{path}", params=sent)
        else:
            answer = client.post(f"{MLFLOW}/{path}", json=sent)
        assert answer.status_code == status, (most, answer.text)
        if status == 400:
            assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
            assert "max_results" in answer.json()["message"]


def test_a_query_of_bytes_that_are_not_utf8_is_refused(
    client: TestClient, made: dict[str, str]
) -> None:
    """A lone surrogate (UTF-8 would encode it as ED A0 80) in a search's filter or a run id
    sent in the query string."""
    for query in (
        "filter=name%20%3D%20%27%ED%A0%80%27",
        "filter=tags.%60%ED%A0%80%60%20%3D%20%27x%27",
        "filter=name%20%3D%20%27%FF%27",
    ):
        answer = client.get(f"{MLFLOW}/model-versions/search?{query}")
        assert answer.status_code == 400, (query, answer.text)
        assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    answer = client.get(f"{MLFLOW}/runs/get?run_id=%ED%A0%80")
    assert answer.status_code in (400, 404), answer.text
    assert answer.json()["error_code"] in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")
