"""Every field of MLflow's paths, sent a value of the wrong type, out of range or hostile: the
answer is MLflow's error shape with a 4xx, never a server error. MLflow's paths are not in the
OpenAPI document that the schemathesis fuzzing (tests/server/test_fuzz.py) walks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

MLFLOW = "/api/2.0/mlflow"

HOSTILE: list[Any] = [
    "\ud800",
    "a\x00b",
    None,
    -1,
    1.5,
    10**30,
    [],
    {},
    ["x", 1],
    {"a": {"b": []}},
    True,
    "x" * 70_000,
    "../../etc/passwd",
    "'",
    "models:/m@",
]
LIST_ITEMS: list[Any] = [
    1,
    "x",
    None,
    {"key": 1},
    {"key": "k", "value": {}},
    {"key": "k", "value": 10**30},
    {"key": "\ud800", "value": "v"},
    {"key": "k", "value": "v", "timestamp": "x", "step": 10**30},
    {"dataset": {"name": 1, "digest": {}}},
    {"model_id": 5},
    {"field_name": 1},
]
# Each path MLflow's client writes or searches with, and the fields of its body.
POSTS: dict[str, list[str]] = {
    "experiments/create": ["name", "artifact_location", "tags"],
    "experiments/search": ["max_results", "filter", "order_by", "page_token", "view_type"],
    "experiments/update": ["experiment_id", "new_name"],
    "experiments/set-experiment-tag": ["experiment_id", "key", "value"],
    "runs/create": ["experiment_id", "start_time", "tags", "run_name", "user_id"],
    "runs/log-metric": ["run_id", "key", "value", "timestamp", "step", "model_id"],
    "runs/log-parameter": ["run_id", "key", "value"],
    "runs/set-tag": ["run_id", "key", "value"],
    "runs/log-batch": ["run_id", "metrics", "params", "tags"],
    "runs/log-inputs": ["run_id", "datasets", "models"],
    "runs/outputs": ["run_id", "models"],
    "runs/search": ["experiment_ids", "filter", "max_results", "order_by", "page_token"],
    "registered-models/create": ["name", "tags", "description"],
    "registered-models/rename": ["name", "new_name"],
    "registered-models/alias": ["name", "alias", "version"],
    "model-versions/create": ["name", "source", "run_id", "tags", "model_id"],
    "model-versions/set-tag": ["name", "version", "key", "value"],
    "logged-models": ["experiment_id", "name", "source_run_id", "params", "tags"],
    "logged-models/search": ["experiment_ids", "filter", "order_by", "max_results", "page_token"],
}
GETS: dict[str, list[str]] = {
    "experiments/get": ["experiment_id"],
    "experiments/get-by-name": ["experiment_name"],
    "runs/get": ["run_id"],
    "metrics/get-history": ["run_id", "metric_key", "max_results", "page_token"],
    "artifacts/list": ["run_id", "path", "page_token"],
    "registered-models/get": ["name"],
    "registered-models/search": ["filter", "max_results", "page_token"],
    "registered-models/alias": ["name", "alias"],
    "model-versions/get": ["name", "version"],
    "model-versions/search": ["filter", "max_results", "order_by", "page_token"],
    "model-versions/get-download-uri": ["name", "version"],
}
# Query strings carry text only; httpx cannot send a lone surrogate in one.
QUERY_VALUES = ["a\x00b", "-1", "1" * 40, "x" * 5_000, "../..", "'", "%", "", "nan", "1e999"]


def _valid(client: TestClient) -> dict[str, Any]:
    exp = client.post(f"{MLFLOW}/experiments/create", json={"name": "e"}).json()
    eid = exp["experiment_id"]
    run = client.post(f"{MLFLOW}/runs/create", json={"experiment_id": eid}).json()
    client.post(f"{MLFLOW}/registered-models/create", json={"name": "m"}).raise_for_status()
    client.post(
        f"{MLFLOW}/model-versions/create", json={"name": "m", "source": "s3://b/m"}
    ).raise_for_status()
    return {
        "experiment_id": eid,
        "experiment_ids": [eid],
        "run_id": run["run"]["info"]["run_id"],
        "name": "m",
        "key": "k",
        "value": "v",
        "version": "1",
        "alias": "a",
        "source": "s3://b/n",
        "new_name": "n",
        "metric_key": "k",
        "experiment_name": "e",
    }


def _refused_well(answer: Any, what: str) -> None:
    assert answer.status_code < 500, (what, answer.status_code, answer.text[:300])
    if answer.status_code >= 400:
        assert set(answer.json()) == {"error_code", "message"}, (what, answer.text[:300])


def test_no_value_makes_mlflows_paths_fail(client: TestClient) -> None:
    valid = _valid(client)
    for path, fields in POSTS.items():
        for field in fields:
            for value in [*HOSTILE, *([[item] for item in LIST_ITEMS])]:
                body = json.dumps({**valid, field: value})
                answer = client.post(
                    f"{MLFLOW}/{path}", content=body, headers={"content-type": "application/json"}
                )
                _refused_well(answer, f"{path} {field}={value!r:.40}")
    for path, fields in GETS.items():
        for field in fields:
            for text in QUERY_VALUES:
                query = {f: valid.get(f, "x") for f in fields} | {field: text}
                answer = client.get(f"{MLFLOW}/{path}", params=query)
                _refused_well(answer, f"{path} {field}={text!r:.40}")


@pytest.mark.parametrize(
    "raw", [b"", b"null", b"[]", b"1", b'"x"', b"{", b"\xff\xfe", b'{"a":' * 10_000, b"[" * 100_000]
)
def test_no_body_makes_mlflows_paths_fail(client: TestClient, raw: bytes) -> None:
    for path in ("runs/log-batch", "runs/create", "model-versions/create", "logged-models/search"):
        answer = client.post(
            f"{MLFLOW}/{path}", content=raw, headers={"content-type": "application/json"}
        )
        _refused_well(answer, f"{path} {raw[:20]!r}")
