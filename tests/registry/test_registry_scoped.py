"""The model registry for tokens with grants on single experiments, through the HTTP API with
real tokens, on SQLite and PostgreSQL.

Experiments A and B each ran steps that wrote models. Model ``shared`` has versions of both
(1 and 3 of A, 2 of B); ``b-only`` has B's only. Aliases: ``champion`` on 1 (A's),
``production`` and ``staging`` on 2 (B's). The tokens hold grants on A only: B's versions
must be absent for them (404 by name, left out of lists, counts and histories), and they
change only what A's runs made.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from modeltrail.domain.scope import Scope
from modeltrail.server.app import create_app
from modeltrail.server.auth import AuthSettings
from modeltrail.services.metadata import Metadata
from modeltrail.services.registry import Registry

API = "/api/v1"
M = f"{API}/models"
ADMIN = "admin-" + uuid.uuid4().hex
SECRET = "secret-of-b"  # in the names of B's runs and models


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    c: TestClient
    exp: dict[str, str]  # experiment ids of "a" and "b"
    models: dict[str, list[str]]  # model artifact ids of "a" and "b"
    admin: dict[str, str]
    writer: dict[str, str]  # writer on A only
    reader: dict[str, str]  # reader on A only

    def trained(self, tag: str, headers: dict[str, str] | None = None) -> str:
        """Another model artifact written by a step of a run of experiment ``tag``."""
        # Executables belong to no experiment: the admin's.
        exe = _post(self.c, self.admin, "executables", {"name": "train.py"})["id"]
        return _trained(self.c, headers or self.admin, self.exp[tag], tag, exe)

    def get(self, path: str, headers: dict[str, str], **params: Any) -> Any:
        r = self.c.get(path, params=params, headers=headers)
        assert SECRET not in r.text, (path, r.text)
        return r


def _post(c: TestClient, headers: dict[str, str], path: str, body: dict[str, Any]) -> Any:
    r = c.post(f"{API}/{path}", json=body, headers=headers)
    assert r.status_code in (200, 201), r.text
    return r.json()


def _trained(c: TestClient, headers: dict[str, str], experiment: str, tag: str, exe: str) -> str:
    name = "clf" if tag == "a" else f"clf-{SECRET}"
    run = _post(c, headers, "runs", {"experiment": experiment, "name": f"run-{tag}"})
    model = _post(c, headers, "artifacts", {"name": name, "kind": "model"})
    _post(
        c,
        headers,
        "executions",
        {
            "run": run["id"],
            "executable": exe,
            "name": "train",
            "kind": "train",
            "outputArtifacts": [model["id"]],
        },
    )
    return str(model["id"])


@pytest.fixture
def world(metadata: Metadata) -> Iterator[World]:
    app = create_app(metadata, auth_settings=AuthSettings(enabled=True, admin_token=ADMIN))
    with TestClient(app, base_url="http://testserver") as c:
        admin = bearer(ADMIN)
        exp = {t: _post(c, admin, "experiments", {"name": f"exp-{t}"})["id"] for t in "ab"}
        exe = _post(c, admin, "executables", {"name": "train.py"})["id"]
        a1, b1, a2, b2 = (_trained(c, admin, exp[t], t, exe) for t in "abab")
        for model, artifact in (("shared", a1), ("shared", b1), ("shared", a2), ("b-only", b2)):
            r = c.post(
                f"{M}/{model}/versions",
                json={"artifact": artifact},
                params={"createModel": True},
                headers=admin,
            )
            assert r.status_code == 201, r.text
        for alias, version in (("champion", 1), ("production", 2), ("staging", 2)):
            r = c.put(f"{M}/shared/aliases/{alias}", json={"version": version}, headers=admin)
            assert r.status_code == 200, r.text

        def token(role: str) -> dict[str, str]:
            body = {"name": f"a-{role}", "experiments": {exp["a"]: role}}
            return bearer(_post(c, admin, "tokens", body)["token"])

        yield World(c, exp, {"a": [a1, a2], "b": [b1, b2]}, admin, token("writer"), token("reader"))


def _status(response: Any, status: int, pointer: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    if status >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert SECRET not in response.text
    if pointer is not None:
        assert any(e["pointer"] == pointer for e in body["errors"]), body
    return body


def test_a_scoped_token_sees_only_the_versions_of_its_experiments(world: World) -> None:
    w = world
    for token in (w.reader, w.writer):
        models = w.get(M, token).json()["items"]
        assert [m["name"] for m in models] == ["shared"]
        shared = w.get(f"{M}/shared", token).json()
        assert models[0] == shared
        assert (shared["versions"], shared["latestVersion"]) == (2, 3)
        assert shared["aliases"] == {"champion": 1}
        _status(w.get(f"{M}/b-only", token), 404)
        _status(w.get(f"{M}/b-only/versions", token), 404)

        page = w.get(f"{M}/shared/versions", token).json()
        assert [v["version"] for v in page["items"]] == [3, 1]
        assert page["items"][1]["aliases"] == ["champion"]
        # Pages count what it may read: one at a time, two pages, then none.
        first = w.get(f"{M}/shared/versions", token, limit=1).json()
        assert [v["version"] for v in first["items"]] == [3] and first["nextCursor"] == "3"
        rest = w.get(f"{M}/shared/versions", token, limit=1, cursor="3").json()
        assert [v["version"] for v in rest["items"]] == [1] and rest["nextCursor"] is None

        assert w.get(f"{M}/shared/versions/1", token).json()["artifact"]["id"] == w.models["a"][0]
        assert w.get(f"{M}/shared/versions/latest", token).json()["version"] == 3
        _status(w.get(f"{M}/shared/versions/2", token), 404)

        def resolve(uri: str, token: dict[str, str] = token) -> Any:
            return w.get(f"{M}/resolve", token, uri=uri)

        assert resolve("models:/shared@champion").json()["version"] == 1
        assert resolve("models:/shared").json()["version"] == 3
        for uri in ("models:/shared@production", "models:/shared/2", "models:/b-only"):
            _status(resolve(uri), 404)

        aliases = w.get(f"{M}/shared/aliases", token).json()
        assert [a["alias"] for a in aliases] == ["champion"]
        assert w.get(f"{M}/shared/aliases/champion", token).json()["version"] == 1
        _status(w.get(f"{M}/shared/aliases/production", token), 404)
        history = w.get(f"{M}/shared/history", token).json()
        assert [(e["alias"], e["toVersion"]) for e in history] == [("champion", 1)]

    # A token with a global role sees everything, as before.
    shared = w.c.get(f"{M}/shared", headers=w.admin).json()
    assert (shared["versions"], len(shared["aliases"])) == (3, 3)
    assert len(w.c.get(f"{M}/shared/history", headers=w.admin).json()) == 3
    assert len(w.c.get(M, headers=w.admin).json()["items"]) == 2


def test_an_alias_moved_from_a_version_it_cannot_read_keeps_that_version_hidden(
    world: World,
) -> None:
    w = world
    moved = w.c.put(f"{M}/shared/aliases/staging", json={"version": 3}, headers=w.admin)
    assert moved.status_code == 200
    staging = w.get(f"{M}/shared/aliases/staging", w.reader).json()
    assert staging["version"] == 3 and staging.get("previousVersion") is None
    # The move from 2 names a version it may not read: not in its history.
    history = w.get(f"{M}/shared/history", w.reader, alias="staging").json()
    assert history == []
    assert w.c.get(f"{M}/shared/aliases/staging", headers=w.admin).json()["previousVersion"] == 2


def test_a_scoped_writer_registers_the_models_of_its_own_runs_only(world: World) -> None:
    w = world
    mine = w.trained("a")  # by a step of a run of A
    r = w.c.post(f"{M}/shared/versions", json={"artifact": mine}, headers=w.writer)
    assert _status(r, 201)["version"] == 4
    r = w.c.post(
        f"{M}/of-a/versions",
        json={"artifact": mine},
        params={"createModel": True},
        headers=w.writer,
    )
    assert _status(r, 201)["version"] == 1

    theirs = w.trained("b")
    for model, query in (("shared", {}), ("new-model", {"createModel": True})):
        r = w.c.post(
            f"{M}/{model}/versions", json={"artifact": theirs}, params=query, headers=w.writer
        )
        _status(r, 403, "/artifact")
    # Nothing of the refused registrations was kept.
    assert w.c.get(f"{M}/shared", headers=w.admin).json()["versions"] == 4
    assert w.c.get(f"{M}/new-model", headers=w.admin).status_code == 404
    # A reader on A may not register, not even A's models.
    r = w.c.post(f"{M}/shared/versions", json={"artifact": w.trained("a")}, headers=w.reader)
    _status(r, 403)


def test_a_scoped_writer_moves_aliases_between_versions_it_may_write(world: World) -> None:
    w = world

    def put(alias: str, version: Any, headers: dict[str, str] | None = None) -> Any:
        return w.c.put(
            f"{M}/shared/aliases/{alias}", json={"version": version}, headers=headers or w.writer
        )

    assert _status(put("champion", 3), 200)["version"] == 3
    assert _status(put("canary", "models:/shared@champion"), 200)["version"] == 3
    # B's version is absent for it, as a version that does not exist.
    _status(put("champion", 2), 422, "/version")
    _status(put("champion", "models:/shared@production"), 422, "/version")
    # An alias that points at B's version is B's deployment: not moved, not removed.
    _status(put("production", 1), 403, "/alias")
    _status(w.c.delete(f"{M}/shared/aliases/production", headers=w.writer), 404)
    assert w.c.get(f"{M}/shared/aliases/production", headers=w.admin).json()["version"] == 2
    assert _status(w.c.delete(f"{M}/shared/aliases/canary", headers=w.writer), 200)
    # A protected alias needs a deployer, whatever the versions.
    w.c.put(f"{M}/shared/aliases/champion/protection", json={"protected": True}, headers=w.admin)
    _status(put("champion", 1), 403, "/alias")
    # A reader on A moves nothing.
    _status(put("canary", 1, w.reader), 403)
    history = w.c.get(f"{M}/shared/history", headers=w.admin).json()
    assert [(e["alias"], e["action"]) for e in history][:4] == [
        ("champion", "protect"),
        ("canary", "remove"),
        ("canary", "set"),
        ("champion", "move"),
    ]


def test_a_scoped_writer_changes_only_versions_it_may_write(world: World) -> None:
    w = world
    tag = {"value": "yes"}
    r = w.c.put(f"{M}/shared/versions/1/tags/checked", json=tag, headers=w.writer)
    assert _status(r, 200)["tags"] == {"checked": "yes"}
    r = w.c.patch(f"{M}/shared/versions/3", json={"description": "d"}, headers=w.writer)
    assert _status(r, 200)["description"] == "d"
    for r in (
        w.c.put(f"{M}/shared/versions/2/tags/checked", json=tag, headers=w.writer),
        w.c.delete(f"{M}/shared/versions/2/tags/checked", headers=w.writer),
        w.c.patch(f"{M}/shared/versions/2", json={"description": "x"}, headers=w.writer),
        w.c.delete(f"{M}/shared/versions/2", headers=w.writer),
        w.c.delete(f"{M}/b-only/versions/1", headers=w.writer),
    ):
        _status(r, 404)
    # A reader on A changes nothing of A's either.
    r = w.c.put(f"{M}/shared/versions/1/tags/other", json=tag, headers=w.reader)
    _status(r, 403)
    # Registered models themselves belong to no experiment: a global role changes them.
    for r in (
        w.c.post(M, json={"name": "fresh"}, headers=w.writer),
        w.c.patch(f"{M}/shared", json={"description": "x"}, headers=w.writer),
        w.c.put(f"{M}/shared/tags/k", json=tag, headers=w.writer),
        w.c.delete(f"{M}/shared/tags/k", headers=w.writer),
        w.c.delete(f"{M}/shared", headers=w.writer),
        w.c.put(f"{M}/shared/aliases/x/protection", json={"protected": True}, headers=w.writer),
    ):
        _status(r, 403)
    after = w.c.get(f"{M}/shared/versions/2", headers=w.admin).json()
    assert after["tags"] == {} and after["description"] is None
    assert w.c.get(f"{M}/shared", headers=w.admin).json()["versions"] == 3


def test_versions_of_several_models_are_those_a_scoped_request_reads(
    world: World, metadata: Metadata
) -> None:
    """The versions of several models read at once (MLflow's version search) are, for a
    request of a token with grants on A, the pages of each model's versions it reads."""
    w = world
    scoped = Registry(
        metadata.scoped(Scope(readable=frozenset({uuid.UUID(w.exp["a"])}), writable=None))
    )
    found = scoped.versions_of_models(["b-only", "shared", "nope", ""], limit=1000)
    assert [(v.model, v.version) for v in found] == [("shared", 3), ("shared", 1)]
    page = w.get(f"{M}/shared/versions", w.reader).json()["items"]
    assert [v.model_dump(mode="json", by_alias=True) for v in found] == page
    assert [v.version for v in scoped.versions_of_models(["shared"], limit=1)] == [3]
    everything = Registry(metadata).versions_of_models(["b-only", "shared"], limit=1000)
    assert [(v.model, v.version) for v in everything] == [
        ("b-only", 1),
        ("shared", 3),
        ("shared", 2),
        ("shared", 1),
    ]


def test_a_model_it_reads_no_version_of_is_absent_to_its_writes_too(world: World) -> None:
    """A change named after a model whose versions are all B's answers as for a model that
    does not exist: the answer must not tell that ``b-only`` is registered."""
    w = world

    def answers(model: str) -> list[tuple[int, str, str]]:
        tag = {"value": "yes"}
        found = []
        for r in (
            w.c.put(f"{M}/{model}/aliases/production", json={"version": 1}, headers=w.writer),
            w.c.put(f"{M}/{model}/aliases/production", json={"version": 9}, headers=w.writer),
            w.c.delete(f"{M}/{model}/aliases/production", headers=w.writer),
            w.c.patch(f"{M}/{model}/versions/1", json={"description": "x"}, headers=w.writer),
            w.c.put(f"{M}/{model}/versions/1/tags/k", json=tag, headers=w.writer),
            w.c.delete(f"{M}/{model}/versions/1/tags/k", headers=w.writer),
            w.c.delete(f"{M}/{model}/versions/1", headers=w.writer),
        ):
            body = r.json()
            found.append((r.status_code, body["type"], body["detail"].replace(model, "NAME")))
        return found

    hidden = answers("b-only")
    assert hidden == answers("never-registered")
    assert {status for status, _, _ in hidden} == {404}
    assert w.c.get(f"{M}/b-only", headers=w.admin).json()["aliases"] == {}


def test_the_versions_of_an_artifact_are_read_as_the_artifact_is(world: World) -> None:
    w = world
    for token in (w.reader, w.writer):
        mine = w.get(f"{API}/artifacts/{w.models['a'][0]}/versions", token)
        assert [(v["model"], v["version"], v["aliases"]) for v in _status(mine, 200)] == [
            ("shared", 1, ["champion"])
        ]
        # B's artifact is refused as the artifact itself is, although it is a version of a
        # model the token sees.
        theirs = w.models["b"][0]
        refused = w.get(f"{API}/artifacts/{theirs}", token).status_code
        assert refused in (403, 404)
        _status(w.get(f"{API}/artifacts/{theirs}/versions", token), refused)
    every = w.c.get(f"{API}/artifacts/{w.models['b'][0]}/versions", headers=w.admin).json()
    assert [(v["model"], v["version"]) for v in every] == [("shared", 2)]
