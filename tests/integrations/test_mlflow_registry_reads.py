"""MLflow's registry search over modeltrail's registry: a page of registered models with their
latest versions is read in a fixed number of statements, whatever its size."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from mlflow.entities.model_registry import ModelVersionTag
from sqlalchemy import event
from starlette.testclient import TestClient

from modeltrail.integrations.mlflow import model_registry, registry_search
from modeltrail.services.metadata import Metadata

API = "/api/v1"
MLFLOW = "/api/2.0/mlflow"
PROMPT = model_registry.PROMPT_TAG


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


MODEL_TAGS = {
    "a": {"team": "vision"},
    "B-model": {"team": "nlp"},
    "digits": {"team": "vision", "stage": "prod"},
    "Digits-v2": {"team": "Vision"},
    "e": {},
    "prompt-1": {"team": "vision", PROMPT: "true"},
    "speech": {"team": "speech", PROMPT: "false"},
}
MODEL_FILTERS = [
    "",
    "name = 'digits'",
    "name != 'digits'",
    "name LIKE 'd%'",
    "name LIKE 'D%'",
    "name ILIKE 'd%'",
    "name LIKE '%-%'",
    "name IN ('a', 'digits', 'zzz')",
    "name NOT IN ('a', 'digits')",
    "tags.team = 'vision'",
    "tags.team != 'vision'",
    "tags.team LIKE 'vis%'",
    "tags.team ILIKE 'VIS%'",
    "tags.missing = 'x'",
    "tags.team = 'vision' and name LIKE '%i%'",
    "tags.`mlflow.prompt.is_prompt` != 'true'",
    "tags.`mlflow.prompt.is_prompt` = 'true'",
    "tags.`mlflow.prompt.is_prompt` = 'false'",
    "tags.`mlflow.prompt.is_prompt` != 'false'",
]
MODEL_ORDERS: list[list[str] | None] = [
    None,
    ["name DESC"],
    ["timestamp DESC"],
    ["last_updated_timestamp ASC", "name DESC"],
    ["name ASC", "last_updated_timestamp DESC"],
]


def _page_models(
    c: TestClient, max_results: int, order_by: list[str] | None, filter: str
) -> list[list[str]]:
    """Each page of a registered-models search, followed to its end by its page tokens."""
    pages: list[list[str]] = []
    token = None
    while True:
        query: dict[str, Any] = {"max_results": max_results, "filter": filter}
        query |= {"order_by": order_by or [], "page_token": token or ""}
        answer = c.get(f"{MLFLOW}/registered-models/search", params=query)
        assert answer.status_code == 200, (filter, answer.text)
        body = answer.json()
        pages.append([m["name"] for m in body["registered_models"]])
        token = body.get("next_page_token")
        if not token:
            return pages


@pytest.mark.filterwarnings("ignore::Warning:mlflow.*", "ignore::Warning:sqlalchemy.*")
def test_search_registered_models_filters_orders_and_pages_as_mlflow_does(
    client: TestClient, tmp_path: Any
) -> None:
    """Each filter and order of MLflow's registered-models search, paged to its end, answers
    the models on the pages MLflow's own store answers for the same models: the database
    matches before it pages, so no page comes back short of a match further on."""
    import sqlite3
    import time

    from mlflow.entities.model_registry import RegisteredModelTag
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

    oracle = SqlAlchemyStore(f"sqlite:///{tmp_path / 'mlflow.db'}")
    for name, tags in MODEL_TAGS.items():
        client.post(f"{MLFLOW}/registered-models/create", json={"name": name}).raise_for_status()
        oracle.create_registered_model(name)
        for key, value in tags.items():
            time.sleep(0.003)  # no two changes in one millisecond: MLflow's times have no less
            client.post(
                f"{MLFLOW}/registered-models/set-tag",
                json={"name": name, "key": key, "value": value},
            ).raise_for_status()
            oracle.set_registered_model_tag(name, RegisteredModelTag(key, value))
        time.sleep(0.003)
    # The oracle's models carry our times.
    with sqlite3.connect(tmp_path / "mlflow.db") as db:
        for name in MODEL_TAGS:
            answer = client.get(f"{MLFLOW}/registered-models/get", params={"name": name})
            m = answer.json()["registered_model"]
            db.execute(
                "UPDATE registered_models SET creation_time = ?, last_updated_time = ?"
                " WHERE name = ?",
                (m["creation_timestamp"], m["last_updated_timestamp"], name),
            )

    def theirs(max_results: int, order_by: list[str] | None, filter: str) -> list[list[str]]:
        pages, token = [], None
        while True:
            page = oracle.search_registered_models(
                filter_string=filter, max_results=max_results, order_by=order_by, page_token=token
            )
            pages.append([m.name for m in page])
            token = page.token
            if not token:
                return pages

    for filter in MODEL_FILTERS:
        for size in (2, 100):
            assert _page_models(client, size, None, filter) == theirs(size, None, filter), (
                filter,
                size,
            )
    for order_by in MODEL_ORDERS:
        for size in (3, 100):
            assert _page_models(client, size, order_by, "") == theirs(size, order_by, ""), (
                order_by,
                size,
            )
    assert _page_models(client, 2, None, "name = 'speech'") == [["speech"]]


def _refuses(c: TestClient, path: str, queries: list[dict[str, Any]]) -> None:
    """Each of ``queries`` to the search at ``path`` is MLflow's refusal of a bad parameter."""
    for query in queries:
        answer = c.get(f"{MLFLOW}/{path}", params=query)
        assert answer.status_code == 400, (query, answer.text)
        assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE", query
        assert set(answer.json()) == {"error_code", "message"}


