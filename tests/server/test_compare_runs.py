"""Many runs side by side: parameters and tags that differ or are equal, metrics per run,
artifacts marked by fingerprint, downsampled series. On both databases."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

API = "/api/v1"


def post(client: TestClient, plural: str, body: dict) -> dict:
    response = client.post(f"{API}/{plural}", json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def runs(client: TestClient) -> list[dict]:
    hw = post(client, "experiments", {"name": "handwriting"})
    exe = post(client, "executables", {"name": "train.py"})
    mnist = post(client, "artifacts", {"name": "mnist", "kind": "dataset", "uri": "s3://m/1"})
    emnist = post(client, "artifacts", {"name": "mnist", "kind": "dataset", "uri": "s3://m/2"})
    made = []
    for name, config, data, losses in (
        ("a", {"lr": 0.1, "optimizer": "adam", "net": {"depth": 3}}, mnist, [0.9, 0.5, 0.3]),
        ("b", {"lr": 0.01, "optimizer": "adam", "net": {"depth": 3}}, mnist, [0.8, 0.2]),
        ("c", {"lr": 0.01, "optimizer": "adam"}, emnist, list(reversed(range(10)))),
    ):
        run = post(
            client,
            "runs",
            {
                "experiment": hw["id"],
                "name": name,
                "configuration": config,
                "annotations": {"team": "vision"},
            },
        )
        metrics = [
            post(
                client, "artifacts", {"name": "loss", "kind": "metrics", "attributes": {"value": v}}
            )["id"]
            for v in losses
        ]
        model = post(client, "artifacts", {"name": "cnn", "kind": "model", "uri": f"m/{name}"})
        post(
            client,
            "executions",
            {
                "run": run["id"],
                "executable": exe["id"],
                "name": "train",
                "kind": "train",
                "inputArtifacts": [data["id"]],
                "outputArtifacts": [*metrics, model["id"]],
            },
        )
        made.append(run)
    return made


def compare(client: TestClient, **params: object) -> dict:
    response = client.get(f"{API}/compare/runs", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_parameters_metrics_artifacts_and_series(client: TestClient, runs: list[dict]) -> None:
    result = compare(client, ids=f"{runs[0]['id']},b,c", metrics="loss", points=4)
    assert [r["name"] for r in result["runs"]] == ["a", "b", "c"]
    differing = {p["key"]: p["values"] for p in result["differingParameters"]}
    assert differing == {"lr": [0.1, 0.01, 0.01], "net.depth": [3, 3, None]}
    assert [(p["key"], p["values"]) for p in result["equalParameters"]] == [
        ("optimizer", ["adam"] * 3)
    ]
    assert result["differingTags"] == [] and result["equalTags"][0]["key"] == "team"
    (loss,) = result["metrics"]
    assert loss == {
        "key": "loss",
        "latest": [0.3, 0.2, 0.0],
        "min": [0.3, 0.2, 0.0],
        "max": [0.9, 0.8, 9.0],
    }
    artifacts = {(a["role"], a["kind"], a["name"]): a for a in result["artifacts"]}
    data = artifacts[("input", "dataset", "mnist")]
    assert data["differs"] and data["fingerprints"][0] == data["fingerprints"][1]
    assert data["fingerprints"][0] != data["fingerprints"][2]
    assert artifacts[("output", "model", "cnn")]["differs"]
    (series,) = result["series"]
    assert series["runs"][0] == {
        "steps": [0, 1, 2],
        "values": [0.9, 0.5, 0.3],
        "min": None,
        "max": None,
    }
    long = series["runs"][2]
    assert len(long["steps"]) == 4 and long["values"][-1] == 0.0 and long["max"][0] == 9.0


def test_bands_false_answers_the_series_without_their_buckets_least_and_greatest(
    client: TestClient, runs: list[dict]
) -> None:
    logged = client.post(
        f"{API}/runs/{runs[0]['id']}/metrics",
        json={"series": [{"key": "acc", "steps": list(range(10)), "values": [0.1] * 10}]},
    )
    assert logged.status_code in (200, 201), logged.text
    # acc is a logged series, loss is read from metrics artifacts: each is downsampled apart.
    params = {"ids": "a,b,c", "metrics": "acc,loss", "points": 4}
    banded = compare(client, **params)
    lines = compare(client, **params, bands="false")
    assert [r["max"] is not None for s in banded["series"] for r in s["runs"]] == [
        True, False, False, False, False, True,
    ]  # fmt: skip
    assert lines["series"] == [
        {"key": s["key"], "runs": [{**r, "min": None, "max": None} for r in s["runs"]]}
        for s in banded["series"]
    ]
    assert {k: v for k, v in lines.items() if k != "series"} == {
        k: v for k, v in banded.items() if k != "series"
    }


def test_names_match_every_run_of_that_name_and_each_run_once(
    client: TestClient, runs: list[dict]
) -> None:
    result = compare(client, ids=f"a,{runs[0]['id']},c")
    assert [r["name"] for r in result["runs"]] == ["a", "c"]
    assert result["series"] == []


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"ids": "a,nobody"}, "/ids/1"),
        ({"ids": ""}, "/ids"),
        ({"ids": ",".join(f"r{i}" for i in range(101))}, "/ids"),
        ({"ids": "a", "metrics": "loss,é"}, "/metrics/1"),
        ({"ids": "a", "metrics": "x" * 251}, "/metrics/0"),
        ({"ids": "a", "points": 0}, None),
        ({"ids": "a", "points": 5000}, None),
        ({"ids": "a", "bands": "sometimes"}, "/bands"),
    ],
)
def test_refusals(client: TestClient, runs: list[dict], params: dict, pointer: str | None) -> None:
    response = client.get(f"{API}/compare/runs", params=params)
    assert response.status_code == 422, response.text
    if pointer:
        assert response.json()["errors"][0]["pointer"] == pointer


def test_a_non_finite_metric_answers_as_the_grid_answers_it(client: TestClient) -> None:
    """A run that diverged shows NaN or an infinity, never an empty cell as if it had logged
    nothing: each run's latest, least and greatest value are the grid's cells."""
    experiment = post(client, "experiments", {"name": "diverged"})["id"]
    exe = post(client, "executables", {"name": "train.py"})["id"]
    logged: dict[str, tuple[list | None, list[float]]] = {
        "nan-latest": ([0.5, "NaN"], []),
        "all-nan": (["NaN"], []),
        "all-nan-with-artifact": (["NaN"], [0.35]),
        "inf-latest": ([0.5, "Infinity"], []),
        "minus-inf": (["-Infinity", 0.4], []),
        "only-infinities": (["Infinity", "-Infinity"], []),
        "artifacts-only": (None, [0.8, 0.6]),
        "nothing": (None, []),
    }
    for name, (values, artifacts) in logged.items():
        run = post(client, "runs", {"experiment": experiment, "name": name})["id"]
        if values is not None:
            series = {"key": "loss", "steps": list(range(len(values))), "values": values}
            r = client.post(f"{API}/runs/{run}/metrics", json={"series": [series]})
            assert r.status_code == 200, r.text
        outputs = [
            post(client, "artifacts", {"name": "loss", "kind": "metrics",
                                       "attributes": {"value": v}})["id"]
            for v in artifacts
        ]  # fmt: skip
        if outputs:
            post(client, "executions", {"run": run, "executable": exe, "name": "t",
                                        "kind": "train", "outputArtifacts": outputs})  # fmt: skip
    grid = client.get(
        f"{API}/runs",
        params={"experiment": experiment, "sort": "name", "limit": 100,
                "columns": "metrics.loss,metrics.loss.min,metrics.loss.max"},
    )  # fmt: skip
    assert grid.status_code == 200, grid.text
    cells = {row["name"]: row["columns"] for row in grid.json()["items"]}
    result = compare(client, ids=",".join(logged))
    (loss,) = result["metrics"]
    compared = {
        run["name"]: {
            "metrics.loss": loss["latest"][i],
            "metrics.loss.min": loss["min"][i],
            "metrics.loss.max": loss["max"][i],
        }
        for i, run in enumerate(result["runs"])
    }
    assert compared == cells
    # What the grid answers, so that the comparison above compares something.
    assert cells["nan-latest"] == {
        "metrics.loss": "NaN", "metrics.loss.min": 0.5, "metrics.loss.max": 0.5
    }  # fmt: skip
    assert cells["all-nan"] == {
        "metrics.loss": "NaN", "metrics.loss.min": None, "metrics.loss.max": None
    }  # fmt: skip
    assert cells["only-infinities"] == {
        "metrics.loss": "-Infinity", "metrics.loss.min": "-Infinity",
        "metrics.loss.max": "Infinity",
    }  # fmt: skip
    assert cells["inf-latest"]["metrics.loss"] == "Infinity"
    assert cells["nothing"] == {
        "metrics.loss": None, "metrics.loss.min": None, "metrics.loss.max": None
    }  # fmt: skip


def test_a_metric_key_is_refused_as_the_series_route_refuses_it(
    client: TestClient, runs: list[dict]
) -> None:
    series = client.get(f"{API}/runs/{runs[0]['id']}/metrics/é")
    compared = client.get(f"{API}/compare/runs", params={"ids": "a", "metrics": "loss,é"})
    assert series.status_code == compared.status_code == 422, compared.text
    assert compared.headers["content-type"] == "application/problem+json"
    problem = compared.json()
    assert problem["detail"] == series.json()["detail"]
    assert problem["errors"] == [
        {"pointer": "/metrics/1", "in": "query", "detail": "not a metric key"}
    ]


def test_what_a_run_wrote_and_then_read_is_written_not_read(client: TestClient) -> None:
    exp = post(client, "experiments", {"name": "pipeline"})
    exe = post(client, "executables", {"name": "step.py"})
    data = post(client, "artifacts", {"name": "digits", "kind": "dataset", "uri": "s3://d"})
    ids = []
    for n in range(2):
        run = post(client, "runs", {"experiment": exp["id"], "name": f"run-{n}"})
        model = post(client, "artifacts", {"name": "cnn", "kind": "model", "uri": f"m/{n}"})
        report = post(client, "artifacts", {"name": "report", "kind": "dataset"})
        steps = (("train", [data], [model]), ("evaluate", [model, data], [report]))
        for name, read, wrote in steps:
            post(
                client,
                "executions",
                {
                    "run": run["id"],
                    "executable": exe["id"],
                    "name": name,
                    "kind": name,
                    "inputArtifacts": [a["id"] for a in read],
                    "outputArtifacts": [a["id"] for a in wrote],
                },
            )
        ids.append(run["id"])
    # The second run's evaluation also reads the first run's model: that one it did read.
    first_model = client.get(f"{API}/artifacts", params={"filter": "uri:eq:m/0"}).json()
    post(
        client,
        "executions",
        {
            "run": ids[1],
            "executable": exe["id"],
            "name": "evaluate-old",
            "kind": "evaluate",
            "inputArtifacts": [first_model["items"][0]["id"]],
        },
    )
    answer = client.get(f"{API}/compare/runs", params={"ids": ",".join(ids)})
    assert answer.status_code == 200, answer.text
    roles = {(a["role"], a["name"]): a for a in answer.json()["artifacts"]}
    assert sorted(roles) == [
        ("input", "cnn"),
        ("input", "digits"),
        ("output", "cnn"),
        ("output", "report"),
    ]
    old = first_model["items"][0]["fingerprint"]
    assert roles[("input", "cnn")]["fingerprints"] == [[], [old]]
    assert len(roles[("output", "cnn")]["fingerprints"][1]) == 1
    assert roles[("input", "digits")]["differs"] is False
