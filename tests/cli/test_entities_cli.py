"""``modeltrail <entities> list|show`` against a real server: --json, names or ids."""

from __future__ import annotations

import json
from typing import Any

import httpx

from conftest import ServerProcess, run_cli


def post(server: ServerProcess, plural: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/api/v1/{plural}", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_list_and_show_by_name_or_id(server: ServerProcess) -> None:
    exp = post(server, "experiments", {"name": "handwriting", "annotations": {"team": "mmp"}})
    post(server, "experiments", {"name": "twin"})
    post(server, "experiments", {"name": "twin"})
    post(
        server,
        "artifacts",
        {"name": "mnist", "version": "1", "kind": "dataset", "attributes": {"type": "Blob"}},
    )
    newest = post(server, "artifacts", {"name": "mnist", "version": "2", "kind": "dataset"})
    post(server, "artifacts", {"name": "cnn", "kind": "model"})

    listed = json.loads(
        run_cli("experiments", "list", "--json", "--sort", "name", url=server.url).stdout
    )
    assert [e["name"] for e in listed["items"]] == ["handwriting", "twin", "twin"]
    assert listed["total"] == 3 and listed["nextCursor"] is None

    by_name = json.loads(
        run_cli("experiments", "show", "handwriting", "--json", url=server.url).stdout
    )
    by_id = json.loads(run_cli("experiments", "show", exp["id"], "--json", url=server.url).stdout)
    assert by_name == by_id == httpx.get(f"{server.url}/api/v1/experiments/{exp['id']}").json()

    twin = run_cli("experiments", "show", "twin", url=server.url, check=False)
    assert (
        twin.returncode == 1
        and "more than one experiment is named 'twin'; give an id" in twin.stderr
    )
    nobody = run_cli("experiments", "show", "nobody", url=server.url, check=False)
    assert nobody.returncode == 1 and "no experiment is named 'nobody'" in nobody.stderr

    # An artifact's name means its latest version.
    latest = json.loads(run_cli("artifacts", "show", "mnist", "--json", url=server.url).stdout)
    assert latest["id"] == newest["id"]

    datasets = run_cli(
        "artifacts", "list", "--filter", "kind:eq:dataset", "--limit", "1", url=server.url
    )
    assert "mnist" in datasets.stdout and "cnn" not in datasets.stdout
    assert "1 more match" in datasets.stdout  # no silent truncation in the table either


def test_list_with_an_expression(server: ServerProcess) -> None:
    exp = post(server, "experiments", {"name": "handwriting"})
    for name, optimizer in (("a", "adam"), ("b", "sgd"), ("c", "rmsprop")):
        post(
            server,
            "runs",
            {"experiment": exp["id"], "name": name, "configuration": {"optimizer": optimizer}},
        )
    listed = json.loads(
        run_cli(
            "runs",
            "list",
            "--json",
            "--sort",
            "name",
            "--q",
            'params.optimizer = "adam" or not configuration.optimizer like "%s%"',
            url=server.url,
        ).stdout
    )
    assert [r["name"] for r in listed["items"]] == ["a"]
    bad = run_cli("runs", "list", "--q", "name = adam", url=server.url, check=False)
    assert bad.returncode == 1
    assert "quote text (at column 8)" in bad.stderr and "/q" in bad.stderr


def test_runs_list_with_columns_as_a_table_and_as_csv(server: ServerProcess) -> None:
    exp = post(server, "experiments", {"name": "handwriting"})
    for name, lr in (("a", 0.1), ("b", 0.01), ("c", 0.5)):
        post(
            server,
            "runs",
            {"experiment": exp["id"], "name": name, "configuration": {"lr": lr, "opt": "sgd"}},
        )
    args = ("runs", "list", "--experiment", "handwriting", "--sort", "configuration.lr")
    table = run_cli(*args, "--columns", "configuration.lr,configuration.opt", url=server.url)
    assert "configuration.lr" in table.stdout and "0.01" in table.stdout
    csv_out = run_cli(*args, "--columns", "auto", "--csv", "--limit", "2", url=server.url).stdout
    lines = csv_out.strip().splitlines()
    assert lines[0] == "id,name,status,duration,configuration.lr"
    assert [line.split(",")[1] for line in lines[1:]] == ["b", "a"]
    assert [line.split(",")[-1] for line in lines[1:]] == ["0.01", "0.1"]
    bad = run_cli("runs", "list", "--columns", "metrics", url=server.url, check=False)
    assert bad.returncode == 1 and "/columns" in bad.stderr
    other = run_cli("experiments", "list", "--columns", "name", url=server.url, check=False)
    assert other.returncode != 0 and "only runs have columns" in other.stderr


def test_compare_runs(server: ServerProcess) -> None:
    exp = post(server, "experiments", {"name": "handwriting"})
    for name, lr in (("a", 0.1), ("b", 0.01)):
        post(
            server,
            "runs",
            {"experiment": exp["id"], "name": name, "configuration": {"lr": lr, "opt": "sgd"}},
        )
    shown = run_cli("compare", "runs", "a", "b", url=server.url).stdout
    assert "parameters: 1 differ" in shown and "0.01" in shown and "opt" in shown
    only = run_cli("compare", "runs", "a", "b", "--diff", url=server.url).stdout
    assert "lr" in only and "opt" not in only
    as_json = json.loads(run_cli("compare", "runs", "a", "b", "--json", url=server.url).stdout)
    assert [p["key"] for p in as_json["differingParameters"]] == ["lr"]
    bad = run_cli("compare", "runs", "a", "nobody", url=server.url, check=False)
    assert bad.returncode == 1 and "/ids/1" in bad.stderr
    wrong = run_cli("compare", "a", "b", "c", url=server.url, check=False)
    assert wrong.returncode != 0 and "compare two artifacts" in wrong.stderr


def test_compare_runs_metrics_non_finite_and_diff(server: ServerProcess) -> None:
    exp = post(server, "experiments", {"name": "diverged"})
    logged = {
        "a": {"loss": [0.9, 0.25], "acc": [0.5], "lr": ["NaN"]},
        "b": {"loss": [0.5, "Infinity"], "acc": [0.5], "lr": ["NaN"]},
        "c": {"loss": ["-Infinity", 0.5, "NaN"], "acc": [0.5], "lr": ["NaN"]},
    }
    for name, metrics in logged.items():
        run = post(server, "runs", {"experiment": exp["id"], "name": name})["id"]
        series = [
            {"key": key, "steps": list(range(len(values))), "values": values}
            for key, values in metrics.items()
        ]
        r = httpx.post(f"{server.url}/api/v1/runs/{run}/metrics", json={"series": series})
        assert r.status_code == 200, r.text
    shown = run_cli("compare", "runs", "a", "b", "c", url=server.url).stdout
    rows = {
        key: next(line for line in shown.splitlines() if f"│ {key} " in line)
        for key in ("loss", "acc", "lr")
    }
    assert "0.25 (0.25 … 0.9)" in rows["loss"]
    assert "∞ (0.5 … ∞)" in rows["loss"]
    assert "NaN (-∞ … 0.5)" in rows["loss"]
    assert "NaN (- … -)" in rows["lr"]
    assert "0.5 (0.5 … 0.5)" in rows["acc"]
    only = run_cli("compare", "runs", "a", "b", "c", "--diff", url=server.url).stdout
    assert "loss" in only and "acc" not in only and "lr" not in only
    assert "metrics: 1 differ" in only


def test_a_metric_cell_keeps_the_least_and_greatest_without_a_latest_value() -> None:
    from modeltrail.cli.compare import metric_cell

    assert metric_cell(None, 0.2, 0.5) == "- (0.2 … 0.5)"
    assert metric_cell(None, None, None) == ""
    assert metric_cell("-Infinity", "-Infinity", "Infinity") == "-∞ (-∞ … ∞)"