def test_search_registered_models_refuses_as_mlflow_does(client: TestClient) -> None:
    client.post(f"{MLFLOW}/registered-models/create", json={"name": "a"}).raise_for_status()
    bad: list[dict[str, Any]] = [
        {"max_results": 1001},
        {"max_results": 0},
        {"order_by": ["creation_timestamp"]},
        {"order_by": ["timestamp", "last_updated_timestamp DESC"]},
        {"order_by": ["name", "name DESC"]},
        {"page_token": "not a token"},
        {"filter": "name > 'a'"},
        {"filter": "version_number = 1"},
        {"filter": "tags.team IN ('a')"},
        {"filter": "tags.team IS NULL"},
        {"filter": "attributes.name = 'a'"},
    ]
    _refuses(client, "registered-models/search", bad)
    most = client.get(f"{MLFLOW}/registered-models/search", params={"max_results": 1000})
    assert [m["name"] for m in most.json()["registered_models"]] == ["a"]


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

    # MLflow's default order: the newest change first, then by name, the newest version first.
    assert sorted((v["name"], v["version"]) for v in many) == sorted(
        (name, version) for name in "abcdefg" for version in ("2", "1")
    )
    assert many == sorted(
        many, key=lambda v: (-v["last_updated_timestamp"], v["name"], -int(v["version"]))
    )
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
    # Named twice, its versions are still found once each.
    assert _search_versions(client, metadata, "name = 'c' AND name = 'c'")[0] == named
    assert _search_versions(client, metadata, "name = 'nope'")[0] == []


def _page_through(
    c: TestClient, max_results: int, order_by: list[str] | None = None, filter: str = ""
) -> list[list[tuple[str, str]]]:
    """Each page of a model-versions search, followed to its end by its page tokens."""
    pages: list[list[tuple[str, str]]] = []
    token = None
    while True:
        query: dict[str, Any] = {"max_results": max_results, "filter": filter}
        query |= {"order_by": order_by or [], "page_token": token or ""}
        answer = c.get(f"{MLFLOW}/model-versions/search", params=query)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages.append([(v["name"], v["version"]) for v in body["model_versions"]])
        token = body.get("next_page_token")
        if not token:
            return pages


VERSION_COUNTS = {"b": 3, "a": 4, "c": 1, "d": 2, "e": 1}
ORDERS: list[list[str] | None] = [
    None,
    ["name"],
    ["name DESC"],
    ["version_number ASC"],
    ["version_number DESC", "name DESC"],
    ["creation_timestamp ASC"],
    ["creation_timestamp DESC", "version_number ASC"],
    ["last_updated_timestamp ASC", "name DESC"],
]


