"""Metric series through the API, on SQLite and PostgreSQL: appending in bulk, reading whole,
by step range and downsampled, the summaries, and every refusal naming the point."""

from __future__ import annotations

import math
import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from conftest import ROOT, ServerProcess
from modeltrail.domain import series as d
from modeltrail.server.app import create_app
from modeltrail.server.auth import AuthSettings
from modeltrail.services.metadata import Metadata
from modeltrail.store import series as store
from modeltrail.store.tables import MetricChunkRow, MetricSeriesRow, RunMetricRow

API = "/api/v1"


def _run(c: TestClient, name: str = "r") -> str:
    exp = c.post(f"{API}/experiments", json={"name": f"e-{uuid.uuid4().hex[:8]}"}).json()
    run = c.post(f"{API}/runs", json={"experiment": exp["id"], "name": name})
    assert run.status_code == 201, run.text
    return str(run.json()["id"])


def _step(c: TestClient, run: str, name: str = "train") -> str:
    exe = c.post(f"{API}/executables", json={"name": name}).json()
    r = c.post(
        f"{API}/executions",
        json={"run": run, "executable": exe["id"], "name": name, "kind": "train"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _append(c: TestClient, run: str, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    r = c.post(f"{API}/runs/{run}/metrics", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _read(c: TestClient, run: str, key: str, **params: Any) -> dict[str, Any]:
    r = c.get(f"{API}/runs/{run}/metrics/{key}", params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _count(meta: Metadata, row: Any) -> int:
    with meta.db.session("read") as s:
        return int(s.scalar(select(func.count()).select_from(row)) or 0)


def test_points_and_series_are_appended_and_read_back(client: TestClient) -> None:
    run = _run(client)
    answer = _append(
        client,
        run,
        {
            "points": [
                {"key": "loss", "value": 0.9, "step": 0, "timestamp": 1000},
                {"key": "acc", "value": 0.1, "step": 0, "timestamp": 1000},
            ],
            "series": [
                {
                    "key": "loss",
                    "steps": [1, 2, 3],
                    "values": [0.5, 0.4, 0.45],
                    "timestamps": [2000, 3000, 4000],
                }
            ],
        },
    )
    assert answer["appended"] == 5
    loss = _read(client, run, "loss")
    # Series first, then points, in one group: read back in step order.
    assert loss["steps"] == [0, 1, 2, 3]
    assert loss["values"] == [0.9, 0.5, 0.4, 0.45]
    assert loss["timestamps"] == [1000, 2000, 3000, 4000]
    listed = client.get(f"{API}/runs/{run}/metrics").json()
    by_key = {m["key"]: m for m in listed["metrics"]}
    assert by_key["loss"] == {
        "key": "loss",
        "count": 4,
        "latest": 0.45,
        "latestStep": 3,
        "latestTimestamp": 4000,
        "min": 0.4,
        "max": 0.9,
        "firstStep": 0,
        "lastStep": 3,
    }
    assert by_key["acc"]["latest"] == 0.1
    assert {s["key"] for s in listed["series"]} == {"loss", "acc"}


def test_non_finite_values_round_trip_and_stay_out_of_min_and_max(client: TestClient) -> None:
    run = _run(client)
    _append(
        client,
        run,
        {
            "series": [
                {"key": "v", "steps": [0, 1, 2, 3], "values": [1.5, "Infinity", "-Infinity", "NaN"]}
            ]
        },
    )
    read = _read(client, run, "v")
    assert read["values"] == [1.5, "Infinity", "-Infinity", "NaN"]
    summary = client.get(f"{API}/runs/{run}/metrics").json()["metrics"][0]
    assert summary["latest"] == "NaN"
    assert summary["min"] == "-Infinity" and summary["max"] == "Infinity"
    nan_only = _run(client)
    _append(client, nan_only, {"points": [{"key": "n", "value": "NaN"}]})
    summary = client.get(f"{API}/runs/{nan_only}/metrics").json()["metrics"][0]
    assert (summary["latest"], summary["min"], summary["max"]) == ("NaN", None, None)


def test_a_step_logged_twice_keeps_both_in_the_order_logged(client: TestClient) -> None:
    run = _run(client)
    _append(client, run, {"points": [{"key": "k", "value": 1, "step": 5}]})
    _append(client, run, {"points": [{"key": "k", "value": 2, "step": 5}]})
    _append(client, run, {"points": [{"key": "k", "value": 3, "step": 4}]})
    read = _read(client, run, "k")
    assert read["steps"] == [4, 5, 5]
    assert read["values"] == [3.0, 1.0, 2.0]
    summary = client.get(f"{API}/runs/{run}/metrics").json()["metrics"][0]
    # The latest is the point of the greatest step; of two, the one logged last.
    assert (summary["latest"], summary["latestStep"], summary["count"]) == (2.0, 5, 3)


def test_series_of_steps_are_apart_and_merged_on_request(client: TestClient) -> None:
    run = _run(client)
    train, evaluate = _step(client, run, "train"), _step(client, run, "evaluate")
    _append(
        client,
        run,
        {
            "series": [
                {
                    "key": "loss",
                    "execution": train,
                    "steps": [0, 2],
                    "values": [1, 3],
                    "timestamps": [10, 30],
                },
                {
                    "key": "loss",
                    "execution": evaluate,
                    "steps": [1, 3],
                    "values": [2, 4],
                    "timestamps": [20, 40],
                },
            ]
        },
    )
    assert _read(client, run, "loss", execution=train)["values"] == [1.0, 3.0]
    assert _read(client, run, "loss", execution=evaluate)["values"] == [2.0, 4.0]
    assert _read(client, run, "loss")["values"] == [1.0, 2.0, 3.0, 4.0]
    missing = client.get(f"{API}/runs/{run}/metrics/loss", params={"execution": "run"})
    assert missing.status_code == 404
    listed = client.get(f"{API}/runs/{run}/metrics").json()
    assert listed["metrics"][0]["latest"] == 4.0 and listed["metrics"][0]["count"] == 4
    assert {s["execution"] for s in listed["series"]} == {train, evaluate}


def test_step_range_and_pages(client: TestClient) -> None:
    run = _run(client)
    _append(
        client,
        run,
        {
            "series": [
                {
                    "key": "a/b c",
                    "steps": list(range(100)),
                    "values": [float(i) for i in range(100)],
                }
            ]
        },
    )
    part = _read(client, run, "a/b c", start=10, end=14)
    assert part["steps"] == [10, 11, 12, 13, 14] and part["nextCursor"] is None
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 30}
    while True:
        page = _read(client, run, "a/b c", **params)
        seen += page["steps"]
        if page["nextCursor"] is None:
            break
        params["cursor"] = page["nextCursor"]
    assert seen == list(range(100))
    bad = client.get(f"{API}/runs/{run}/metrics/a/b c", params={"cursor": "nonsense!"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/cursor"
    backwards = client.get(f"{API}/runs/{run}/metrics/a/b c", params={"start": 5, "end": 1})
    assert backwards.status_code == 422


def test_downsampled_buckets_keep_the_spike(client: TestClient) -> None:
    run = _run(client)
    values = [1.0] * 10_000
    values[4321] = 99.0
    values[7000] = "NaN"  # type: ignore[call-overload]
    _append(client, run, {"series": [{"key": "s", "steps": list(range(10_000)), "values": values}]})
    read = _read(client, run, "s", points=100)
    assert read["buckets"] == 100 and read["count"] == 10_000
    assert sum(read["counts"]) == 10_000
    assert max(read["maxs"]) == 99.0
    assert read["startSteps"][0] == 0 and read["endSteps"][-1] == 9_999
    spike = read["maxs"].index(99.0)
    assert read["startSteps"][spike] <= 4321 <= read["endSteps"][spike]
    ends = read["endSteps"]
    nan_bucket = next(i for i, s in enumerate(read["startSteps"]) if s <= 7000 <= ends[i])
    assert read["mins"][nan_bucket] == 1.0 and read["maxs"][nan_bucket] == 1.0
    assert read["lasts"][-1] == 1.0
    few = _read(client, run, "s", points=3, start=0, end=5)
    assert few["counts"] == [2, 2, 2] and few["startSteps"] == [0, 2, 4]


def test_the_metrics_bring_their_first_charts_as_a_read_of_each_answers_it(
    client: TestClient,
) -> None:
    run = _run(client)
    train, evaluate = _step(client, run, "train"), _step(client, run, "evaluate")
    _append(
        client,
        run,
        {
            "series": [
                {"key": "loss", "execution": train, "steps": [0, 2, 4], "values": [3, 2, 1]},
                {"key": "loss", "execution": evaluate, "steps": [1, 3], "values": [2.5, 1.5]},
                {"key": "acc", "steps": list(range(50)), "values": [i / 50 for i in range(50)]},
                {"key": "zeta", "steps": [0, 1], "values": ["NaN", "Infinity"]},
            ]
        },
    )
    plain = client.get(f"{API}/runs/{run}/metrics").json()
    assert plain["charts"] == []
    keys = [m["key"] for m in plain["metrics"]]
    for charts, points in ((2, 5), (3, 400), (50, 1)):
        listed = client.get(
            f"{API}/runs/{run}/metrics", params={"charts": charts, "points": points}
        )
        assert listed.status_code == 200, listed.text
        answer = listed.json()
        assert answer["metrics"] == plain["metrics"] and answer["series"] == plain["series"]
        assert [c["key"] for c in answer["charts"]] == keys[:charts]
        # Each chart is what reading its series downsampled answers, the steps' merged.
        assert answer["charts"] == [_read(client, run, k, points=points) for k in keys[:charts]]
    default = client.get(f"{API}/runs/{run}/metrics", params={"charts": 1}).json()["charts"]
    assert default == [_read(client, run, keys[0], points=d.CHART_POINTS)]
    for params, pointer in (
        ({"charts": -1}, "/charts"),
        ({"charts": d.MAX_CHARTS + 1}, "/charts"),
        ({"charts": "all"}, "/charts"),
        ({"charts": 1, "points": 0}, "/points"),
        ({"charts": 1, "points": d.MAX_BUCKETS + 1}, "/points"),
    ):
        refused = client.get(f"{API}/runs/{run}/metrics", params=params)
        assert refused.status_code == 422, (params, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["errors"][0]["pointer"] == pointer
    gone = client.get(f"{API}/runs/{uuid.uuid4()}/metrics", params={"charts": 3})
    assert gone.status_code == 404


def test_small_appends_fill_chunks(
    client: TestClient, metadata: Metadata, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "CHUNK", 4)
    run = _run(client)
    for i in range(10):
        _append(client, run, {"points": [{"key": "k", "value": i, "step": i}]})
    _append(
        client,
        run,
        {"series": [{"key": "k", "steps": list(range(10, 19)), "values": list(range(10, 19))}]},
    )
    assert _read(client, run, "k")["values"] == [float(i) for i in range(19)]
    assert _count(metadata, MetricChunkRow) == 5  # 19 points in chunks of 4
    assert _read(client, run, "k", start=9, end=12)["steps"] == [9, 10, 11, 12]


def test_idempotency_key_makes_a_retry_safe(client: TestClient) -> None:
    run = _run(client)
    body = {"points": [{"key": "k", "value": 1.0}]}
    key = str(uuid.uuid4())
    first = client.post(f"{API}/runs/{run}/metrics", json=body, headers={"Idempotency-Key": key})
    again = client.post(f"{API}/runs/{run}/metrics", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    assert _read(client, run, "k")["count"] == 1
    other = client.post(
        f"{API}/runs/{run}/metrics",
        json={"points": [{"key": "k", "value": 2.0}]},
        headers={"Idempotency-Key": key},
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["pointer"] == "/headers/Idempotency-Key"


BAD_POINTS = [
    ({"key": "k", "value": 1, "step": 1.5}, "/points/2/step"),
    ({"key": "k", "value": 1, "step": "3"}, "/points/2/step"),
    ({"key": "k", "value": 1, "step": True}, "/points/2/step"),
    ({"key": "k", "value": 1, "step": 2**63}, "/points/2/step"),
    ({"key": "k", "value": "1.5"}, "/points/2/value"),
    ({"key": "k", "value": None}, "/points/2/value"),
    ({"key": "k", "value": True}, "/points/2/value"),
    ({"key": "k", "value": "nan"}, "/points/2/value"),
    ({"key": "k", "value": 1, "timestamp": 1.5}, "/points/2/timestamp"),
    ({"key": "bad!", "value": 1}, "/points/2/key"),
    ({"key": "é", "value": 1}, "/points/2/key"),
    ({"key": "", "value": 1}, "/points/2/key"),
    ({"key": "k" * 251, "value": 1}, "/points/2/key"),
    ({"key": "k", "value": 1, "stage": "x"}, "/points/2/stage"),
    ({"key": "k", "value": 1, "execution": "not-an-id"}, "/points/2/execution"),
]


@pytest.mark.parametrize(("point", "pointer"), BAD_POINTS)
def test_a_bad_point_is_named_and_nothing_is_stored(
    client: TestClient, metadata: Metadata, point: dict[str, Any], pointer: str
) -> None:
    run = _run(client)
    good = {"key": "good", "value": 1.0}
    r = client.post(f"{API}/runs/{run}/metrics", json={"points": [good, good, point]})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["pointer"] for e in r.json()["errors"]] == [pointer]
    assert _count(metadata, MetricSeriesRow) == 0
    assert _count(metadata, RunMetricRow) == 0


BAD_SERIES = [
    ({"key": "k", "steps": [0, 1, 2.5], "values": [1, 2, 3]}, "/series/0/steps/2"),
    ({"key": "k", "steps": [0, 1, 2], "values": [1, "x", 3]}, "/series/0/values/1"),
    (
        {"key": "k", "steps": [0, 1, 2], "values": [1, 2, 3], "timestamps": [1, 2, "3"]},
        "/series/0/timestamps/2",
    ),
    ({"key": "k", "steps": [0, 1], "values": [1, 2, 3]}, "/series/0"),
    ({"key": "k", "steps": [0, 1, 2], "values": [1, 2, 3], "timestamps": [1]}, "/series/0"),
    ({"key": "k/../x?", "steps": [0], "values": [1]}, "/series/0/key"),
    ({"key": "k", "values": [1]}, "/series/0/steps"),
]


@pytest.mark.parametrize(("series", "pointer"), BAD_SERIES)
def test_a_bad_series_is_named_and_nothing_is_stored(
    client: TestClient, metadata: Metadata, series: dict[str, Any], pointer: str
) -> None:
    run = _run(client)
    body = {"points": [{"key": "good", "value": 1.0}], "series": [series]}
    r = client.post(f"{API}/runs/{run}/metrics", json=body)
    assert r.status_code == 422, r.text
    assert [e["pointer"] for e in r.json()["errors"]] == [pointer]
    assert _count(metadata, MetricSeriesRow) == 0


def test_an_empty_series_appends_nothing(client: TestClient, metadata: Metadata) -> None:
    # A series is made with its first point: empty lists make none (a loop that had nothing
    # to log in an interval), beside a series that has points or alone.
    run = _run(client)
    empty = {"key": "nothing", "steps": [], "values": []}
    alone = _append(client, run, {"series": [empty]})
    assert alone == {"appended": 0, "series": []}
    both = _append(client, run, {"series": [empty, {"key": "k", "steps": [0], "values": [1]}]})
    assert both["appended"] == 1
    assert [s["key"] for s in both["series"]] == ["k"]
    assert _count(metadata, MetricSeriesRow) == 1


def test_a_batch_over_the_limit_is_refused(client: TestClient, metadata: Metadata) -> None:
    run = _run(client)
    n = d.MAX_POINTS // 2 + 1
    body = {
        "series": [
            {"key": "a", "steps": [0] * n, "values": [1.0] * n},
            {"key": "b", "steps": [0] * n, "values": [1.0] * n},
        ]
    }
    r = client.post(f"{API}/runs/{run}/metrics", json=body)
    assert r.status_code == 422, r.text
    assert "at most 100000 points" in r.json()["detail"]
    assert _count(metadata, MetricSeriesRow) == 0
    one = {"series": [{"key": "a", "steps": [0] * (d.MAX_POINTS + 1), "values": [1.0]}]}
    r = client.post(f"{API}/runs/{run}/metrics", json=one)
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/series/0/steps"


def test_references_are_checked(client: TestClient, metadata: Metadata) -> None:
    run, other = _run(client), _run(client, "other")
    step_of_other = _step(client, other)
    r = client.post(
        f"{API}/runs/{run}/metrics",
        json={
            "points": [
                {"key": "k", "value": 1},
                {"key": "k", "value": 1, "execution": step_of_other},
            ]
        },
    )
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/points/1/execution"
    r = client.post(
        f"{API}/runs/{run}/metrics",
        json={"series": [{"key": "k", "steps": [0], "values": [1], "artifact": str(uuid.uuid4())}]},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/series/0/artifact"
    model = client.post(f"{API}/artifacts", json={"name": "m", "kind": "model"}).json()["id"]
    _append(client, run, {"points": [{"key": "acc", "value": 0.9, "artifact": model}]})
    listed = client.get(f"{API}/runs/{run}/metrics").json()
    assert listed["series"][0]["artifact"] == model
    missing = client.post(f"{API}/runs/{uuid.uuid4()}/metrics", json={"points": []})
    assert missing.status_code == 404
    assert client.get(f"{API}/runs/{run}/metrics/nope").status_code == 404
    assert client.get(f"{API}/runs/{uuid.uuid4()}/metrics").status_code == 404
    assert _count(metadata, MetricSeriesRow) == 1


def test_deleting_a_run_deletes_its_series(client: TestClient, metadata: Metadata) -> None:
    run = _run(client)
    _append(client, run, {"points": [{"key": "k", "value": 1}]})
    assert client.delete(f"{API}/runs/{run}").status_code == 204
    assert _count(metadata, MetricSeriesRow) == _count(metadata, MetricChunkRow) == 0
    assert _count(metadata, RunMetricRow) == 0


def test_run_summaries_follow_the_latest_step_across_requests(client: TestClient) -> None:
    run = _run(client)
    _append(client, run, {"series": [{"key": "k", "steps": [10, 3], "values": [5, -1]}]})
    _append(client, run, {"series": [{"key": "k", "steps": [7], "values": [math.pi]}]})
    summary = client.get(f"{API}/runs/{run}/metrics").json()["metrics"][0]
    assert (summary["latest"], summary["latestStep"]) == (5.0, 10)
    assert (summary["min"], summary["max"], summary["firstStep"]) == (-1.0, 5.0, 3)
    assert _read(client, run, "k")["steps"] == [3, 7, 10]


def test_scoped_tokens_write_and_read_the_series_of_their_experiments(metadata: Metadata) -> None:
    admin_token = "admin-" + uuid.uuid4().hex
    app = create_app(metadata, auth_settings=AuthSettings(enabled=True, admin_token=admin_token))
    with TestClient(app, base_url="http://testserver") as c:
        c.headers["Authorization"] = f"Bearer {admin_token}"
        run_a, run_b = _run(c, "a"), _run(c, "b")
        model_b = c.post(f"{API}/artifacts", json={"name": "m", "kind": "model"}).json()["id"]
        experiment_a = c.get(f"{API}/runs/{run_a}").json()["experiment"]

        def token(role: str) -> dict[str, str]:
            r = c.post(
                f"{API}/tokens",
                json={"name": f"a-{role}", "experiments": {experiment_a: role}},
            )
            assert r.status_code == 201, r.text
            return {"Authorization": f"Bearer {r.json()['token']}"}

        writer, reader = token("writer"), token("reader")
        body = {"points": [{"key": "k", "value": 1}]}
        assert c.post(f"{API}/runs/{run_a}/metrics", json=body, headers=writer).status_code == 200
        assert c.post(f"{API}/runs/{run_b}/metrics", json=body, headers=writer).status_code == 403
        assert c.post(f"{API}/runs/{run_a}/metrics", json=body, headers=reader).status_code == 403
        assert c.get(f"{API}/runs/{run_a}/metrics/k", headers=reader).status_code == 200
        assert c.get(f"{API}/runs/{run_a}/metrics", headers=reader).status_code == 200
        assert c.get(f"{API}/runs/{run_b}/metrics", headers=reader).status_code == 403
        assert c.get(f"{API}/runs/{run_b}/metrics/k", headers=reader).status_code == 403
        # An artifact of no experiment the token may read cannot be what its series measures.
        about_b = {"points": [{"key": "acc", "value": 1, "artifact": model_b}]}
        r = c.post(f"{API}/runs/{run_a}/metrics", json=about_b, headers=writer)
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/points/0/artifact"


def test_the_pointers_of_a_batch_over_the_limit_are_the_documented_ones(
    client: TestClient,
) -> None:
    """docs/tracking.md's table of refusals names them; the request's shape decides which."""
    row = next(
        line
        for line in (ROOT / "docs" / "tracking.md").read_text().splitlines()
        if line.startswith("| more than 100,000 points")
    )
    documented = re.findall(r"`([^`]*)`", row.split("|")[2])
    run = _run(client)
    over = d.MAX_POINTS + 1
    half = d.MAX_POINTS // 2 + 1
    bodies = [
        {"series": [{"key": "a", "steps": [0] * over, "values": [1.0] * over}]},
        {"points": [{"key": "a", "value": 1.0}] * over},
        {
            "series": [
                {"key": "a", "steps": [0] * half, "values": [1.0] * half},
                {"key": "b", "steps": [0] * half, "values": [1.0] * half},
            ]
        },
    ]
    pointers = []
    for body in bodies:
        r = client.post(f"{API}/runs/{run}/metrics", json=body)
        assert r.status_code == 422, r.text
        pointers.append(r.json()["errors"][0]["pointer"])
    assert pointers == documented


def test_a_key_of_dots_is_read_encoded_twice(server: ServerProcess) -> None:
    """A browser resolves a path segment "..", ".", "%2E%2E" or "%2e" as a dot segment, so a
    web page sends the keys "." and ".." with their dots encoded twice; no key holds "%",
    so the server reads such a key as the one logged. (A real server: the test client
    decodes a path twice on its own.)"""
    api = f"{server.url}{API}"
    experiment = httpx.post(f"{api}/experiments", json={"name": "dots"}).json()["id"]
    run = httpx.post(f"{api}/runs", json={"experiment": experiment, "name": "r"}).json()["id"]
    keys = ["..", ".", "a.b"]
    series = [{"key": k, "steps": [0], "values": [float(i)]} for i, k in enumerate(keys)]
    assert httpx.post(f"{api}/runs/{run}/metrics", json={"series": series}).status_code == 200
    for i, key in enumerate(keys):
        for segment in (key.replace(".", "%2E"), key.replace(".", "%252E")):
            read = httpx.get(f"{api}/runs/{run}/metrics/{segment}")
            assert read.status_code == 200, (segment, read.text)
            assert (read.json()["key"], read.json()["values"]) == (key, [float(i)])
    refused = httpx.get(f"{api}/runs/{run}/metrics/%2525")
    assert refused.status_code == 422 and refused.json()["errors"][0]["pointer"] == "/key"
