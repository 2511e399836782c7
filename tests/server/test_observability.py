"""Request ids, structured JSON logs and Prometheus metrics."""

from __future__ import annotations

import json
import logging

import pytest
from starlette.testclient import TestClient

from modeltrail.server.observability import JsonFormatter

API = "/api/v1"


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_request_ids_are_echoed_or_made(client: TestClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers[
        "x-request-id"
    ]
    assert made != "bad id with spaces" and len(made) == 32
    error = client.get(f"{API}/experiments/not-a-uuid")
    assert error.status_code == 422 and error.headers["x-request-id"]


def test_metrics_count_requests_errors_and_ingest(client: TestClient) -> None:
    before = client.get("/metrics").text
    assert client.post(f"{API}/experiments", json={"name": "a"}).status_code == 201
    client.get(f"{API}/experiments")
    after = client.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    route = f"{API}/experiments"
    assert (
        _sample(after.text, "modeltrail_ingested_total", route=route)
        == _sample(before, "modeltrail_ingested_total", route=route) + 1
    )
    assert (
        _sample(
            after.text, "modeltrail_http_requests_total", method="GET", route=route, status="200"
        )
        >= 1
    )
    assert (
        _sample(
            after.text, "modeltrail_http_request_duration_seconds_count", method="POST", route=route
        )
        >= 1
    )
    assert "modeltrail_http_errors_total" in after.text


def test_access_log_is_json_with_the_request_id(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="modeltrail.access"):
        client.get(f"{API}/experiments", headers={"X-Request-ID": "trace-42"})
    record = next(r for r in caplog.records if r.name == "modeltrail.access")
    line = json.loads(JsonFormatter().format(record))
    assert (
        line["status"] == 200 and line["path"] == f"{API}/experiments" and line["method"] == "GET"
    )
    assert line["level"] == "info" and "durationMs" in line and line["requestId"] == "trace-42"
