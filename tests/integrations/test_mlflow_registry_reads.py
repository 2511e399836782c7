"""MLflow's registry search over modeltrail's registry: a page of registered models with their
latest versions is read in a fixed number of statements, whatever its size."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from starlette.testclient import TestClient

from modeltrail.services.metadata import Metadata

API = "/api/v1"
MLFLOW = "/api/2.0/mlflow"


def _version(c: TestClient, model: str) -> None:
    """A model artifact written by a step of a run of its own, registered as a version."""
    exp = c.post(f"{API}/experiments", json={"name": "digits"}).json()
    exe = c.post(f"{API}/executables", json={"name": "train.py"}).json()
    run = c.post(f"{API}/runs", json={"experiment": exp["id"], "name": uuid.uuid4().hex}).json()
    artifact = c.post(
        f"{API}/artifacts",
        json={"name": "clf", "kind": "model", "uri": f"s3://m/{uuid.uuid4().hex}"},
    ).json()
    step = {
        "run": run["id"],
        "executable": exe["id"],
        "name": "train",
        "kind": "train",
        "outputArtifacts": [artifact["id"]],
    }
    c.post(f"{API}/executions", json=step).raise_for_status()
    c.post(
        f"{API}/models/{model}/versions",
        json={"artifact": artifact["id"]},
        params={"createModel": "true"},
    ).raise_for_status()


def _models(c: TestClient, names: list[str]) -> None:
    for name in names:
        _version(c, name)
        _version(c, name)
        c.put(f"{API}/models/{name}/aliases/champion", json={"version": 1}).raise_for_status()
        c.put(f"{API}/models/{name}/tags/team", json={"value": "vision"}).raise_for_status()


@contextmanager
def _counted(metadata: Metadata) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(statement)

    engines = {metadata.db.engine, metadata.db.read_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)


def _search(c: TestClient, metadata: Metadata) -> tuple[list[dict[str, Any]], int]:
    with _counted(metadata) as statements:
        answer = c.get(f"{MLFLOW}/registered-models/search", params={"max_results": 100})
    assert answer.status_code == 200, answer.text
    return answer.json()["registered_models"], len(statements)


def test_search_registered_models_reads_a_page_in_a_fixed_number_of_statements(
    client: TestClient, metadata: Metadata
) -> None:
    _models(client, ["a", "b"])
    client.post(f"{API}/models", json={"name": "empty"}).raise_for_status()
    few, few_statements = _search(client, metadata)
    _models(client, ["c", "d", "e", "f", "g"])
    many, many_statements = _search(client, metadata)
    assert len(few) == 3 and len(many) == 8
    assert many_statements == few_statements

    by_name = {m["name"]: m for m in many}
    assert by_name["empty"]["latest_versions"] == []
    for name in "abcdefg":
        model = by_name[name]
        assert model["aliases"] == [{"alias": "champion", "version": "1"}]
        assert model["tags"] == [{"key": "team", "value": "vision"}]
        # Each latest version as the version's own read answers it.
        alone = client.get(
            f"{MLFLOW}/model-versions/get", params={"name": name, "version": "2"}
        ).json()["model_version"]
        assert model["latest_versions"] == [alone]
        assert alone["version"] == "2" and alone["run_id"]


def _search_versions(
    c: TestClient, metadata: Metadata, filter: str = ""
) -> tuple[list[dict[str, Any]], int]:
    with _counted(metadata) as statements:
        answer = c.get(f"{MLFLOW}/model-versions/search", params={"filter": filter})
    assert answer.status_code == 200, answer.text
    return answer.json()["model_versions"], len(statements)


def test_search_model_versions_reads_every_model_in_a_fixed_number_of_statements(
    client: TestClient, metadata: Metadata
) -> None:
    _models(client, ["a", "b"])
    client.post(f"{API}/models", json={"name": "empty"}).raise_for_status()
    few, few_statements = _search_versions(client, metadata)
    _models(client, ["c", "d", "e", "f", "g"])
    many, many_statements = _search_versions(client, metadata)
    assert len(few) == 4 and len(many) == 14
    assert many_statements == few_statements

    # Model after model in the order of the search, each one's versions newest first, each
    # as the version's own read answers it.
    assert [(v["name"], v["version"]) for v in many] == [
        (name, version) for name in "abcdefg" for version in ("2", "1")
    ]
    for found in many:
        alone = client.get(
            f"{MLFLOW}/model-versions/get",
            params={"name": found["name"], "version": found["version"]},
        ).json()["model_version"]
        assert found == alone
        assert alone["run_id"] and alone["aliases"] == (
            ["champion"] if alone["version"] == "1" else []
        )

    # A model named in the filter alone; a name of no model finds nothing.
    named, _ = _search_versions(client, metadata, "name = 'c'")
    assert named == [v for v in many if v["name"] == "c"]
    assert _search_versions(client, metadata, "name = 'nope'")[0] == []
