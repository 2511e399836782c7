"""The official openlineage-python client, unchanged, reporting two jobs to a running server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import Dataset, Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import error_message_run, parent_run, schema_dataset
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpCompression,
    HttpConfig,
    HttpTransport,
)

from conftest import ServerProcess

API = "/api/v1"
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/client/python"


def _dataset(name: str, *fields: str) -> Dataset:
    schema = schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=f, type="int") for f in fields]
    )
    return Dataset(namespace="postgres://db:5432", name=name, facets={"schema": schema})


@pytest.mark.slow
def test_client_events_become_lineage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELTRAIL_OPENLINEAGE_API_KEY", "k3y")
    server = ServerProcess(f"sqlite:///{tmp_path / 'store.db'}", cwd=tmp_path)
    try:
        config = HttpConfig(
            url=server.url,
            endpoint="api/v1/lineage",
            compression=HttpCompression.GZIP,
            auth=ApiKeyTokenProvider({"apiKey": "k3y"}),
        )
        client = OpenLineageClient(transport=HttpTransport(config))
        dag_run, prepare_run, train_run = (str(uuid.uuid4()) for _ in range(3))
        dag = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=dag_run), job=parent_run.Job(namespace="ml", name="nightly")
        )
        t0 = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
        raw, features, model = (
            _dataset("public.raw", "x"),
            _dataset("public.features", "x", "y"),
            _dataset("public.model", "w"),
        )
        steps = [
            ("nightly.prepare", prepare_run, [raw], [features], RunState.COMPLETE, None),
            ("nightly.train", train_run, [features], [model], RunState.FAIL, "out of memory"),
        ]
        for i, (name, run_id, inputs, outputs, end, error) in enumerate(steps):
            for state, offset in ((RunState.START, 0), (end, 60)):
                facets = {"parent": dag}
                if error and state == end:
                    facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                        message=error, programmingLanguage="python"
                    )
                client.emit(
                    RunEvent(
                        eventType=state,
                        eventTime=(t0 + timedelta(minutes=10 * i, seconds=offset)).isoformat(),
                        run=Run(runId=run_id, facets=facets),
                        job=Job(namespace="ml", name=name),
                        producer=PRODUCER,
                        inputs=inputs,
                        outputs=outputs,
                    )
                )

        with httpx.Client(base_url=server.url) as http:

            def items(plural: str, *filters: str) -> list[dict]:
                response = http.get(
                    f"{API}/{plural}", params={"filter": list(filters), "limit": 100}
                )
                assert response.status_code == 200, response.text
                return response.json()["items"]

            [run] = items("runs")
            assert run["name"] == "nightly" and run["annotations"]["openlineage.runId"] == dag_run
            steps_by_name = {e["name"]: e for e in items("executions", f"run:eq:{run['id']}")}
            assert {n: e["status"] for n, e in steps_by_name.items()} == {
                "nightly.prepare": "SUCCESS",
                "nightly.train": "FAILED",
            }
            train = steps_by_name["nightly.train"]
            assert train["annotations"]["openlineage.errorMessage"] == "out of memory"
            assert datetime.fromisoformat(train["startTime"]) == t0 + timedelta(minutes=10)

            # Lineage across the two jobs: raw -> prepare -> features -> train -> model.
            [made] = items("artifacts", f"producedBy:eq:{steps_by_name['nightly.prepare']['id']}")
            [read] = items("artifacts", f"consumedBy:eq:{train['id']}")
            assert made["id"] == read["id"] and made["name"] == "public.features"
            assert [f["name"] for f in made["attributes"]["schema"]["fields"]] == ["x", "y"]
            [trained] = items("artifacts", f"producedBy:eq:{train['id']}")
            assert trained["name"] == "public.model"
            in_run = {a["name"] for a in items("artifacts", f"run:eq:{run['id']}")}
            assert in_run == {"public.raw", "public.features", "public.model"}
            assert http.post(f"{API}/lineage", json={}).status_code == 401  # no key, no entry
    finally:
        server.stop()


@pytest.mark.slow
def test_client_reports_with_a_writer_token_when_access_control_is_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Access control and the receiver's key both read Authorization: the token is the key."""
    monkeypatch.setenv("MODELTRAIL_OPENLINEAGE_API_KEY", "k3y")
    admin = "admin-" + uuid.uuid4().hex
    server = ServerProcess(
        f"sqlite:///{tmp_path / 'store.db'}", "--auth", "--admin-token", admin, cwd=tmp_path
    )
    try:
        with httpx.Client(base_url=server.url) as http:
            made = http.post(
                f"{API}/tokens",
                json={"name": "openlineage", "role": "writer"},
                headers={"Authorization": f"Bearer {admin}"},
            )
            assert made.status_code == 201, made.text

            def emitter(key: str) -> OpenLineageClient:
                config = HttpConfig(
                    url=server.url,
                    endpoint="api/v1/lineage",
                    compression=HttpCompression.GZIP,
                    auth=ApiKeyTokenProvider({"apiKey": key}),
                )
                return OpenLineageClient(transport=HttpTransport(config))

            event = RunEvent(
                eventType=RunState.COMPLETE,
                eventTime=datetime(2024, 5, 1, tzinfo=UTC).isoformat(),
                run=Run(runId=str(uuid.uuid4())),
                job=Job(namespace="ml", name="nightly"),
                producer=PRODUCER,
            )
            emitter(made.json()["token"]).emit(event)
            with pytest.raises(Exception, match="401"):
                emitter("k3y").emit(event)
            runs = http.get(f"{API}/runs", headers={"Authorization": f"Bearer {admin}"})
            assert [r["name"] for r in runs.json()["items"]] == ["nightly"]
    finally:
        server.stop()
