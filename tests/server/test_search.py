"""Free-text search across every entity (``GET /api/v1/search``), on both databases: what
matches, how it ranks, that the index follows every write path, and hostile text."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from modeltrail.services.metadata import Metadata

API = "/api/v1"


def post(client: TestClient, plural: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{API}/{plural}", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def search(client: TestClient, text: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"{API}/search", params={"text": text, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def found(client: TestClient, text: str, **params: Any) -> list[tuple[str, str]]:
    return [(hit["type"], hit["name"]) for hit in search(client, text, **params)]


@pytest.fixture
def world(client: TestClient) -> dict[str, Any]:
    exp = post(client, "experiments", {"name": "handwriting", "annotations": {"team": "vision"}})
    run = post(
        client,
        "runs",
        {"experiment": exp["id"], "name": "nightly", "annotations": {"note": "letters only"}},
    )
    exe = post(
        client,
        "executables",
        {"name": "train.py", "uri": "git://repo/train.py", "description": "fits the net"},
    )
    data = post(
        client,
        "artifacts",
        {
            "name": "emnist-letters",
            "kind": "dataset",
            "uri": "s3://datasets/emnist/letters.csv",
            "description": "Handwritten letters, 26 classes, from the EMNIST collection",
        },
    )
    model = post(
        client,
        "artifacts",
        {"name": "classifier", "kind": "model", "uri": "file:///models/classifier.pt"},
    )
    step = post(
        client,
        "executions",
        {
            "run": run["id"],
            "executable": exe["id"],
            "name": "train",
            "kind": "train",
            "inputArtifacts": [data["id"]],
            "outputArtifacts": [model["id"]],
        },
    )
    return {"experiment": exp, "run": run, "data": data, "model": model, "step": step}


def test_answers_entities_of_every_type_ranked_with_the_agreed_shape(
    client: TestClient, world: dict[str, Any]
) -> None:
    items = search(client, "letters")
    assert [(h["type"], h["name"]) for h in items] == [
        ("artifact", "emnist-letters"),  # in its name (and uri, and description)
        ("run", "nightly"),  # in an annotation value only
    ]
    hit = items[0]
    assert set(hit) >= {"type", "id", "name", "uri", "snippet", "score"}
    assert hit["id"] == world["data"]["id"]
    assert hit["uri"] == "s3://datasets/emnist/letters.csv"
    assert hit["kind"] == "dataset"
    assert "letters" in hit["snippet"].lower()
    assert isinstance(hit["score"], float) and hit["score"] > items[1]["score"]
    assert items[1]["uri"] is None


def test_words_match_by_their_beginning_case_blind_in_any_field(
    client: TestClient, world: dict[str, Any]
) -> None:
    assert found(client, "HANDWR") == [
        ("experiment", "handwriting"),
        ("artifact", "emnist-letters"),
    ]
    assert ("executable", "train.py") in found(client, "fits")  # description
    assert found(client, "vision") == [("experiment", "handwriting")]  # annotation value
    # Every word must match (in one field or across fields).
    assert found(client, "emnist collection") == [("artifact", "emnist-letters")]
    assert found(client, "emnist nightly") == []


def test_uris_and_ids_match_by_their_beginning(client: TestClient, world: dict[str, Any]) -> None:
    assert found(client, "s3://datasets/emn") == [("artifact", "emnist-letters")]
    assert found(client, "file:///models/class") == [("artifact", "classifier")]
    run_id = world["run"]["id"]
    for text in (run_id, run_id.upper(), run_id[:8], run_id.replace("-", "")[:13]):
        first = search(client, text)[0]
        assert (first["type"], first["id"]) == ("run", run_id), text
    assert search(client, run_id)[0]["snippet"] == run_id


def test_type_and_limit(client: TestClient, world: dict[str, Any]) -> None:
    assert found(client, "letters", type="run") == [("run", "nightly")]
    assert len(found(client, "letters", type="artifact,run")) == 2
    assert len(search(client, "letters", limit=1)) == 1
    response = client.get(f"{API}/search", params={"text": "x", "type": "nonsense"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/type"
    for limit in (0, 101, "many"):
        response = client.get(f"{API}/search", params={"text": "x", "limit": limit})
        assert response.status_code == 422, limit


def test_the_index_follows_updates_and_deletes(client: TestClient, world: dict[str, Any]) -> None:
    run = world["run"]
    response = client.patch(
        f"{API}/runs/{run['id']}", json={"name": "weekly", "annotations": {"note": "digits"}}
    )
    assert response.status_code == 200, response.text
    assert found(client, "letters") == [("artifact", "emnist-letters")]
    assert found(client, "weekly digits") == [("run", "weekly")]
    assert found(client, "nightly") == []
    exp = post(client, "experiments", {"name": "short-lived"})
    assert found(client, "short") == [("experiment", "short-lived")]
    assert client.delete(f"{API}/experiments/{exp['id']}").status_code == 204
    assert found(client, "short") == []


def test_batches_are_found_like_single_writes(client: TestClient) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    operations = [
        {
            "op": "create",
            "entity": "artifact",
            "id": i,
            "body": {"name": f"shard-{n}", "kind": "dataset", "uri": f"s3://b/{n}"},
        }
        for n, i in enumerate(ids)
    ]
    response = client.post(f"{API}/batch", json={"operations": operations})
    assert response.status_code == 200, response.text
    assert sorted(h["id"] for h in search(client, "shard")) == sorted(ids)


@pytest.mark.parametrize(
    "text",
    [
        '"',
        "'; DROP TABLE runs; --",
        "letters*",
        "NEAR(letters nightly)",
        "letters OR nightly",
        "a AND",
        "(",
        "name:letters",
        "^letters",
        "let-ters",
        "!(&|:*)",
        "\x00letters",
        "letters\u200b",
        "Ärger ΣΟΦΊΑ 漢字",
        "-",
    ],
)
def test_hostile_text_is_searched_as_words_never_as_syntax(
    client: TestClient, world: dict[str, Any], text: str
) -> None:
    response = client.get(f"{API}/search", params={"text": text})
    assert response.status_code == 200, response.text


def test_full_text_syntax_is_not_obeyed(client: TestClient, world: dict[str, Any]) -> None:
    assert found(client, "letters OR handwriting") == []  # or is a word like any other
    assert found(client, '"letters"') == found(client, "letters")


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 10_000, "at most"),
        (" ".join(f"w{i}" for i in range(40)), "words"),
    ],
)
def test_text_refused_says_why(client: TestClient, text: str, detail: str) -> None:
    response = client.get(f"{API}/search", params={"text": text})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["pointer"] == "/text"
    assert detail in problem["detail"]


def test_text_that_is_not_unicode(client: TestClient, metadata: Metadata) -> None:
    # Bytes that are not UTF-8 are refused, naming the parameter (read as U+FFFD, they would
    # search for other text); a lone surrogate can only come in process, and is refused.
    response = client.get(f"{API}/search?text=%ED%A0%80abc")
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["pointer"] == "/text"
    from modeltrail.domain.errors import InvalidInput
    from modeltrail.services.search import search as search_service

    with pytest.raises(InvalidInput, match="surrogate"):
        metadata.query(search_service, "abc\ud800")


def test_missing_text(client: TestClient) -> None:
    assert client.get(f"{API}/search").status_code == 422


def test_long_texts_are_indexed_and_found(client: TestClient) -> None:
    words = " ".join(f"word{i}" for i in range(5_000))
    post(
        client,
        "artifacts",
        {
            "name": "long",
            "kind": "dataset",
            "description": words + " needle",
            "annotations": {f"k{i}": "x" * 2_000 for i in range(30)},
        },
    )
    assert found(client, "word4999") == [("artifact", "long")]
    hit = search(client, "word2500")[0]
    assert "word2500" in hit["snippet"] and len(hit["snippet"]) < 200
