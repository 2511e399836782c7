"""Appending points within a transaction that has read the series: what it reads after the
append is what was written. On both databases."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.testclient import TestClient

from modeltrail.domain import series as d
from modeltrail.services.metadata import Metadata
from modeltrail.services.tracking import series
from modeltrail.store import series as store

API = "/api/v1"


def _post(client: TestClient, path: str, body: dict[str, Any], status: int = 201) -> Any:
    r = client.post(f"{API}/{path}", json=body)
    assert r.status_code == status, r.text
    return r.json()


def test_rows_read_before_an_append_are_read_afresh_after_it(
    client: TestClient, metadata: Metadata
) -> None:
    experiment = _post(client, "experiments", {"name": "append-fresh"})["id"]
    run = uuid.UUID(_post(client, "runs", {"experiment": experiment, "name": "r"})["id"])
    first = {"series": [{"key": "loss", "steps": [0], "values": [1.0]}]}
    _post(client, f"runs/{run}/metrics", first, 200)

    def append(tx: Any) -> tuple[Any, ...]:
        session = tx.session
        # Held, so that the session keeps them in its identity map.
        (row,) = store.read_series_rows(session, run, key="loss")
        (summary,) = store.read_run_metric_rows(session, [run])
        assert (row.count, summary.count) == (1, 1)
        request = d.MetricsAppend.model_validate(
            {"series": [{"key": "loss", "steps": [1, 2], "values": [0.5, 0.25]}]}
        )
        series.append_metrics(session, run, request)
        (again,) = store.read_series_rows(session, run, key="loss")
        (summary_again,) = store.read_run_metric_rows(session, [run])
        assert (again, summary_again) == (row, summary)
        points = store.read_points(session, [row.id])[0]
        return row.count, row.min_value, summary.count, summary.latest_value, len(points)

    assert metadata.write(append) == (3, 0.25, 3, 0.25, 3)