@pytest.mark.filterwarnings("ignore::Warning:mlflow.*", "ignore::Warning:sqlalchemy.*")
def test_search_model_versions_pages_every_model_in_mlflows_order(
    client: TestClient, metadata: Metadata, tmp_path: Any, monkeypatch: Any
) -> None:
    """Paged to its end, a search answers each version once, in the order and on the pages
    MLflow's own store answers for the same versions; the registry is read a page of models
    at a time (two here), so no count of models or versions is left out."""
    import sqlite3

    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

    from modeltrail.domain import limits

    monkeypatch.setattr(limits, "MAX_PAGE_SIZE", 2)
    oracle = SqlAlchemyStore(f"sqlite:///{tmp_path / 'mlflow.db'}")
    for name, count in VERSION_COUNTS.items():
        client.post(f"{MLFLOW}/registered-models/create", json={"name": name}).raise_for_status()
        oracle.create_registered_model(name)
        for _ in range(count):
            client.post(
                f"{MLFLOW}/model-versions/create",
                json={"name": name, "source": f"s3://m/{uuid.uuid4().hex}"},
            ).raise_for_status()
            oracle.create_model_version(name, f"s3://m/{uuid.uuid4().hex}")
    ours = client.get(f"{MLFLOW}/model-versions/search").json()["model_versions"]
    assert len(ours) == sum(VERSION_COUNTS.values()) == 11
    # The oracle's versions carry our times, ties (the same millisecond) and all.
    with sqlite3.connect(tmp_path / "mlflow.db") as db:
        for v in ours:
            db.execute(
                "UPDATE model_versions SET creation_time = ?, last_updated_time = ?"
                " WHERE name = ? AND version = ?",
                (v["creation_timestamp"], v["last_updated_timestamp"], v["name"], v["version"]),
            )

    def theirs(max_results: int, order_by: list[str] | None) -> list[list[tuple[str, str]]]:
        pages, token = [], None
        while True:
            page = oracle.search_model_versions(
                max_results=max_results, order_by=order_by, page_token=token
            )
            pages.append([(v.name, str(v.version)) for v in page])
            token = page.token
            if not token:
                return pages

    for order_by in ORDERS:
        for size in (3, 11, 100):
            pages = _page_through(client, size, order_by)
            assert pages == theirs(size, order_by), (order_by, size)
            found = [v for page in pages for v in page]
            assert len(found) == len(set(found)) == 11
    # A filter's versions page the same way.
    assert _page_through(client, 2, ["version_number"], "name = 'a'") == [
        [("a", "1"), ("a", "2")],
        [("a", "3"), ("a", "4")],
    ]


def test_search_model_versions_refuses_as_mlflow_does(client: TestClient) -> None:
    client.post(f"{MLFLOW}/registered-models/create", json={"name": "a"}).raise_for_status()
    bad: list[dict[str, Any]] = [
        {"max_results": 0},
        {"max_results": -1},
        {"max_results": 200_001},
        {"max_results": "ten"},
        {"order_by": "version"},
        {"order_by": "tags.team"},
        {"order_by": "name sideways"},
        {"order_by": ["name", "name DESC"]},
        {"page_token": "not a token"},
        {"filter": "version_number = 'two'"},
        {"filter": "version_number LIKE '1%'"},
        {"filter": "version_number IN ('1')"},
        {"filter": "source_path IN ('a')"},
        {"filter": "tags.team IN ('a')"},
        {"filter": "creation_timestamp > 0"},
        {"filter": "name = 'a' OR name = 'b'"},
        {"filter": "version_number = 2.5"},
        {"filter": "version_number = 2.0"},
        {"filter": "version_number = '2.5'"},
        {"filter": "version_number = 1e999"},
        {"filter": "run_id = 5"},
        {"filter": "source_path = 5"},
        {"filter": "tags.stage = 5"},
        {"filter": "tags.stage IS NULL"},
        {"filter": "attributes.name = 'a'"},
        {"filter": "attr.name = 'a'"},
        {"filter": "version_number = '1__0'"},
        {"filter": "version_number = '_1'"},
    ]
    _refuses(client, "model-versions/search", bad)
    # Named as MLflow names it: the entity type, and those it takes.
    plural = {"filter": "attributes.name = 'a'"}
    message = client.get(f"{MLFLOW}/model-versions/search", params=plural).json()["message"]
    assert "Invalid entity type 'attributes'" in message
    assert "['attribute', 'tag', 'tags']" in message
    most = client.get(f"{MLFLOW}/model-versions/search", params={"max_results": 200_000})
    assert most.status_code == 200 and most.json() == {"model_versions": []}


