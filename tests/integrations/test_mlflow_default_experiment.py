"""MLflow's Default experiment (id 0) is made by the first request that may write, never by a
reader's: a read-only token leaves the store as it found it (MLflow's own client making a run
in Default is in ``tests/integration/test_mlflow_client.py``)."""

from __future__ import annotations

from sqlalchemy import func, select
from starlette.testclient import TestClient

from conftest import role_headers
from modeltrail.services.metadata import Metadata
from modeltrail.store.tables import Base

MLFLOW = "/api/2.0/mlflow"


def _counts(meta: Metadata) -> dict[str, int]:
    def count(session: object) -> dict[str, int]:
        return {
            t.name: session.scalar(select(func.count()).select_from(t))  # type: ignore[attr-defined]
            for t in Base.metadata.sorted_tables
        }

    return meta.query(count)


def test_a_readers_requests_leave_the_store_unchanged(
    secured: TestClient, metadata: Metadata
) -> None:
    reader, writer = role_headers(secured, "reader"), role_headers(secured, "writer")
    before = _counts(metadata)
    assert before["experiments"] == 0

    found = secured.post(f"{MLFLOW}/experiments/search", json={}, headers=reader)
    assert found.status_code == 200 and found.json() == {"experiments": []}
    for path, query in (
        ("experiments/get", {"experiment_id": "0"}),
        ("experiments/get-by-name", {"experiment_name": "Default"}),
    ):
        missing = secured.get(f"{MLFLOW}/{path}", params=query, headers=reader)
        assert missing.status_code == 404
        assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    runs = secured.post(f"{MLFLOW}/runs/search", json={"experiment_ids": ["0"]}, headers=reader)
    assert runs.status_code == 200 and runs.json() == {"runs": []}
    refused = secured.post(f"{MLFLOW}/runs/create", json={}, headers=reader)
    assert refused.status_code == 403
    assert _counts(metadata) == before

    # A writer's run that names no experiment goes to Default, made for it.
    made = secured.post(f"{MLFLOW}/runs/create", json={}, headers=writer)
    assert made.status_code == 200, made.text
    assert made.json()["run"]["info"]["experiment_id"] == "0"
    default = secured.get(
        f"{MLFLOW}/experiments/get", params={"experiment_id": "0"}, headers=reader
    )
    assert default.json()["experiment"]["name"] == "Default"
    listed = secured.post(f"{MLFLOW}/experiments/search", json={}, headers=reader).json()
    assert [e["experiment_id"] for e in listed["experiments"]] == ["0"]


def test_without_access_control_the_first_request_makes_default(client: TestClient) -> None:
    answer = client.get(f"{MLFLOW}/experiments/get", params={"experiment_id": "0"})
    assert answer.status_code == 200
    assert answer.json()["experiment"]["name"] == "Default"
