"""Many writer processes at once: every acknowledged write is stored exactly once."""

from __future__ import annotations

import json
import multiprocessing
import uuid
from collections import Counter
from pathlib import Path

import pytest
from writers import write

from modeltrail.sdk.connection import Connection
from modeltrail.services.metadata import Metadata

WRITERS = 6
WRITES = 8


def _all(conn: Connection, plural: str) -> list[dict]:
    items, cursor = [], None
    while True:
        page = conn.get(f"/api/v1/{plural}", limit=1000, cursor=cursor)
        items += page["items"]
        cursor = page.get("nextCursor")
        if not cursor:
            return items


@pytest.mark.slow
def test_concurrent_writer_processes_lose_nothing(metadata: Metadata, tmp_path: Path) -> None:
    target = metadata.db.url
    with Connection(target) as conn:
        experiment = conn.post("/api/v1/experiments", {"name": "shared"})["id"]
    shared_ids = [str(uuid.uuid4()) for _ in range(4)]
    ctx = multiprocessing.get_context("spawn")
    outs = [str(tmp_path / f"acked-{w}.jsonl") for w in range(WRITERS)]
    procs = [
        ctx.Process(target=write, args=(target, w, WRITES, experiment, shared_ids, outs[w]))
        for w in range(WRITERS)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
        assert p.exitcode == 0, f"writer exited with {p.exitcode}"

    acked = [json.loads(line) for out in outs for line in Path(out).read_text().splitlines()]
    assert len(acked) == WRITERS * WRITES * 3
    with Connection(target) as conn:
        runs = Counter(r["id"] for r in _all(conn, "runs"))
        artifacts = Counter(a["id"] for a in _all(conn, "artifacts"))
        exp = conn.get(f"/api/v1/experiments/{experiment}")
    for a in acked:
        if a["entity"] == "annotation":
            assert a["id"] in exp["annotations"], f"lost update {a['id']}"
        else:
            counts = runs if a["entity"] == "runs" else artifacts
            assert counts[a["id"]] == 1, a
    assert sum(runs.values()) == WRITERS * WRITES
    assert sorted(shared_ids) == sorted(i for i in artifacts if i in shared_ids)
    assert sum(artifacts.values()) == WRITERS * WRITES + len(shared_ids)
    assert all(n == 1 for n in artifacts.values())
    # Every successful If-Match PATCH raised the revision by exactly one.
    assert len(exp["annotations"]) == WRITERS * WRITES
    assert exp["revision"] == 1 + WRITERS * WRITES
