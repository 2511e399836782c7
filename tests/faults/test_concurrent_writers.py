"""Writer processes talking HTTP to one server at once: every acknowledged write is stored
exactly once, and nothing else is."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
from journals import Stored, Writers, check

from conftest import ServerProcess
from modeltrail.services.metadata import Metadata

API = "/api/v1"
WRITERS = 8
ROUNDS = 10
SHARED = 4


@pytest.mark.slow
def test_concurrent_http_writers_lose_nothing_and_duplicate_nothing(
    metadata: Metadata, tmp_path: Path
) -> None:
    url = metadata.db.url
    server = ServerProcess(url, cwd=tmp_path)
    writers = None
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            experiment = c.post(f"{API}/experiments", json={"name": "shared"}).json()["id"]
        shared = [str(uuid.uuid4()) for _ in range(SHARED)]
        config = {
            "mode": "concurrent",
            "url": server.url,
            "count": ROUNDS,
            "experiment": experiment,
            "shared": shared,
        }
        writers = Writers(config, WRITERS, tmp_path)
        writers.wait(timeout=300)
        journals = writers.read()
        stored = Stored.read(url)
        counts = check(journals, stored, {uuid.UUID(experiment)})
        assert counts["acknowledged"] == WRITERS * ROUNDS * 3
        # The same create sent by every writer is one row; each writer's own, one row each.
        artifacts = Counter(i for i, _ in stored.entities["artifacts"])
        assert sorted(str(i) for i in artifacts if str(i) in shared) == sorted(shared)
        assert len(stored.entities["artifacts"]) == WRITERS * ROUNDS + SHARED
        assert len(stored.entities["runs"]) == WRITERS * ROUNDS

        # Every If-Match change the server accepted raised the revision by one and kept the
        # changes before it: no update was lost between a read and its write.
        patched = [r for r in journals.other if "annotation" in r]
        assert len(patched) == WRITERS * ROUNDS
        assert sorted(r["revision"] for r in patched) == list(range(1, WRITERS * ROUNDS + 1))
        with httpx.Client(base_url=server.url, timeout=30) as c:
            exp = c.get(f"{API}/experiments/{experiment}").json()
        assert sorted(exp["annotations"]) == sorted(r["annotation"] for r in patched)
        assert exp["revision"] == 1 + WRITERS * ROUNDS
    finally:
        if writers is not None:
            writers.kill()
        server.stop()
    print(json.dumps(counts))