FILTERS = [
    "version_number = 2",
    "version_number >= 3",
    "version_number != 1 AND name != 'b'",
    "name IN ('a', 'c', 'nope')",
    "name NOT IN ('a', 'b')",
    "name LIKE 'a%'",
    "name ILIKE 'B'",
    "tags.stage = 'good'",
    "tags.stage != 'good'",
    "tags.`stage` LIKE 'go%' AND version_number < 3",
    "tags.missing = 'x'",
    "source_path = 's3://m/b-2'",
    "source_path LIKE 's3://m/a-%' AND name IN ('a')",
    "tags.`mlflow.prompt.is_prompt` != 'true'",
    "tags.`mlflow.prompt.is_prompt` = 'true'",
    "tags.`mlflow.prompt.is_prompt` = 'false' AND name = 'a'",
    "",
    "version_number = '3'",
    "version_number < ' 2'",
    "attribute.name = 'a' AND tag.stage = 'good'",
    "version_number = '0_2'",
    "version_number >= ' 0_3 ' AND name = 'a'",
    "source_path != 's3://m/a-1' AND name = 'a'",
    "source_path ILIKE 'S3://M/B%'",
    "source_path LIKE 'S3://M/B%'",
    "source_path LIKE '%-_'",
    "name = 'a' AND tags.stage != 'bad' AND tags.stage LIKE '%o%'",
    "tags.stage ILIKE 'GOOD' AND version_number <= 2",
    "run_id = 'x'",
    "run_id NOT IN ('x')",
]


@pytest.mark.filterwarnings("ignore::Warning:mlflow.*", "ignore::Warning:sqlalchemy.*")
def test_search_model_versions_filters_as_mlflow_does(client: TestClient, tmp_path: Any) -> None:
    """Each filter of MLflow's model-versions grammar (version numbers, IN and NOT IN, tags,
    source paths) finds the versions MLflow's own store finds for the same versions."""
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

    oracle = SqlAlchemyStore(f"sqlite:///{tmp_path / 'mlflow.db'}")
    for name, count in VERSION_COUNTS.items():
        client.post(f"{MLFLOW}/registered-models/create", json={"name": name}).raise_for_status()
        oracle.create_registered_model(name)
        for number in range(1, count + 1):
            source = f"s3://m/{name}-{number}"
            client.post(
                f"{MLFLOW}/model-versions/create", json={"name": name, "source": source}
            ).raise_for_status()
            oracle.create_model_version(name, source)
            if number % 2 == 0 or name == "c":
                tag = {"key": "stage", "value": "good" if number < 4 else "bad"}
                client.post(
                    f"{MLFLOW}/model-versions/set-tag",
                    json={"name": name, "version": str(number), **tag},
                ).raise_for_status()
                oracle.set_model_version_tag(name, str(number), ModelVersionTag(**tag))
    # A prompt's version: left out unless a filter asks for prompts.
    client.post(f"{MLFLOW}/registered-models/create", json={"name": "p"}).raise_for_status()
    oracle.create_registered_model("p")
    client.post(
        f"{MLFLOW}/model-versions/create", json={"name": "p", "source": "s3://m/p-1"}
    ).raise_for_status()
    oracle.create_model_version("p", "s3://m/p-1")
    prompt = {"key": PROMPT, "value": "true"}
    client.post(
        f"{MLFLOW}/model-versions/set-tag", json={"name": "p", "version": "1", **prompt}
    ).raise_for_status()
    oracle.set_model_version_tag("p", "1", ModelVersionTag(**prompt))
    for filter in FILTERS:
        answer = client.get(
            f"{MLFLOW}/model-versions/search", params={"filter": filter, "max_results": 100}
        )
        assert answer.status_code == 200, (filter, answer.text)
        ours = sorted((v["name"], v["version"]) for v in answer.json()["model_versions"])
        theirs = sorted(
            (v.name, str(v.version))
            for v in oracle.search_model_versions(filter_string=filter, max_results=100)
        )
        assert ours == theirs, filter
        assert ours or filter in (
            "tags.missing = 'x'",
            "source_path LIKE 'S3://M/B%'",
            "run_id = 'x'",
            "run_id NOT IN ('x')",
        ), filter
    prompts = {"filter": "tags.`mlflow.prompt.is_prompt` = 'true'"}
    found = client.get(f"{MLFLOW}/model-versions/search", params=prompts).json()
    assert [(v["name"], v["version"]) for v in found["model_versions"]] == [("p", "1")]
    # Numbers beyond any version's (MLflow's own store fails on them) and the older servers'
    # ``version``, as text.
    for filter, expected in [
        ("version_number > 99999999999999999999", set()),
        ("version_number > -99999999999999999999 AND name = 'c'", {("c", "1")}),
        ("version = '2' AND name LIKE '%'", {("a", "2"), ("b", "2"), ("d", "2")}),
    ]:
        answer = client.get(f"{MLFLOW}/model-versions/search", params={"filter": filter})
        assert answer.status_code == 200, (filter, answer.text)
        found = {(v["name"], v["version"]) for v in answer.json()["model_versions"]}
        assert found == expected, filter


