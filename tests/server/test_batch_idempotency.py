"""A batch sent again with its Idempotency-Key (its answer was lost, a spooled copy is
replayed) is answered as the first time and changes nothing, on both databases."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from starlette.testclient import TestClient

from conftest import ServerProcess
from modeltrail.server.app import create_app
from modeltrail.server.auth import AuthSettings
from modeltrail.services.metadata import Metadata
from modeltrail.store.tables import BatchReceiptRow, utcnow

API = "/api/v1"
ADMIN = "admin-" + uuid.uuid4().hex


def _step(client: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A step as the SDK logs it: created, its output linked, then finished. Sent again
    without a key, its create no longer matches the stored execution (outputs, status)."""
    experiment = client.post(f"{API}/experiments", json={"name": "e"}, headers=headers).json()
    run = client.post(
        f"{API}/runs", json={"experiment": experiment["id"], "name": "r"}, headers=headers
    ).json()
    executable = client.post(
        f"{API}/executables", json={"name": "train", "uri": "git://x"}, headers=headers
    ).json()
    step, data = str(uuid.uuid4()), str(uuid.uuid4())
    return {
        "operations": [
            {
                "op": "create",
                "entity": "artifact",
                "body": {"id": data, "name": "d", "kind": "dataset"},
            },
            {
                "op": "create",
                "entity": "execution",
                "body": {
                    "id": step,
                    "run": run["id"],
                    "executable": executable["id"],
                    "name": "s",
                    "kind": "train",
                },
            },
            {"op": "link", "entity": "execution", "id": step, "body": {"outputArtifacts": [data]}},
            {"op": "update", "entity": "execution", "id": step, "body": {"status": "SUCCESS"}},
        ]
    }


def _count(client: Any, plural: str) -> int:
    return int(client.get(f"{API}/{plural}", params={"count": True, "limit": 1}).json()["total"])


def test_the_same_batch_sent_again_with_its_key_is_answered_as_the_first_time(
    client: TestClient,
) -> None:
    batch = _step(client)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post(f"{API}/batch", json=batch, headers=key)
    assert first.status_code == 200, first.text
    assert "idempotent-replayed" not in first.headers
    step = client.get(f"{API}/executions/{batch['operations'][1]['body']['id']}").json()

    again = client.post(f"{API}/batch", json=batch, headers=key)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert client.get(f"{API}/executions/{step['id']}").json() == step  # nothing changed
    assert _count(client, "executions") == 1 and _count(client, "artifacts") == 1

    # Without a key the server cannot tell a retry from a new batch: the create contradicts
    # what the later operations made of the step.
    assert client.post(f"{API}/batch", json=batch).status_code == 409


def test_a_key_reused_for_another_batch_or_malformed_is_refused_with_nothing_stored(
    client: TestClient,
) -> None:
    key = str(uuid.uuid4())
    first = client.post(f"{API}/batch", json=_step(client), headers={"Idempotency-Key": key})
    assert first.status_code == 200, first.text
    other = _step(client)
    executions = _count(client, "executions")
    for sent in (key, "x" * 129, "two words", "é"):
        refused = client.post(
            f"{API}/batch", json=other, headers={"Idempotency-Key": sent.encode()}
        )
        assert refused.status_code == 422, (sent, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["pointer"] == "/headers/Idempotency-Key"
    assert _count(client, "executions") == executions


def test_a_batch_with_an_integer_past_64_bits_has_a_receipt_too(client: TestClient) -> None:
    batch = _step(client)
    batch["operations"][0]["body"]["attributes"] = {"seed": 2**70}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    answers = [client.post(f"{API}/batch", json=batch, headers=key) for _ in range(2)]
    assert answers[0].status_code < 500, answers[0].text
    assert [a.status_code for a in answers] in ([200, 200], [422, 422]), answers[0].text


def test_a_receipt_is_kept_for_a_day(client: TestClient, metadata: Metadata) -> None:
    batch = _step(client)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    assert client.post(f"{API}/batch", json=batch, headers=key).status_code == 200
    with metadata.db.engine.begin() as conn:
        conn.execute(update(BatchReceiptRow).values(create_time=utcnow() - timedelta(hours=25)))
    # Past its lifetime the key is forgotten: the batch is a new one again, and conflicts.
    assert client.post(f"{API}/batch", json=batch, headers=key).status_code == 409


def test_another_token_cannot_read_an_answer_by_its_key(metadata: Metadata) -> None:
    app = create_app(metadata, auth_settings=AuthSettings(enabled=True, admin_token=ADMIN))
    with TestClient(app) as c:
        admin = {"Authorization": f"Bearer {ADMIN}"}

        def writer(name: str) -> dict[str, str]:
            made = c.post(f"{API}/tokens", json={"name": name, "role": "writer"}, headers=admin)
            return {"Authorization": f"Bearer {made.json()['token']}"}

        alice, bob = writer("alice"), writer("bob")
        batch = _step(c, alice)
        key = {"Idempotency-Key": "shared-key"}
        assert c.post(f"{API}/batch", json=batch, headers=alice | key).status_code == 200
        stolen = c.post(f"{API}/batch", json=batch, headers=bob | key)
        assert stolen.status_code == 422, stolen.text
        assert c.post(f"{API}/batch", json=batch, headers=alice | key).status_code == 200


def test_the_same_batch_sent_at_once_by_eight_clients_is_stored_once(
    empty_database_url: str, tmp_path: Any
) -> None:
    server = ServerProcess(empty_database_url, cwd=tmp_path)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            batch = _step(c)
        key = {"Idempotency-Key": str(uuid.uuid4())}
        answers: list[httpx.Response] = []
        start = threading.Barrier(8)

        def send() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as c:
                start.wait()
                answers.append(c.post(f"{API}/batch", json=batch, headers=key))

        threads = [threading.Thread(target=send) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
        assert len({a.text for a in answers}) == 1
        assert sum("idempotent-replayed" not in a.headers for a in answers) == 1
        with httpx.Client(base_url=server.url) as c:
            assert _count(c, "executions") == 1
    finally:
        server.stop()
