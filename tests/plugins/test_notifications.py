"""The notifications plugin against a real webhook receiver on loopback, on both databases."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from starlette.testclient import TestClient

from modeltrail.plugins.manager import PluginManager
from modeltrail.server.app import create_app
from modeltrail.services.metadata import Metadata, NoHooks
from modeltrail.store.tables import FlagRow

API = "/api/v1"


class Receiver:
    """A webhook endpoint that answers 500 to the first ``fail`` posts and can be held."""

    def __init__(self, fail: int = 0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.attempts = 0
        self.fail = fail
        self.release = threading.Event()
        self.release.set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.release.wait(30)
                outer.attempts += 1
                ok = outer.attempts > outer.fail
                if ok:
                    outer.bodies.append(body)
                self.send_response(200 if ok else 500)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, rule: str, count: int = 1, timeout: float = 15) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [b for b in self.bodies if b["modeltrail"]["rule"] == rule]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no {rule} notification arrived; got {self.bodies}")

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail=2)
    yield r
    r.close()


@pytest.fixture
def notified(metadata: Metadata, receiver: Receiver) -> Iterator[tuple[TestClient, PluginManager]]:
    hooks = PluginManager(
        ["notifications"],
        {
            "notifications": {
                "urls": receiver.url,
                "failures_in_a_row": "2",
                "backoff": "0.05",
                "retries": "5",
                "check_interval": "0.2",
                "timeout": "30",
                "public_url": "http://modeltrail.example",
            }
        },
    )
    metadata.hooks = hooks
    hooks.start(metadata)
    try:
        with TestClient(create_app(metadata)) as client:
            yield client, hooks
    finally:
        receiver.release.set()
        hooks.stop()
        metadata.hooks = NoHooks()  # the PostgreSQL store is shared by the session


def _post(client: TestClient, plural: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{API}/{plural}", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _run(client: TestClient, experiment: str, name: str, status: str) -> dict[str, Any]:
    run = _post(client, "runs", {"experiment": experiment, "name": name})
    response = client.patch(
        f"{API}/runs/{run['id']}", json={"status": status, "endTime": "2024-05-01T00:00:00Z"}
    )
    assert response.status_code == 200, response.text
    time.sleep(0.01)  # distinct createTimes keep the runs in order
    return response.json()


def test_runs_failures_and_flagged_deployments(
    notified: tuple[TestClient, PluginManager], receiver: Receiver, metadata: Metadata
) -> None:
    client, _ = notified
    _post(
        client,
        "kinds",
        {
            "name": "deployment",
            "schema": {
                "type": "object",
                "properties": {
                    "model": {"type": "string", "format": "uuid", "x-artifact-reference": True}
                },
            },
        },
    )
    experiment = _post(client, "experiments", {"name": "digits"})["id"]
    data = _post(client, "artifacts", {"name": "digits.csv", "kind": "dataset"})
    model = _post(client, "artifacts", {"name": "svm", "kind": "model"})
    exe = _post(client, "executables", {"name": "train"})["id"]

    good = _post(client, "runs", {"experiment": experiment, "name": "run-1"})
    _post(
        client,
        "executions",
        {
            "run": good["id"],
            "executable": exe,
            "name": "train",
            "kind": "train",
            "inputArtifacts": [data["id"]],
            "outputArtifacts": [model["id"]],
        },
    )
    deployment = _post(
        client,
        "artifacts",
        {"name": "svm@prod", "kind": "deployment", "attributes": {"model": model["id"]}},
    )
    _post(
        client,
        "executions",
        {
            "run": good["id"],
            "executable": exe,
            "name": "deploy",
            "kind": "deploy",
            "inputArtifacts": [model["id"]],
            "outputArtifacts": [deployment["id"]],
        },
    )
    client.patch(f"{API}/runs/{good['id']}", json={"status": "SUCCESS"})
    time.sleep(0.01)

    [ended] = receiver.wait_for("run-ended")
    assert (
        ended["text"]
        == f"run run-1 ended: SUCCESS http://modeltrail.example/api/v1/runs/{good['id']}"
    )
    assert ended["modeltrail"]["status"] == "SUCCESS" and ended["modeltrail"]["run"] == good["id"]
    assert receiver.attempts == 3  # two refusals, then delivered: retried with backoff

    failed = [_run(client, experiment, f"run-{i}", "FAILED") for i in (2, 3, 4)]
    receiver.wait_for("run-ended", 4)
    [alert] = receiver.wait_for("failures-in-a-row")
    assert alert["modeltrail"]["failedRuns"] == [failed[0]["id"], failed[1]["id"]]
    assert alert["text"].startswith("2 runs in a row failed since the last successful deployment")

    with metadata.session() as session:  # a flag, as PUT /artifacts/{id}/flag stores it
        session.add(FlagRow(artifact_id=uuid.UUID(data["id"]), reason="mislabelled digits"))
    [flagged] = receiver.wait_for("flagged-data-deployed")
    assert flagged["modeltrail"] == {
        "rule": "flagged-data-deployed",
        "deployment": deployment["id"],
        "flagged": data["id"],
        "reason": "mislabelled digits",
    }
    time.sleep(0.5)  # several more scans: still one notification per condition
    assert [b["modeltrail"]["rule"] for b in receiver.bodies].count("failures-in-a-row") == 1
    assert [b["modeltrail"]["rule"] for b in receiver.bodies].count("flagged-data-deployed") == 1

    [status] = client.get(f"{API}/plugins").json()["items"]
    assert status["name"] == "notifications" and status["errors"] == 0
    assert status["status"]["notifications"] == {"delivered": 6}
    assert status["status"]["lastDelivery"]["status"] == "delivered"


def test_a_stuck_receiver_never_blocks_a_write(
    notified: tuple[TestClient, PluginManager], receiver: Receiver
) -> None:
    client, hooks = notified
    receiver.fail = 0
    receiver.release.clear()  # the receiver holds every request until released
    experiment = _post(client, "experiments", {"name": "e"})["id"]
    runs = [_run(client, experiment, f"r{i}", "SUCCESS") for i in range(3)]
    assert len(runs) == 3 and receiver.bodies == []  # all written while the receiver hangs
    receiver.release.set()
    delivered = receiver.wait_for("run-ended", 3)
    assert {b["modeltrail"]["run"] for b in delivered} == {r["id"] for r in runs}


def test_unreachable_receiver_is_reported(metadata: Metadata) -> None:
    hooks = PluginManager(
        ["notifications"],
        {
            "notifications": {
                "urls": "http://127.0.0.1:9/nothing-listens",
                "backoff": "0.02",
                "retries": "2",
                "timeout": "1",
            }
        },
    )
    metadata.hooks = hooks
    hooks.start(metadata)
    try:
        with TestClient(create_app(metadata)) as client:
            experiment = _post(client, "experiments", {"name": "e"})["id"]
            _run(client, experiment, "r", "FAILED")
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                status = client.get(f"{API}/plugins").json()["items"][0]["status"]
                if status["notifications"].get("failed"):
                    break
                time.sleep(0.05)
    finally:
        hooks.stop()
        metadata.hooks = NoHooks()
    assert status["notifications"] == {"failed": 1}
    assert status["lastDelivery"]["attempts"] == 2 and status["lastDelivery"]["statusCode"] is None
    assert "ConnectError" in status["lastDelivery"]["error"]


def test_a_deployment_follows_the_production_alias(
    notified: tuple[TestClient, PluginManager], receiver: Receiver
) -> None:
    client, _ = notified
    exp = _post(client, "experiments", {"name": "digits"})
    exe = _post(client, "executables", {"name": "train.py"})
    made = []
    for i in range(2):
        run = _run(client, exp["id"], f"train-{i}", "SUCCESS")
        model = _post(client, "artifacts", {"name": "clf", "kind": "model", "uri": f"s3://m/{i}"})
        _post(
            client,
            "executions",
            {
                "run": run["id"],
                "executable": exe["id"],
                "name": "train",
                "kind": "train",
                "outputArtifacts": [model["id"]],
            },
        )
        r = client.post(
            f"{API}/models/digits/versions",
            json={"artifact": model["id"]},
            params={"createModel": "true"},
        )
        assert r.status_code == 201, r.text
        made.append(model)
    url = f"{API}/models/digits/aliases/production"
    client.put(url, json={"version": 1, "reason": "first"}).raise_for_status()
    client.put(url, json={"version": 2, "reason": "better"}).raise_for_status()
    client.put(url, json={"version": 2}).raise_for_status()  # no change, no notification
    client.delete(url, params={"reason": "rollback"}).raise_for_status()
    registered = receiver.wait_for("model-registered", 2)
    # Deliveries are retried (the receiver fails its first two): their order may vary.
    assert sorted(b["modeltrail"]["uri"] for b in registered) == [
        "models:/digits/1",
        "models:/digits/2",
    ]
    changes = sorted(receiver.wait_for("alias-changed", 3), key=lambda b: b["modeltrail"]["time"])
    details = [b["modeltrail"] for b in changes]
    assert [(d["action"], d["fromVersion"], d["toVersion"]) for d in details] == [
        ("set", None, 1),
        ("move", 1, 2),
        ("remove", 2, None),
    ]
    # What a deployment system needs to follow production: the artifact (and so its uri).
    assert details[1]["artifact"] == made[1]["id"] and details[1]["reason"] == "better"
    assert changes[1]["text"] == "production of digits moved from version 1 to 2: better"
    time.sleep(0.3)
    assert len([b for b in receiver.bodies if b["modeltrail"]["rule"] == "alias-changed"]) == 3
