"""The runs grid, filters and ``q`` read a run's metric columns from its series summary, and
from its ``metrics`` artifacts when it logged no series of the key. On both databases."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

API = "/api/v1"


def _post(client: TestClient, path: str, body: dict[str, Any], status: int = 201) -> Any:
    r = client.post(f"{API}/{path}", json=body)
    assert r.status_code == status, r.text
    return r.json()


def _grid(client: TestClient, **params: Any) -> list[str]:
    r = client.get(f"{API}/runs", params={"experiment": "series-grid", **params})
    assert r.status_code == 200, r.text
    return [item["name"] for item in r.json()["items"]]


def test_metric_columns_come_from_series_first(client: TestClient) -> None:
    experiment = _post(client, "experiments", {"name": "series-grid"})["id"]
    runs = {n: _post(client, "runs", {"experiment": experiment, "name": n})["id"] for n in "abc"}
    # a: a series whose latest (greatest step) is not its last logged nor its least.
    _post(
        client,
        f"runs/{runs['a']}/metrics",
        {"series": [{"key": "loss", "steps": [2, 0, 1], "values": [0.5, 0.9, 0.1]}]},
        200,
    )
    _post(client, f"runs/{runs['b']}/metrics", {"points": [{"key": "loss", "value": 0.3}]}, 200)
    # c: no series, only a metrics artifact its step wrote.
    exe = _post(client, "executables", {"name": "train"})["id"]
    art = _post(
        client, "artifacts", {"name": "loss", "kind": "metrics", "attributes": {"value": 0.4}}
    )["id"]
    _post(
        client,
        "executions",
        {"run": runs["c"], "executable": exe, "name": "t", "kind": "train",
         "outputArtifacts": [art]},
    )  # fmt: skip
    assert _grid(client, sort="metrics.loss") == ["b", "c", "a"]
    assert _grid(client, sort="metrics.loss.min") == ["a", "b", "c"]
    assert _grid(client, sort="-metrics.loss.max") == ["a", "c", "b"]
    assert _grid(client, filter="metrics.loss:lt:0.45", sort="name") == ["b", "c"]
    assert _grid(client, q="metrics.loss.min < 0.2 or metrics.loss = 0.4", sort="name") == [
        "a",
        "c",
    ]
    r = client.get(
        f"{API}/runs",
        params={"experiment": "series-grid", "columns": "metrics.loss,metrics.loss.min",
                "sort": "name"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    rows = r.json()["items"]
    assert [row["columns"]["metrics.loss"] for row in rows] == [0.5, 0.3, 0.4], rows


def test_a_cell_tells_a_nan_latest_value_from_no_value(client: TestClient) -> None:
    experiment = _post(client, "experiments", {"name": "series-grid"})["id"]
    logged = {
        "nan-latest": [0.5, "NaN"],
        "all-nan": ["NaN"],
        "inf-latest": [0.5, "Infinity"],
        "finite": ["NaN", 0.25],
        "other-key": None,
    }
    for name, values in logged.items():
        run = _post(client, "runs", {"experiment": experiment, "name": name})["id"]
        series = (
            {"key": "loss", "steps": list(range(len(values))), "values": values}
            if values is not None
            else {"key": "acc", "steps": [0], "values": [1.0]}
        )
        _post(client, f"runs/{run}/metrics", {"series": [series]}, 200)
    r = client.get(
        f"{API}/runs",
        params={"experiment": "series-grid", "columns": "metrics.loss,metrics.loss.max",
                "sort": "name"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    cells = {row["name"]: row["columns"] for row in r.json()["items"]}
    assert cells == {
        "all-nan": {"metrics.loss": "NaN", "metrics.loss.max": None},
        "finite": {"metrics.loss": 0.25, "metrics.loss.max": 0.25},
        "inf-latest": {"metrics.loss": "Infinity", "metrics.loss.max": "Infinity"},
        "nan-latest": {"metrics.loss": "NaN", "metrics.loss.max": 0.5},
        "other-key": {"metrics.loss": None, "metrics.loss.max": None},
    }
