"""Series travel with a store's export: points, summaries and the values JSON has no number
for; an export whose series rows are damaged is refused, naming the line."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from modeltrail.domain.models import ExperimentCreate, RunCreate
from modeltrail.server.app import create_app
from modeltrail.services.metadata import Metadata
from modeltrail.store import portability

API = "/api/v1"


def _filled(meta: Metadata) -> tuple[uuid.UUID, uuid.UUID]:
    exp, _ = meta.create("experiment", ExperimentCreate(name="e"))
    run, _ = meta.create("run", RunCreate(experiment=exp.id, name="r"))
    with TestClient(create_app(meta)) as c:
        r = c.post(
            f"{API}/runs/{run.id}/metrics",
            json={
                "series": [
                    {
                        "key": "v",
                        "steps": list(range(5)),
                        "values": [1, "-Infinity", "Infinity", "NaN", 2],
                    }
                ]
            },
        )
        assert r.status_code == 200, r.text
    return exp.id, run.id


def _read(meta: Metadata, run: uuid.UUID) -> tuple[dict, dict]:  # type: ignore[type-arg]
    with TestClient(create_app(meta)) as c:
        return (
            c.get(f"{API}/runs/{run}/metrics").json(),
            c.get(f"{API}/runs/{run}/metrics/v").json(),
        )


def test_series_round_trip_with_their_infinities(metadata: Metadata, tmp_path: Path) -> None:
    experiment, run = _filled(metadata)
    before = _read(metadata, run)
    assert before[0]["metrics"][0]["min"] == "-Infinity"
    for scope in (None, experiment):
        records = metadata.call(
            lambda s, e=scope: list(portability.export_records(s, experiment=e))
        )
        assert {"metric_series", "metric_chunks", "run_metrics"} <= {
            r.get("table") for r in records
        }
        target = Metadata.open(f"sqlite:///{tmp_path / f'{scope}.db'}")
        try:
            target.call(portability.import_records, (portability.dumps(r) for r in records[1:]))
            assert _read(target, run) == before
        finally:
            target.close()


@pytest.mark.parametrize(
    ("table", "change", "pointer"),
    [
        ("metric_chunks", {"count": 4}, "/row/data"),
        ("metric_chunks", {"data": {"$b64": base64.b64encode(b"\0" * 7).decode()}}, "/row/data"),
        ("metric_chunks", {"step_max": 99}, "/row/step_min"),
        ("metric_series", {"key": "no!"}, "/row/key"),
        ("run_metrics", {"count": -1}, "/row/count"),
    ],
)
def test_damaged_series_rows_are_refused(
    metadata: Metadata,
    tmp_path: Path,
    table: str,
    change: dict,
    pointer: str,  # type: ignore[type-arg]
) -> None:
    _filled(metadata)
    records = metadata.call(lambda s: list(portability.export_records(s)))
    for r in records[1:]:
        if r["table"] == table:
            r["row"].update(change)
    lines = [portability.dumps(r) for r in records[1:]]
    target = Metadata.open(f"sqlite:///{tmp_path / 'damaged.db'}")
    try:
        with pytest.raises(portability.ImportRefused) as refused:
            target.call(portability.import_records, lines)
        assert refused.value.errors[0]["pointer"] == pointer, refused.value.errors
    finally:
        target.close()
    assert orjson.loads(lines[0])
