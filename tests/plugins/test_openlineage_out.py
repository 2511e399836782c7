"""The openlineage plugin in-process, on both databases: what it sends, that the events are
valid OpenLineage, that a slow or dead endpoint costs no write, and the flush at stop."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from tests.plugins.openlineage_receiver import Receiver, facets_of, validate

from modeltrail.integrations.openlineage import emitter as emitter_module
from modeltrail.integrations.openlineage.events import EventBuilder, Settings
from modeltrail.integrations.openlineage.outgoing_jobs import _web_repository
from modeltrail.plugins.manager import PluginManager
from modeltrail.server.app import create_app
from modeltrail.services.metadata import Metadata, NoHooks
from modeltrail.store.tables import ArtifactRow

API = "/api/v1"
KEY = "ol-key-" + "x" * 24


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _plugin(metadata: Metadata, **settings: str) -> PluginManager:
    hooks = PluginManager(["openlineage"], {"openlineage": settings})
    metadata.hooks = hooks
    hooks.start(metadata)
    return hooks


@pytest.fixture
def emitting(metadata: Metadata, receiver: Receiver) -> Iterator[tuple[TestClient, PluginManager]]:
    hooks = _plugin(metadata, url=receiver.url, api_key=KEY, backoff="0.05")
    try:
        with TestClient(create_app(metadata)) as client:
            yield client, hooks
    finally:
        receiver.release.set()
        hooks.stop()
        metadata.hooks = NoHooks()  # the PostgreSQL store is shared by the session


def _post(client: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{API}/{path}", json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _patch(client: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.patch(f"{API}/{path}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _by_run(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if "run" in event:
            out.setdefault(event["run"]["runId"], []).append(event)
    return out


def test_runs_and_steps_become_valid_openlineage_events(
    emitting: tuple[TestClient, PluginManager], receiver: Receiver
) -> None:
    client, hooks = emitting
    experiment = _post(client, "experiments", {"name": "vision"})["id"]
    prepare_code = _post(
        client,
        "executables",
        {
            "name": "prepare.py",
            "version": "3f2a",
            "uri": "src/prepare.py",
            "description": "Scales the pixels.",
            "annotations": {
                "git.url": "https://ci:hunter2@github.com/acme/vision.git",
                "git.commit": "0123abcd",
                "source": "print('prepare')",
            },
        },
    )["id"]
    train_code = _post(
        client, "executables", {"name": "train", "annotations": {"path": "/srv/train.py"}}
    )["id"]
    pipeline = _post(
        client, "pipelines", {"name": "digits", "executables": [prepare_code, train_code]}
    )["id"]
    trigger = _post(
        client,
        "artifacts",
        {
            "name": "nightly",
            "kind": "event",
            "attributes": {"cause": "schedule", "nominalStartTime": "2024-05-01T02:00:00Z"},
        },
    )["id"]
    raw = _post(
        client, "artifacts", {"name": "raw", "kind": "dataset", "uri": "s3://lake/raw/digits.csv"}
    )["id"]
    features = _post(client, "artifacts", {"name": "features", "kind": "dataset"})["id"]
    model = _post(
        client,
        "artifacts",
        {
            "name": "digits-mlp",
            "kind": "model",
            "version": "7",
            "attributes": {
                "type": "MLP",
                "framework": {"name": "scikit-learn", "version": "1.5"},
                "hyperParameters": {"learning-rate": 0.01},
            },
        },
    )["id"]
    accuracy = _post(
        client,
        "artifacts",
        {
            "name": "accuracy",
            "kind": "metrics",
            "attributes": {"reference": model, "value": 0.93, "schema": "number"},
        },
    )["id"]
    run = _post(
        client,
        "runs",
        {
            "experiment": experiment,
            "name": "nightly-1",
            "pipeline": pipeline,
            "event": trigger,
            "createTime": "2024-05-01T02:00:05Z",
        },
    )
    prepare = _post(
        client,
        "executions",
        {
            "run": run["id"],
            "executable": prepare_code,
            "name": "prepare",
            "kind": "preprocess",
            "inputArtifacts": [raw],
            "startTime": "2024-05-01T02:01:00Z",
        },
    )
    _patch(
        client,
        f"executions/{prepare['id']}",
        {"outputArtifacts": [features], "status": "SUCCESS", "endTime": "2024-05-01T02:02:00Z"},
    )
    train = _post(
        client,
        "executions",
        {
            "run": run["id"],
            "executable": train_code,
            "name": "train",
            "kind": "train",
            "inputArtifacts": [features],
            "outputArtifacts": [model, accuracy],
        },
    )
    _post(
        client,
        f"runs/{run['id']}/metrics",
        {
            "points": [
                {"key": "loss", "value": v, "step": i, "execution": train["id"]}
                for i, v in enumerate([0.9, 0.4, 0.2])
            ]
        },
    )
    _post(client, "models", {"name": "digits"})
    _post(client, "models/digits/versions", {"artifact": model})
    failure = {"error.message": "out of memory", "error.traceback": "Traceback ...\nMemoryError"}
    _patch(
        client,
        f"executions/{train['id']}",
        {"status": "FAILED", "endTime": "2024-05-01T02:09:00Z", "annotations": failure},
    )
    _patch(
        client,
        f"runs/{run['id']}",
        {"status": "FAILED", "endTime": "2024-05-01T02:10:00Z", "annotations": failure},
    )
    aborted = _post(
        client,
        "runs",
        {
            "experiment": experiment,
            "name": "stopped",
            "annotations": {"openlineage.aborted": "true"},
        },
    )
    _patch(client, f"runs/{aborted['id']}", {"status": "FAILED"})

    events = receiver.wait_for(9)
    time.sleep(0.3)
    assert len(receiver.events) == 9  # nothing twice: 8 run events, the version's dataset
    for event in events:
        validate(event)
    assert set(receiver.authorization) == {f"Bearer {KEY}"}

    runs = _by_run(events)
    assert [e["eventType"] for e in runs[run["id"]]] == ["START", "FAIL"]
    assert [e["eventType"] for e in runs[prepare["id"]]] == ["START", "COMPLETE"]
    assert [e["eventType"] for e in runs[train["id"]]] == ["START", "FAIL"]
    assert [e["eventType"] for e in runs[aborted["id"]]] == ["START", "ABORT"]

    start, end = runs[run["id"]]
    assert start["job"]["namespace"] == "vision" and start["job"]["name"] == "digits"
    assert start["eventTime"].startswith("2024-05-01T02:00:05")
    assert end["eventTime"].startswith("2024-05-01T02:10:00")
    assert start.get("inputs", []) == [] and start.get("outputs", []) == []
    trigger_facet = start["run"]["facets"]["modeltrail_trigger"]
    assert trigger_facet["cause"] == "schedule" and trigger_facet["id"] == trigger
    assert start["run"]["facets"]["nominalTime"]["nominalStartTime"] == "2024-05-01T02:00:00Z"
    assert end["run"]["facets"]["errorMessage"]["message"] == "out of memory"
    run_metrics = end["run"]["facets"]["modeltrail_metrics"]
    assert run_metrics["series"] == [
        {"key": "loss", "latest": 0.2, "latestStep": 2, "min": 0.2, "max": 0.9, "count": 3}
    ]
    assert [a["name"] for a in run_metrics["artifacts"]] == ["accuracy"]

    p_start, p_end = runs[prepare["id"]]
    assert p_start["job"] == p_end["job"]
    job = p_end["job"]
    assert (job["namespace"], job["name"]) == ("vision", "prepare.py")
    assert job["facets"]["jobType"]["jobType"] == "preprocess"
    location = job["facets"]["sourceCodeLocation"]
    assert location["url"] == "https://github.com/acme/vision/blob/0123abcd/src/prepare.py"
    assert location["repoUrl"] == "https://github.com/acme/vision.git"  # no credentials
    assert location["type"] == "git" and location["version"] == "0123abcd"
    assert job["facets"]["sourceCode"] == {
        **job["facets"]["sourceCode"],
        "language": "python",
        "sourceCode": "print('prepare')",
    }
    assert job["facets"]["documentation"]["description"] == "Scales the pixels."
    parent = p_start["run"]["facets"]["parent"]
    assert parent["run"]["runId"] == run["id"] == parent["root"]["run"]["runId"]
    assert (parent["job"]["namespace"], parent["job"]["name"]) == ("vision", "digits")
    assert [(d["namespace"], d["name"]) for d in p_start["inputs"]] == [
        ("s3://lake", "raw/digits.csv")
    ]
    assert p_start.get("outputs", []) == []
    assert [(d["namespace"], d["name"]) for d in p_end["outputs"]] == [
        ("modeltrail://dataset", "features")
    ]
    assert p_end["outputs"][0]["facets"]["version"]["datasetVersion"] == "1"

    t_end = runs[train["id"]][1]
    assert t_end["job"]["facets"]["sourceCodeLocation"]["url"] == "file:///srv/train.py"
    assert t_end["run"]["facets"]["errorMessage"]["stackTrace"].endswith("MemoryError")
    model_facet = t_end["outputs"][0]["facets"]["modeltrail_model"]
    assert model_facet["framework"] == {"name": "scikit-learn", "version": "1.5"}
    assert model_facet["registeredVersions"] == [{"model": "digits", "version": 1, "aliases": []}]
    assert t_end["outputs"][0]["facets"]["version"]["datasetVersion"] == "7"
    step_metrics = t_end["run"]["facets"]["modeltrail_metrics"]
    assert step_metrics["series"][0]["key"] == "loss"
    assert step_metrics["artifacts"] == [
        {
            "id": accuracy,
            "name": "accuracy",
            "kind": "metrics",
            "value": 0.93,
            "schema": "number",
            "measures": model,
        }
    ]

    status = client.get(f"{API}/plugins").json()["items"][0]
    assert status["name"] == "openlineage" and status["errors"] == 0
    assert status["status"]["sent"] == 9 and status["status"]["queued"] == 0
    assert KEY not in str(status)


def test_registry_changes_become_dataset_events(
    emitting: tuple[TestClient, PluginManager], receiver: Receiver
) -> None:
    """A version registered and an alias set, moved and removed each send a DatasetEvent of
    the models they change, named as a step's events name them, whose ``modeltrail_model``
    facet says the versions and aliases they have then; no run is made up for them."""
    client, _ = emitting
    one, two = (
        _post(client, "artifacts", {"name": "digits-mlp", "kind": "model", "uri": f"s3://m/{n}"})[
            "id"
        ]
        for n in (1, 2)
    )
    _post(client, "models", {"name": "digits"})

    def registered(event: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        validate(event)
        assert "run" not in event and "job" not in event
        facet = event["dataset"]["facets"]["modeltrail_model"]
        assert facet["id"] == {"1": one, "2": two}[event["dataset"]["name"]]
        assert event["dataset"]["namespace"] == "s3://m"
        return event["dataset"]["name"], facet["registeredVersions"]

    def said(change: Any, count: int) -> list[tuple[str, list[dict[str, Any]]]]:
        """The events of ``change``, once they arrived (each change's events are read before
        the next change, so each says what that change left)."""
        before = len(receiver.events)
        assert change().is_success
        return [registered(e) for e in receiver.wait_for(before + count)[before:]]

    def version(n: int, aliases: list[str]) -> list[dict[str, Any]]:
        return [{"model": "digits", "version": n, "aliases": aliases}]

    def register(artifact: str) -> Any:
        return client.post(f"{API}/models/digits/versions", json={"artifact": artifact})

    def champion(n: int) -> Any:
        return client.put(f"{API}/models/digits/aliases/champion", json={"version": n})

    assert said(lambda: register(one), 1) == [("1", version(1, []))]
    assert said(lambda: register(two), 1) == [("2", version(2, []))]
    assert said(lambda: champion(1), 1) == [("1", version(1, ["champion"]))]
    assert said(lambda: champion(2), 2) == [
        ("1", version(1, [])),
        ("2", version(2, ["champion"])),
    ]
    removed = said(lambda: client.delete(f"{API}/models/digits/aliases/champion"), 1)
    assert removed == [("2", version(2, []))]
    time.sleep(0.3)
    assert len(receiver.events) == 6  # nothing more, nothing twice
    status = client.get(f"{API}/plugins").json()["items"][0]["status"]
    assert status["lastDelivery"]["eventType"] == "DATASET"
    assert status["lastDelivery"]["dataset"] == "s3://m/2"

    # A version deleted: its model is registered as nothing now, and says so.
    assert said(lambda: client.delete(f"{API}/models/digits/versions/2"), 1) == [("2", [])]
    # A whole model deleted: each of its versions' models, as the registry is without it.
    _post(client, "models", {"name": "other"})
    assert said(lambda: register(two), 1) == [("2", version(3, []))]
    other = client.post(f"{API}/models/other/versions", json={"artifact": two})
    assert other.status_code == 201, other.text
    receiver.wait_for(len(receiver.events) + 1)
    assert said(lambda: client.delete(f"{API}/models/digits"), 2) == [
        ("1", []),
        ("2", [{"model": "other", "version": 1, "aliases": []}]),
    ]


def test_a_steps_event_lists_a_model_registered_as_nothing(
    emitting: tuple[TestClient, PluginManager], receiver: Receiver
) -> None:
    """A step's event sent after its model's last version was deleted lists no versions,
    explicitly: a receiver keeps the newest list whole, and an absent one would leave the
    deleted version there for good."""
    client, _ = emitting
    experiment = _post(client, "experiments", {"name": "vision"})["id"]
    code = _post(client, "executables", {"name": "train.py"})["id"]
    model = _post(client, "artifacts", {"name": "digits-mlp", "kind": "model"})["id"]
    run = _post(client, "runs", {"experiment": experiment, "name": "nightly"})
    step = {"run": run["id"], "executable": code, "name": "train", "kind": "train"}
    train = _post(client, "executions", {**step, "outputArtifacts": [model]})
    _post(client, "models", {"name": "digits"})
    _post(client, "models/digits/versions", {"artifact": model})
    # The version's own event says what the store holds when the plugin's worker builds it:
    # sent after the delete, it would list no version either.
    receiver.wait_until(lambda events: any("dataset" in e for e in events), "the version's event")
    assert client.delete(f"{API}/models/digits/versions/1").status_code == 204
    _patch(client, f"executions/{train['id']}", {"status": "SUCCESS"})
    events = receiver.wait_for(5)
    for event in events:
        validate(event)
    start, end = _by_run(events)[train["id"]]
    assert end["eventType"] == "COMPLETE"
    assert end["outputs"][0]["facets"]["modeltrail_model"]["registeredVersions"] == []
    registered = [e for e in events if "dataset" in e]
    assert [
        e["dataset"]["facets"]["modeltrail_model"]["registeredVersions"] for e in registered
    ] == [
        [{"model": "digits", "version": 1, "aliases": []}],
        [],
    ]


def test_a_broken_custom_facet_is_caught_by_its_schema(
    emitting: tuple[TestClient, PluginManager], receiver: Receiver
) -> None:
    """The schema check of the tests is not vacuous: a trigger facet without its id fails."""
    client, _ = emitting
    experiment = _post(client, "experiments", {"name": "e"})["id"]
    trigger = _post(client, "artifacts", {"name": "push", "kind": "event"})["id"]
    _post(client, "runs", {"experiment": experiment, "name": "r", "event": trigger})
    [event] = receiver.wait_for(1)
    validate(event)
    del event["run"]["facets"]["modeltrail_trigger"]["id"]
    with pytest.raises(Exception, match="'id' is a required property"):
        validate(event)
    event["run"]["facets"]["modeltrail_trigger"]["id"] = trigger
    del event["run"]["facets"]["modeltrail_trigger"]["_producer"]
    with pytest.raises(Exception, match="not valid under any of the given schemas"):
        validate(event)
    assert len(list(facets_of(event))) >= 2


@pytest.mark.parametrize("endpoint", ["dead", "slow"])
def test_a_dead_or_slow_endpoint_costs_no_write(
    metadata: Metadata, endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    slow = Receiver()
    slow.release.clear()  # holds every request: a receiver that never answers in time
    url = "http://127.0.0.1:9" if endpoint == "dead" else slow.url
    hooks = _plugin(
        metadata, url=url, api_key=KEY, timeout="3", backoff="0.05", retries="2", queue_size="5"
    )
    try:
        with TestClient(create_app(metadata)) as client, caplog.at_level(logging.WARNING):
            experiment = _post(client, "experiments", {"name": "e"})["id"]
            took = []
            for i in range(20):
                t0 = time.perf_counter()
                made = _post(client, "runs", {"experiment": experiment, "name": f"r{i}"})
                _patch(client, f"runs/{made['id']}", {"status": "SUCCESS"})
                took.append(time.perf_counter() - t0)
            # Each write is as quick as without the plugin: a write that waited for a send to
            # the slow endpoint would take its whole timeout (3 s). The margin is for a loaded
            # machine, where one write of twenty took 1.5 s without any send in its way.
            assert max(took) < 2.5, took
            status = client.get(f"{API}/plugins").json()["items"][0]["status"]
            assert status["dropped"] > 0 and status["queued"] <= 5 + 1  # and the one in hand
            assert client.get(f"{API}/runs", params={"limit": 100}).json()["items"].__len__() == 20
    finally:
        slow.release.set()
        t0 = time.perf_counter()
        hooks.stop()
        stopped = time.perf_counter() - t0
        metadata.hooks = NoHooks()
        slow.close()
    assert stopped < 10 + 3 + 5  # the flush deadline, one send's timeout, the join margin
    assert any("queue is full" in r.getMessage() for r in caplog.records)
    assert all(KEY not in r.getMessage() for r in caplog.records)


def test_the_queue_is_flushed_at_stop(metadata: Metadata, receiver: Receiver) -> None:
    receiver.release.clear()
    hooks = _plugin(metadata, url=receiver.url, flush_timeout="20")
    try:
        with TestClient(create_app(metadata)) as client:
            experiment = _post(client, "experiments", {"name": "e"})["id"]
            for i in range(5):
                _post(client, "runs", {"experiment": experiment, "name": f"r{i}"})
            assert receiver.events == []
    finally:
        receiver.release.set()
        hooks.stop()
        metadata.hooks = NoHooks()
    assert sorted(e["job"]["name"] for e in receiver.events) == ["e"] * 5


def test_a_failed_send_is_retried(metadata: Metadata) -> None:
    receiver = Receiver()
    hooks = _plugin(metadata, url=receiver.url, backoff="0.2", retries="5")
    real = hooks.states["openlineage"].plugin.transport
    calls = []

    class Flaky:
        def emit(self, event: Any) -> Any:
            calls.append(time.monotonic())
            if len(calls) < 3:
                raise ConnectionError("refused")
            return real.emit(event)

        def close(self) -> bool:
            return bool(real.close())

    hooks.states["openlineage"].plugin.transport = Flaky()
    try:
        with TestClient(create_app(metadata)) as client:
            experiment = _post(client, "experiments", {"name": "e"})["id"]
            _post(client, "runs", {"experiment": experiment, "name": "r"})
            [event] = receiver.wait_for(1)
            status = client.get(f"{API}/plugins").json()["items"][0]["status"]
    finally:
        hooks.stop()
        metadata.hooks = NoHooks()
        receiver.close()
    assert event["eventType"] == "START" and len(calls) == 3
    assert calls[2] - calls[1] >= calls[1] - calls[0] >= 0.15  # backoff, growing
    assert status["retried"] == 2 and status["sent"] == 1 and status["failed"] == 0


def test_a_plugin_without_url_says_so(metadata: Metadata) -> None:
    hooks = PluginManager(["openlineage"], {"openlineage": {}})
    hooks.start(metadata)
    state = hooks.states["openlineage"]
    assert state.errors == 1 and "needs the setting url" in state.last_error["error"]
    hooks.stop()


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/a/b.parquet", ("s3://bucket", "a/b.parquet")),
        ("postgres://db:5432/shop.public.orders", ("postgres://db:5432", "shop.public.orders")),
        ("file:///data/x.csv", ("file", "/data/x.csv")),
        ("models:/digits/3", ("models", "/digits/3")),
        ("relative/path.csv", ("modeltrail://dataset", "raw")),
        (None, ("modeltrail://dataset", "raw")),
    ],
)
def test_dataset_names_follow_openlineage_naming(
    uri: str | None, expected: tuple[str, str]
) -> None:
    row = ArtifactRow(name="raw", kind="dataset", uri=uri, attributes={}, annotations={})
    assert EventBuilder(Settings()).dataset_name(row) == expected


def test_repository_addresses() -> None:
    assert _web_repository("git@github.com:acme/vision.git") == "https://github.com/acme/vision"
    assert _web_repository("https://t:x@gitlab.com/a/b.git") == "https://gitlab.com/a/b"
    assert _web_repository("/srv/repo") is None
    assert emitter_module.plugin is emitter_module.OpenLineageEmitter


def test_any_transport_of_the_client_can_be_configured(metadata: Metadata, tmp_path: Any) -> None:
    path = tmp_path / "events.jsonl"
    config = {"type": "file", "log_file_path": str(path), "append": True}
    hooks = _plugin(metadata, transport=json.dumps(config))
    try:
        with TestClient(create_app(metadata)) as client:
            experiment = _post(client, "experiments", {"name": "e"})["id"]
            run = _post(client, "runs", {"experiment": experiment, "name": "r"})
            _patch(client, f"runs/{run['id']}", {"status": "SUCCESS"})
    finally:
        hooks.stop()  # sends what is queued
        metadata.hooks = NoHooks()
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for event in events:
        validate(event)