def test_search_model_versions_finds_versions_by_their_runs(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _models(client, ["a", "b", "c"])
    every = client.get(f"{MLFLOW}/model-versions/search").json()["model_versions"]
    made: list[int] = []
    answers = registry_search.version_answers

    def counted(registry: Any, versions: list[Any]) -> list[dict[str, Any]]:
        made.append(len(versions))
        return answers(registry, versions)

    # Naming runs, a search makes the answers of the versions those runs made alone.
    monkeypatch.setattr(registry_search, "version_answers", counted)
    runs = {(v["name"], v["version"]): v["run_id"] for v in every}
    wanted = [runs[("a", "2")], runs[("c", "1")]]
    listed = ", ".join(f"'{r}'" for r in wanted)
    for filter, expected in [
        (f"run_id IN ({listed})", {("a", "2"), ("c", "1")}),
        (f"run_id = '{wanted[0]}'", {("a", "2")}),
        (f"run_id IN ({listed}) AND name = 'c'", {("c", "1")}),
        (f"run_id = '{uuid.UUID(wanted[0])}'", set()),  # MLflow's ids have no dashes
        (f"run_id = '{wanted[0].upper()}'", set()),
        ("run_id IN ('not-a-run', 'nor-this')", set()),
        (f"run_id LIKE '{wanted[0][:8]}%'", {("a", "2")}),
        (f"run_id != '{wanted[0]}' AND name = 'a'", {("a", "1")}),
    ]:
        made.clear()
        found = client.get(f"{MLFLOW}/model-versions/search", params={"filter": filter})
        assert found.status_code == 200, found.text
        assert {(v["name"], v["version"]) for v in found.json()["model_versions"]} == expected
        assert made == [len(expected)], filter


def test_search_model_versions_excludes_runs_from_every_model(client: TestClient) -> None:
    _models(client, ["a", "b"])
    every = client.get(f"{MLFLOW}/model-versions/search").json()["model_versions"]
    runs = {(v["name"], v["version"]): v["run_id"] for v in every}
    excluded = f"run_id NOT IN ('{runs[('a', '2')]}')"
    found = client.get(f"{MLFLOW}/model-versions/search", params={"filter": excluded})
    assert {(v["name"], v["version"]) for v in found.json()["model_versions"]} == set(runs) - {
        ("a", "2")
    }


def test_search_model_versions_reads_only_its_page(client: TestClient, monkeypatch: Any) -> None:
    """A page of a search that names no more than the model is matched, ordered and paged by
    the database: its answer is made of the page's versions alone, not of every version."""
    _models(client, ["a", "b", "c"])
    client.post(
        f"{MLFLOW}/model-versions/set-tag",
        json={"name": "b", "version": "1", "key": "stage", "value": "good"},
    ).raise_for_status()
    made: list[int] = []
    answers = registry_search.version_answers

    def counted(registry: Any, versions: list[Any]) -> list[dict[str, Any]]:
        made.append(len(versions))
        return answers(registry, versions)

    monkeypatch.setattr(registry_search, "version_answers", counted)
    everything = _page_through(client, 100)
    assert made == [6]
    made.clear()
    assert _page_through(client, 2) == [everything[0][i : i + 2] for i in (0, 2, 4)]
    assert made == [2, 2, 2]
    # So is a page of a search on the versions' runs, sources and tags.
    for filter, found in [
        ("run_id != 'nobody' AND source_path LIKE 's3://m/%'", everything[0]),
        ("tags.stage = 'good'", [("b", "1")]),
        ("tags.stage != 'good' OR name = 'a'", None),
    ]:
        made.clear()
        if found is None:
            refused = client.get(f"{MLFLOW}/model-versions/search", params={"filter": filter})
            assert refused.status_code == 400 and made == []
            continue
        pages = _page_through(client, 2, None, filter)
        assert [v for page in pages for v in page] == found, filter
        assert made == [len(page) for page in pages] and max(made) <= 2, filter
    made.clear()
    assert _page_through(client, 1, ["name", "version_number"], "name LIKE 'b%'") == [
        [("b", "1")],
        [("b", "2")],
    ]
    assert made == [1, 1]
