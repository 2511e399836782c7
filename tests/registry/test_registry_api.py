"""The model registry through the HTTP API, on SQLite and PostgreSQL: models, versions,
aliases with their history, references resolved, and bad input refused whole."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from conftest import ADMIN, role_headers
from modeltrail.server.app import create_app
from modeltrail.services.metadata import Metadata, NoHooks

API = "/api/v1"
M = f"{API}/models"


def trained(c: TestClient, name: str = "clf", *, accuracy: float | None = None) -> dict[str, Any]:
    """A model artifact written by a step of a run, with its accuracy as a metric."""
    exp = c.post(f"{API}/experiments", json={"name": "digits"}).json()
    exe = c.post(f"{API}/executables", json={"name": "train.py"}).json()
    run = c.post(
        f"{API}/runs", json={"experiment": exp["id"], "name": f"run-{uuid.uuid4().hex[:6]}"}
    ).json()
    model = c.post(
        f"{API}/artifacts",
        json={"name": name, "kind": "model", "uri": f"s3://m/{uuid.uuid4().hex}"},
    ).json()
    c.post(
        f"{API}/executions",
        json={
            "run": run["id"],
            "executable": exe["id"],
            "name": "train",
            "kind": "train",
            "outputArtifacts": [model["id"]],
        },
    ).raise_for_status()
    if accuracy is not None:
        c.post(
            f"{API}/artifacts",
            json={
                "name": "accuracy",
                "kind": "metrics",
                "attributes": {"value": accuracy, "schema": "number", "reference": model["id"]},
            },
        ).raise_for_status()
    return {"artifact": model, "run": run}


def register(c: TestClient, model: str, artifact: dict[str, Any], **query: Any) -> Any:
    return c.post(f"{M}/{model}/versions", json={"artifact": artifact["id"]}, params=query)


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json", response.text
    return response.json()  # type: ignore[no-any-return]


def test_versions_are_numbered_and_carry_their_lineage_and_metrics(client: TestClient) -> None:
    created = client.post(M, json={"name": "digits-classifier", "description": "d"})
    assert created.status_code == 201
    assert created.json()["versions"] == 0 and created.json()["latestVersion"] is None
    made = [trained(client, accuracy=0.9 + i / 100) for i in range(3)]
    numbers = []
    for m in made:
        r = register(client, "digits-classifier", m["artifact"])
        assert r.status_code == 201, r.text
        numbers.append(r.json()["version"])
    assert numbers == [1, 2, 3]
    # A retry of a registration answers the version it made, and makes no other.
    again = register(client, "digits-classifier", made[1]["artifact"])
    assert again.status_code == 200 and again.json()["version"] == 2
    v2 = client.get(f"{M}/digits-classifier/versions/2").json()
    assert v2["artifact"]["id"] == made[1]["artifact"]["id"]
    assert v2["run"]["id"] == made[1]["run"]["id"]
    assert v2["execution"] is not None
    assert v2["metrics"] == {"accuracy": pytest.approx(0.91)}
    page = client.get(f"{M}/digits-classifier/versions", params={"limit": 2}).json()
    assert [v["version"] for v in page["items"]] == [3, 2]
    rest = client.get(
        f"{M}/digits-classifier/versions", params={"limit": 2, "cursor": page["nextCursor"]}
    ).json()
    assert [v["version"] for v in rest["items"]] == [1] and rest["nextCursor"] is None
    model = client.get(f"{M}/digits-classifier").json()
    assert model["versions"] == 3 and model["latestVersion"] == 3
    latest = client.get(f"{M}/digits-classifier/versions/latest").json()
    assert latest["version"] == 3


def test_a_page_of_versions_is_each_version_as_it_is_read_alone(client: TestClient) -> None:
    """The page is built as documents, not models: each of its versions must be what the
    version's own route (validated against ``ModelVersion``) answers, whatever the metrics'
    values are (a number, text, a list, an object, null)."""
    values: list[Any] = [0.5, 3, "good", [1, 2], {"top1": 0.9, "top5": 0.99}, None, True]
    made = []
    for i, value in enumerate(values):
        m = trained(client)
        client.post(
            f"{API}/artifacts",
            json={
                "name": f"m{i}",
                "kind": "metrics",
                "attributes": {"value": value, "reference": m["artifact"]["id"]},
            },
        ).raise_for_status()
        # A metric without a value is no metric of the version.
        client.post(
            f"{API}/artifacts",
            json={
                "name": "novalue",
                "kind": "metrics",
                "attributes": {"reference": m["artifact"]["id"]},
            },
        ).raise_for_status()
        made.append(m)
        register(client, "shapes", m["artifact"], createModel="true").raise_for_status()
    client.put(f"{M}/shapes/aliases/production", json={"version": 2}).raise_for_status()
    page = client.get(f"{M}/shapes/versions", params={"limit": 100}).json()
    assert len(page["items"]) == len(values)
    for item in page["items"]:
        alone = client.get(f"{M}/shapes/versions/{item['version']}").json()
        assert item == alone
        assert item["metrics"] == {f"m{item['version'] - 1}": values[item["version"] - 1]}
    assert page["items"][-2]["aliases"] == ["production"]
    # JSON true is true, not the 1 that SQLite's JSON functions make of it.
    assert page["items"][0]["metrics"] == {"m6": True} and values[6] is True
    assert page["items"][0]["metrics"]["m6"] is True
    assert (
        client.get(f"{M}/shapes/versions", params={"metrics": "false"}).json()["items"][0][
            "metrics"
        ]
        is None
    )


def test_a_metric_is_listed_with_every_digit_it_was_recorded_with(client: TestClient) -> None:
    """A float needs up to 17 significant digits to come back as itself: the page shows
    the value the metric holds, not one rounded to fewer digits on its way through SQL."""
    values = [1 / 3, 0.9006000000000001, 123456.78901234567]
    for value in values:
        m = trained(client, accuracy=value)
        register(client, "precise", m["artifact"], createModel="true").raise_for_status()
    page = client.get(f"{M}/precise/versions", params={"limit": 10}).json()
    assert [v["metrics"]["accuracy"] for v in page["items"]] == values[::-1]
    for item in page["items"]:
        alone = client.get(f"{M}/precise/versions/{item['version']}").json()
        assert alone["metrics"] == item["metrics"]


def test_a_version_shows_the_first_step_that_wrote_its_artifact(client: TestClient) -> None:
    """A page is read in one statement that joins each version to the steps that wrote its
    artifact: one written by two steps comes once, with the earlier step, and the page still
    holds ``limit`` versions; one that no step wrote has no run."""
    first = trained(client)
    again = client.post(
        f"{API}/executions",
        json={
            "run": first["run"]["id"],
            "executable": client.post(f"{API}/executables", json={"name": "x"}).json()["id"],
            "name": "retrain",
            "kind": "train",
            "outputArtifacts": [first["artifact"]["id"]],
        },
    )
    assert again.status_code == 201, again.text
    loose = client.post(f"{API}/artifacts", json={"name": "loose", "kind": "model"}).json()
    for made in (first["artifact"], loose, trained(client)["artifact"]):
        register(client, "twice", made, createModel="true").raise_for_status()
    alone = client.get(f"{M}/twice/versions/1").json()
    assert alone["execution"] != again.json()["id"] and alone["run"]["id"] == first["run"]["id"]
    assert client.get(f"{M}/twice/versions/2").json()["run"] is None
    pages, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{M}/twice/versions", params=params).json()
        pages.append([v["version"] for v in page["items"]])
        assert all(
            v == client.get(f"{M}/twice/versions/{v['version']}").json() for v in page["items"]
        )
        if (cursor := page["nextCursor"]) is None:
            break
    assert pages == [[3], [2], [1]]


def test_registering_needs_the_model_unless_asked_to_create_it(client: TestClient) -> None:
    m = trained(client)
    problem(register(client, "nope", m["artifact"]), 404)
    assert client.get(f"{M}/nope").status_code == 404
    r = register(client, "nope", m["artifact"], createModel="true")
    assert r.status_code == 201 and r.json()["version"] == 1
    bad = client.post(f"{M}/nope/versions", json={"artifact": str(uuid.uuid4())})
    assert problem(bad, 422)["errors"][0]["pointer"] == "/artifact"
    assert client.get(f"{M}/nope").json()["versions"] == 1


def test_aliases_move_with_history_and_resolve(client: TestClient) -> None:
    client.post(M, json={"name": "digits"})
    for _ in range(3):
        register(client, "digits", trained(client)["artifact"]).raise_for_status()
    first = client.put(f"{M}/digits/aliases/production", json={"version": 1, "reason": "v1 ok"})
    assert first.status_code == 200 and first.json()["version"] == 1
    before_move = datetime.now(UTC)
    time.sleep(0.01)
    moved = client.put(f"{M}/digits/aliases/production", json={"version": 3, "reason": "better"})
    assert moved.json()["version"] == 3 and moved.json()["reason"] == "better"
    # Setting it where it points already changes nothing and records nothing.
    client.put(f"{M}/digits/aliases/production", json={"version": 3}).raise_for_status()
    client.put(f"{M}/digits/aliases/champion", json={"version": "models:/digits@production"})
    history = client.get(f"{M}/digits/history", params={"alias": "production"}).json()
    assert [(h["action"], h["fromVersion"], h["toVersion"], h["reason"]) for h in history] == [
        ("move", 1, 3, "better"),
        ("set", None, 1, "v1 ok"),
    ]
    at = before_move.isoformat()
    assert client.get(f"{M}/digits/aliases/production", params={"at": at}).json()["version"] == 1
    then = client.get(f"{M}/digits/aliases", params={"at": at}).json()
    assert [(a["alias"], a["version"]) for a in then] == [("production", 1)]
    now = client.get(f"{M}/digits/aliases").json()
    assert {a["alias"]: a["version"] for a in now} == {"champion": 3, "production": 3}
    long_ago = (before_move - timedelta(days=300)).isoformat()
    problem(client.get(f"{M}/digits/aliases/production", params={"at": long_ago}), 404)

    def resolved(uri: str, **q: str) -> int:
        r = client.get(f"{M}/resolve", params={"uri": uri, **q})
        assert r.status_code == 200, r.text
        return int(r.json()["version"])

    assert resolved("models:/digits@production") == 3
    assert resolved("models:/digits@production", at=at) == 1
    assert resolved("models:/digits/2") == 2
    assert resolved("models:/digits") == 3
    assert resolved("models:/digits/latest") == 3
    v3 = client.get(f"{M}/digits/versions/3").json()
    assert sorted(v3["aliases"]) == ["champion", "production"]
    removed = client.delete(f"{M}/digits/aliases/champion", params={"reason": "retired"})
    assert removed.json()["action"] == "remove" and removed.json()["fromVersion"] == 3
    problem(client.get(f"{M}/resolve", params={"uri": "models:/digits@champion"}), 404)
    problem(client.delete(f"{M}/digits/aliases/champion"), 404)


@pytest.mark.parametrize(
    "uri",
    [
        "digits@production",
        "models:/",
        "models:/digits/0",
        "models:/digits/x",
        "models:/digits/-1",
        "models:/digits/99999999999",
        "models:/digits@",
        "models:/digits@latest",
        "models:/digits@v2",
        "models:/a/b/3",
        "models:/@prod",
    ],
)
def test_malformed_references_are_refused(client: TestClient, uri: str) -> None:
    body = problem(client.get(f"{M}/resolve", params={"uri": uri}), 422)
    assert body["errors"][0]["pointer"] == "/uri"


def test_an_alias_on_another_models_version_is_a_conflict(client: TestClient) -> None:
    for name in ("a", "b"):
        client.post(M, json={"name": name})
        register(client, name, trained(client)["artifact"]).raise_for_status()
    client.put(f"{M}/a/aliases/production", json={"version": 1}).raise_for_status()
    body = problem(client.put(f"{M}/a/aliases/production", json={"version": "models:/b/1"}), 409)
    assert body["errors"][0]["pointer"] == "/version"
    missing = problem(client.put(f"{M}/a/aliases/production", json={"version": 7}), 422)
    assert missing["errors"][0]["pointer"] == "/version"
    # Nothing partial: the alias and its history are as they were.
    assert client.get(f"{M}/a/aliases/production").json()["version"] == 1
    assert len(client.get(f"{M}/a/history").json()) == 1


@pytest.mark.parametrize("version", [True, 0, -1, 2**31, 1.5, None, [1], {"n": 1}, "x" * 5000])
def test_a_bad_version_for_an_alias_is_one_error_at_the_field(
    client: TestClient, version: Any
) -> None:
    client.post(M, json={"name": "m"})
    register(client, "m", trained(client)["artifact"]).raise_for_status()
    body = problem(client.put(f"{M}/m/aliases/production", json={"version": version}), 422)
    assert [e["pointer"] for e in body["errors"]] == ["/version"], body
    assert "models:/NAME@ALIAS" in body["errors"][0]["detail"]
    assert client.get(f"{M}/m/aliases").json() == []  # `true` is not version 1


@pytest.mark.parametrize("alias", ["latest", "v3", "V12", "has space", "a.b", "a/b", "a+b", "⚙"])
def test_bad_alias_names_are_refused(client: TestClient, alias: str) -> None:
    client.post(M, json={"name": "m"})
    register(client, "m", trained(client)["artifact"]).raise_for_status()
    r = client.put(f"{M}/m/aliases/{alias}", json={"version": 1})
    assert r.status_code in (404, 422), r.text
    assert client.get(f"{M}/m/aliases").json() == []


def test_aliases_take_what_mlflow_takes(client: TestClient) -> None:
    """MLflow's registry takes an alias of letters and digits of any script, '_' and '-'
    (``^[\\w\\-]*$``): its clients set such aliases through the compatible API."""
    client.post(M, json={"name": "m"})
    register(client, "m", trained(client)["artifact"]).raise_for_status()
    for alias in ("1st", "-x", "champion-ü", "生产", "v1beta"):
        client.put(f"{M}/m/aliases/{alias}", json={"version": 1}).raise_for_status()
        resolved = client.get(f"{M}/resolve", params={"uri": f"models:/m@{alias}"})
        assert resolved.json()["version"] == 1, (alias, resolved.text)


def test_aliases_are_case_sensitive_as_in_mlflow(client: TestClient) -> None:
    """MLflow's registry keeps an alias as it was given and finds it by equality (its
    ``_get_registered_model_alias``): ``Production`` and ``production`` are two aliases, and
    only ``latest`` is reserved whatever its case. So are they here, on each database."""
    client.post(M, json={"name": "m"})
    for _ in range(2):
        register(client, "m", trained(client)["artifact"]).raise_for_status()
    client.put(f"{M}/m/aliases/production", json={"version": 1}).raise_for_status()
    client.put(f"{M}/m/aliases/Production", json={"version": 2}).raise_for_status()
    assert client.get(f"{M}/m/aliases/production").json()["version"] == 1
    assert client.get(f"{M}/m/aliases/Production").json()["version"] == 2
    assert sorted(a["alias"] for a in client.get(f"{M}/m/aliases").json()) == [
        "Production",
        "production",
    ]
    resolved = client.get(f"{M}/resolve", params={"uri": "models:/m@Production"}).json()
    assert resolved["version"] == 2
    unknown = client.get(f"{M}/resolve", params={"uri": "models:/m@PRODUCTION"})
    assert unknown.status_code == 404, unknown.text
    for reserved in ("LATEST", "Latest"):
        refused = client.put(f"{M}/m/aliases/{reserved}", json={"version": 1})
        assert refused.status_code == 422, refused.text


@pytest.mark.parametrize(
    "name", ["", " lead", "trail ", "a/b", "a@b", "a\\b", "tab\tname", "models:x", "x" * 257]
)
def test_bad_model_names_are_refused(client: TestClient, name: str) -> None:
    body = problem(client.post(M, json={"name": name}), 422)
    assert body["errors"][0]["pointer"].startswith("/name")
    assert client.get(M).json()["items"] == []


def test_nul_anywhere_is_refused(client: TestClient) -> None:
    problem(client.post(M, json={"name": "a\x00b"}), 422)
    client.post(M, json={"name": "m"})
    problem(client.put(f"{M}/m/tags/k", json={"value": "a\x00"}), 422)
    assert client.get(f"{M}/m%00").status_code == 404
    problem(client.put(f"{M}/m/tags/k%00", json={"value": "v"}), 422)
    register(client, "m", trained(client)["artifact"]).raise_for_status()
    problem(client.put(f"{M}/m/aliases/p", json={"version": 1, "reason": "\x00"}), 422)
    client.put(f"{M}/m/aliases/p", json={"version": 1}).raise_for_status()
    problem(client.delete(f"{M}/m/aliases/p", params={"reason": "a\x00"}), 422)
    assert client.get(f"{M}/m/aliases/p").json()["version"] == 1


def test_names_are_unique_and_renames_keep_versions_and_aliases(client: TestClient) -> None:
    assert client.post(M, json={"name": "old"}).status_code == 201
    problem(client.post(M, json={"name": "old"}), 409)
    client.post(M, json={"name": "taken"})
    register(client, "old", trained(client)["artifact"]).raise_for_status()
    client.put(f"{M}/old/aliases/production", json={"version": 1}).raise_for_status()
    problem(client.patch(f"{M}/old", json={"name": "taken"}), 409)
    renamed = client.patch(f"{M}/old", json={"name": "new", "description": "renamed"})
    assert renamed.status_code == 200 and renamed.json()["aliases"] == {"production": 1}
    assert client.get(f"{M}/old").status_code == 404
    r = client.get(f"{M}/resolve", params={"uri": "models:/new@production"})
    assert r.json()["model"] == "new"
    assert client.get(f"{M}/new/history").json()[0]["model"] == "new"
    problem(client.patch(f"{M}/new", json={"name": None}), 422)


def test_tags_and_search(client: TestClient) -> None:
    client.post(M, json={"name": "Digits-Classifier", "tags": {"team": "vision"}})
    client.post(M, json={"name": "churn", "tags": {"team": "growth"}})
    client.post(M, json={"name": "digits-ocr"})
    names = [m["name"] for m in client.get(M, params={"nameContains": "DIGITS"}).json()["items"]]
    assert names == ["Digits-Classifier", "digits-ocr"]
    tagged = client.get(M, params={"tag": "team=growth"}).json()["items"]
    assert [m["name"] for m in tagged] == ["churn"]
    problem(client.get(M, params={"tag": "nokey"}), 422)
    first = client.get(M, params={"limit": 2}).json()
    second = client.get(M, params={"limit": 2, "cursor": first["nextCursor"]}).json()
    assert [m["name"] for m in first["items"] + second["items"]] == sorted(
        ["Digits-Classifier", "churn", "digits-ocr"]
    )
    problem(client.get(M, params={"cursor": "!!"}), 422)
    assert client.get(M, params={"nameContains": "%"}).json()["items"] == []
    client.put(f"{M}/churn/tags/stage", json={"value": "beta"}).raise_for_status()
    assert client.get(f"{M}/churn").json()["tags"] == {"team": "growth", "stage": "beta"}
    client.delete(f"{M}/churn/tags/team").raise_for_status()
    problem(client.delete(f"{M}/churn/tags/team"), 404)
    register(client, "churn", trained(client)["artifact"]).raise_for_status()
    v = client.put(f"{M}/churn/versions/1/tags/validated", json={"value": "yes"}).json()
    assert v["tags"] == {"validated": "yes"}
    v = client.patch(f"{M}/churn/versions/1", json={"description": "first"}).json()
    assert v["description"] == "first" and v["tags"] == {"validated": "yes"}


def test_a_version_an_alias_points_at_is_not_deleted(client: TestClient) -> None:
    client.post(M, json={"name": "m"})
    for _ in range(2):
        register(client, "m", trained(client)["artifact"]).raise_for_status()
    client.put(f"{M}/m/aliases/production", json={"version": 2}).raise_for_status()
    body = problem(client.delete(f"{M}/m/versions/2"), 409)
    assert body["aliases"] == ["production"]
    client.delete(f"{M}/m/aliases/production").raise_for_status()
    assert client.delete(f"{M}/m/versions/2").status_code == 204
    # A number is never given twice.
    again = register(client, "m", trained(client)["artifact"])
    assert again.json()["version"] == 3
    # An artifact registered as a version is not deleted from under it.
    artifact = again.json()["artifact"]["id"]
    assert client.delete(f"{API}/artifacts/{artifact}").status_code == 409
    assert client.delete(f"{M}/m").status_code == 204
    assert client.get(f"{M}/m").status_code == 404
    assert client.get(f"{API}/artifacts/{artifact}").status_code == 200


# ---------------------------------------------------------------- protected aliases


def test_only_a_deployer_or_an_admin_moves_a_protected_alias(secured: TestClient) -> None:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    writer, deployer, reader = (role_headers(secured, r) for r in ("writer", "deployer", "reader"))
    secured.headers.update(writer)
    secured.post(M, json={"name": "m"}).raise_for_status()
    for _ in range(3):
        register(secured, "m", trained(secured)["artifact"]).raise_for_status()
    url = f"{M}/m/aliases/production"
    set_first = secured.put(url, json={"version": 1, "reason": "first"})
    assert set_first.status_code == 200  # not protected yet
    problem(secured.put(f"{url}/protection", json={"protected": True}), 403)
    guard = {"protected": True, "reason": "guarded"}
    r = secured.put(f"{url}/protection", json=guard, headers=deployer)
    assert r.status_code == 200 and r.json()["protected"] is True
    # Where it points, when, by whom and why stay the set's; the protection is in its history.
    shown = secured.get(url).json()
    assert (shown["updatedBy"]["name"], shown["reason"]) == ("writer", "first")
    assert shown["updateTime"] == set_first.json()["updateTime"]
    refused = problem(secured.put(url, json={"version": 2, "reason": "try"}), 403)
    assert "deployer" in refused["detail"]
    problem(secured.delete(url), 403)
    problem(secured.delete(f"{M}/m"), 403)
    problem(secured.put(url, json={"version": 2}, headers=reader), 403)
    assert secured.get(url).json()["version"] == 1
    moved = secured.put(url, json={"version": 2, "reason": "release"}, headers=deployer)
    assert moved.status_code == 200 and moved.json()["updatedBy"]["name"] == "deployer"
    assert secured.put(url, json={"version": 3}, headers=admin).status_code == 200
    # Other aliases of the model stay the writers'.
    assert secured.put(f"{M}/m/aliases/staging", json={"version": 3}).status_code == 200
    history = secured.get(f"{M}/m/history", params={"alias": "production"}).json()
    assert [(h["action"], h["actor"]["name"] if h["actor"] else None) for h in history] == [
        ("move", "admin (configured)"),
        ("move", "deployer"),
        ("protect", "deployer"),
        ("set", "writer"),
    ]
    # Removed, a protected alias keeps its protection for when it is set again.
    secured.delete(url, headers=deployer).raise_for_status()
    problem(secured.put(url, json={"version": 1}), 403)
    assert secured.get(f"{M}/m").json()["protectedAliases"] == ["production"]


# ---------------------------------------------------------------- events


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []

    def enrich(self, entity: str, action: str, data: Any) -> Any:
        return data

    def stored(self, entity: str, action: str, result: Any) -> None:
        self.events.append((entity, action, result))

    def listens(self, hook: str) -> bool:
        return True


def test_plugins_hear_of_versions_and_alias_moves(metadata: Metadata) -> None:
    recorder = Recorder()
    metadata.hooks = recorder
    try:
        with TestClient(create_app(metadata)) as c:
            c.post(M, json={"name": "m"})
            register(c, "m", trained(c)["artifact"]).raise_for_status()
            register(c, "m", trained(c)["artifact"]).raise_for_status()
            c.put(f"{M}/m/aliases/production", json={"version": 1, "reason": "go"})
            c.put(f"{M}/m/aliases/production", json={"version": 2})
            c.put(f"{M}/m/aliases/production", json={"version": 2})  # no change: no event
            c.put(f"{M}/m/aliases/production", json={"version": 9})  # refused: no event
            c.delete(f"{M}/m/aliases/production")
    finally:
        metadata.hooks = NoHooks()
    registry_events = [
        (e, a, getattr(r, "to_version", getattr(r, "version", None)))
        for e, a, r in recorder.events
        if e in ("registered_model", "model_version", "model_alias")
    ]
    assert registry_events == [
        ("registered_model", "create", None),
        ("model_version", "create", 1),
        ("model_version", "create", 2),
        ("model_alias", "set", 1),
        ("model_alias", "move", 2),
        ("model_alias", "remove", None),
    ]
    moved = [r for e, a, r in recorder.events if a == "move"][0]
    assert moved.from_version == 1 and moved.model == "m" and moved.alias == "production"


def test_any_unicode_name_is_served_and_located(client: TestClient) -> None:
    name = "Ziffern-Klassifikator ✓ 数字"
    created = client.post(M, json={"name": name})
    assert created.status_code == 201
    assert client.get(created.headers["location"]).json()["name"] == name
    r = register(client, name, trained(client)["artifact"])
    assert client.get(r.headers["location"]).json()["version"] == 1
    found = client.get(f"{M}/resolve", params={"uri": f"models:/{name}/1"}).json()
    assert found["model"] == name


def test_an_artifact_names_the_versions_it_is_registered_as(client: TestClient) -> None:
    made = [trained(client, accuracy=0.9), trained(client)]
    for model in ("digits-classifier", "archive"):
        for m in made:
            assert register(client, model, m["artifact"], createModel=True).status_code == 201
    for alias in ("production", "champion"):
        client.put(f"{M}/digits-classifier/aliases/{alias}", json={"version": 2})
    client.put(f"{M}/digits-classifier/aliases/staging", json={"version": 1})

    def versions(artifact: dict[str, Any], **params: Any) -> Any:
        answer = client.get(f"{API}/artifacts/{artifact['id']}/versions", params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    found = versions(made[1]["artifact"])
    assert [(v["model"], v["version"], sorted(v["aliases"])) for v in found] == [
        ("archive", 2, []),
        ("digits-classifier", 2, ["champion", "production"]),
    ]
    assert found[1] == {
        **client.get(f"{M}/digits-classifier/versions/2").json(),
        "metrics": None,
    }
    with_metrics = versions(made[0]["artifact"], metrics=True)
    assert [(v["model"], v["version"], v["aliases"]) for v in with_metrics] == [
        ("archive", 1, []),
        ("digits-classifier", 1, ["staging"]),
    ]
    assert with_metrics[0]["metrics"] == {"accuracy": 0.9}
    # An artifact registered nowhere is in no model; one that is not there is a 404.
    data = client.post(f"{API}/artifacts", json={"name": "d", "kind": "dataset"}).json()
    assert versions(data) == []
    gone = problem(client.get(f"{API}/artifacts/{uuid.uuid4()}/versions"), 404)
    assert "artifact" in gone["detail"]


def test_an_alias_has_at_most_mlflows_255_characters(client: TestClient) -> None:
    """An alias is held to MLflow's bound (255), through this API and MLflow's, so that each
    alias set in one can be set in the other; a longer one is refused naming it, nothing set."""
    client.post(M, json={"name": "m"})
    register(client, "m", trained(client)["artifact"]).raise_for_status()
    longest, over = "a" * 255, "b" * 256
    client.put(f"{M}/m/aliases/{longest}", json={"version": 1}).raise_for_status()
    resolved = client.get(f"{M}/resolve", params={"uri": f"models:/m@{longest}"})
    assert resolved.json()["version"] == 1, resolved.text
    body = problem(client.put(f"{M}/m/aliases/{over}", json={"version": 1}), 422)
    assert "1 to 255 characters" in body["errors"][0]["detail"], body
    refused = client.get(f"{M}/resolve", params={"uri": f"models:/m@{over}"})
    assert "1 to 255 characters" in problem(refused, 422)["detail"]
    mlflow = "/api/2.0/mlflow/registered-models/alias"
    client.post(mlflow, json={"name": "m", "alias": "c" * 255, "version": "1"}).raise_for_status()
    answer = client.post(mlflow, json={"name": "m", "alias": "d" * 256, "version": "1"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "255" in answer.json()["message"]
    assert sorted(a["alias"] for a in client.get(f"{M}/m/aliases").json()) == [
        longest,
        "c" * 255,
    ]
