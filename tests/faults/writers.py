"""Work done by one writer process in the concurrency tests (importable by spawned children)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from modeltrail.errors import PreconditionFailed, Unavailable
from modeltrail.sdk.connection import Connection


def write(
    target: str, worker: int, count: int, shared_experiment: str, shared_ids: list[str], out: str
) -> None:
    """Create ``count`` runs and artifacts, retry shared idempotent creates, patch with If-Match.

    Every write the store acknowledges is appended to ``out`` (one JSON line each) so that the
    test can check that each is stored exactly once.
    """
    acked: list[dict[str, str]] = []
    with Connection(target, retries=8, backoff=0.05) as conn:
        for i in range(count):
            # The same idempotent create, sent by every writer: one row in the end.
            sid = shared_ids[i % len(shared_ids)]
            shared = conn.post(
                "/api/v1/artifacts",
                {
                    "id": sid,
                    "name": f"shared-{sid[:8]}",
                    "kind": "dataset",
                    "uri": f"s3://shared/{sid}",
                },
            )
            assert shared["id"] == sid
            run = conn.post(
                "/api/v1/runs", {"experiment": shared_experiment, "name": f"w{worker}-r{i}"}
            )
            acked.append({"entity": "runs", "id": run["id"]})
            art = conn.post(
                "/api/v1/artifacts",
                {
                    "id": str(uuid.uuid4()),
                    "name": f"w{worker}-a{i}",
                    "kind": "model",
                    "uri": f"s3://w{worker}/{i}",
                },
            )
            acked.append({"entity": "artifacts", "id": art["id"]})
            # A read-modify-write of one shared entity: If-Match makes conflicts visible.
            key = f"w{worker}-{i}"
            while True:
                current = conn.request("GET", f"/api/v1/experiments/{shared_experiment}")
                revision = int(current.headers["ETag"].strip('"'))
                annotations = {**current.json()["annotations"], key: str(i)}
                try:
                    conn.patch(
                        f"/api/v1/experiments/{shared_experiment}",
                        {"annotations": annotations},
                        revision=revision,
                    )
                    break
                except (PreconditionFailed, Unavailable):
                    continue
            acked.append({"entity": "annotation", "id": key})
    Path(out).write_text("".join(json.dumps(a) + "\n" for a in acked))
