"""The comparison at small scale, modeltrail only: every operation runs and answers correctly.

Speed is not asserted (that is what the benchmark is for); what is asserted is that the
benchmark measures real answers: the list is filtered and sorted, lineage reaches exactly as
far as the workload's chain goes, impact finds every artifact downstream, and so on. Expected
values are worked out from the generated workload itself, independently of the store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from benchmarks.modeltrail_driver import run_mode
from benchmarks.report import ROWS, table
from benchmarks.workload import SCALES, generate

from conftest import POSTGRES_ADMIN, ROOT, cli_env

pytestmark = pytest.mark.slow


def expected(scale: str) -> dict:
    w = generate(scale)
    ops = w.all_operations()
    artifacts = {o["body"]["id"]: o["body"] for o in ops if o["entity"] == "artifact"}
    executions = [o["body"] for o in ops if o["entity"] == "execution"]
    readers = defaultdict(list)
    for e in executions:
        for a in e["inputArtifacts"]:
            readers[a].append(e)
    downstream, todo = set(), [w.popular_dataset]
    while todo:
        for e in readers[todo.pop()]:
            for out in e["outputArtifacts"]:
                if out not in downstream:
                    downstream.add(out)
                    todo.append(out)
    runs = {o["body"]["id"]: o["body"] for o in ops if o["entity"] == "run"}
    traced = [e for e in executions if runs[e["run"]]["experiment"] == w.trace_experiment]
    return {
        "workload": w,
        "listed": sum(
            1
            for a in artifacts.values()
            if a["kind"] == "validation" and a["attributes"]["split"] == "test"
        ),
        "impact": len(downstream),
        "trace_executions": len(traced),
        "trace_edges": sum(len(e["inputArtifacts"]) + len(e["outputArtifacts"]) for e in traced),
    }


@pytest.mark.parametrize("mode", ["embedded", "sqlite", "postgresql"])
def test_every_operation_answers_correctly_at_small_scale(mode: str, tmp_path: Path) -> None:
    want = expected("small")
    w = want["workload"]
    result = run_mode(mode, w, tmp_path, POSTGRES_ADMIN)
    checks = result["checks"]

    assert checks["list"] == {
        "items": want["listed"],
        "all_match": True,
        "sorted": True,
        "distinct": True,
    }
    for hops in (20, 100):
        assert checks[f"up_{hops}"]["hops"] == hops
        assert checks[f"up_{hops}"]["reaches"] == checks[f"up_{hops}"]["expected"]
    assert checks["impact"]["artifacts"] == want["impact"]
    assert checks["dag"]["executions"] == SCALES["small"].steps
    assert checks["trace"]["executions"] == want["trace_executions"]
    assert checks["trace"]["edges"] == want["trace_edges"]
    assert checks["diff"]["differences"] > 0

    assert result["ingest_1"]["entities"] > 0 and result["ingest_1"]["rate"] > 0
    if mode != "embedded":
        assert result["ingest_8"]["rate"] > 0
    for op in (
        "create",
        "read",
        "list_first",
        "list_deep",
        "up_20",
        "up_100",
        "impact",
        "dag",
        "trace",
        "diff",
    ):
        assert 0 < result[op]["median"] <= result[op]["p95"], op
    assert result["rss_ingest"] > 10 and result["rss_query"] > 10


def test_the_table_shows_each_system_and_explains_every_na() -> None:
    results = {
        "embedded": {
            "ingest_1": {"rate": 1000.0},
            "read": {"median": 1.0, "p95": 2.0},
            "notes": {},
        },
        "mlmd": {
            "ingest_1": {"rate": 250.0},
            "read": {"median": 4.0, "p95": 5.0},
            "trace": {"na": "no trace"},
            "notes": {},
        },
        "mlflow-1": {"unavailable": "mlflow is not installed"},
    }
    text = table(results)
    assert "| single read [ms] | 1.00 / 2.00 | 4.00 / 5.00 |" in text
    assert "4.0× rate" in text and "0.25" in text
    assert "] no trace" in text and "] mlflow is not installed" in text
    assert text.count("n/a [") == len(ROWS) + 1  # every row of the missing peer, and the trace


def benchmarks(*args: str, timeout: int) -> subprocess.CompletedProcess[str]:
    """``python -m benchmarks ...`` from the checkout, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_command_runs_from_a_checkout(tmp_path: Path) -> None:
    work = str(tmp_path / "work")
    done = benchmarks(
        "compare", "--scale", "small", "--systems", "embedded", "--workdir", work, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "| ingest, 1 client [entities/s] |" in done.stdout
    assert "modeltrail embedded SQLite" in done.stdout


def test_the_alternating_command_times_every_read_on_both_databases(tmp_path: Path) -> None:
    out = tmp_path / "alternate.json"
    work = os.path.relpath(tmp_path / "work", ROOT)  # relative, as the default is
    done = benchmarks(
        "alternate", "--scale", "small", "--rounds", "2", "--postgres", POSTGRES_ADMIN,
        "--workdir", work, "--json", str(out), timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = json.loads(out.read_text())
    assert tuple(found) == (
        "read", "list_first", "list_deep", "up_20", "up_100", "impact", "dag", "trace", "diff"
    )  # fmt: skip
    for key, row in found.items():
        assert all(m > 0 for m in row["sqlite"] + row["postgresql"]), key
        assert row["ratio"] == [
            p / s for s, p in zip(row["sqlite"], row["postgresql"], strict=True)
        ], key
        assert len(row["ratio"]) == 2, key
    assert "| run DAG [ms] |" in done.stdout and "PostgreSQL / SQLite" in done.stdout


def test_the_lineage_benchmark_runs_every_query_on_a_small_store(tmp_path: Path) -> None:
    """Every query answers, and impact stays within a few times the CPU of the experiment trace
    over the same runs: both grow with the runs. An impact that compares every node with every
    deployment (before 905c67c) grows with their product and is many times over the bound; with
    too few runs the two stay too close to tell apart, hence 200."""
    db = f"sqlite:///{tmp_path / 'lineage.db'}"
    done = subprocess.run(
        [sys.executable, "benchmarks/lineage.py", "--database", db, "--runs", "20",
         "--chains", "1", "--hot-runs", "200", "--repeat", "2"],
        cwd=ROOT, env=cli_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "upstream lineage, 100 hops " in done.stdout and "203 nodes" in done.stdout
    assert "200 runs, 801 artifact nodes, 1400 inputs and outputs" in done.stdout
    assert "800 artifacts, 200 runs, 200 deployments" in done.stdout
    assert "lineage diff of two models" in done.stdout
    cpu_ms = {  # query, median ms, p95 ms, CPU ms, result
        line[:50].strip(): float(line[50:].split()[2])
        for line in done.stdout.splitlines()
        if line.startswith(("downstream impact", "experiment trace"))
    }
    impact = cpu_ms["downstream impact, dataset used by 200 runs"]
    trace = cpu_ms["experiment trace, 200 runs"]
    assert impact < 5 * trace, done.stdout


def test_the_metric_series_benchmark_logs_and_reads_a_small_series(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/metric_series.py", "--points", "2000", "--keys", "4",
         "--read-points", "3000", "--rounds", "2", "--no-mlflow", "--workdir", str(tmp_path),
         "--json", str(tmp_path / "figures.json")],
        cwd=ROOT, env=cli_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads((tmp_path / "figures.json").read_text())["modeltrail"]
    assert figures["points"] == 2000 and figures["read_points"] == 3000
    assert figures["points_per_second"] > 0 and figures["read_1000_buckets_ms"] > 0
    assert "logging, points/s" in done.stdout


def test_the_openlineage_out_benchmark_runs_one_sample_of_each_workload() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.openlineage_out", "--rounds", "1", "--runs", "1",
         "--tracked", "1"],
        cwd=ROOT, env=cli_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("| create + finish a run |") == 3
    assert done.stdout.count("| SDK run, 3 steps |") == 3
    assert "live: all 10 events at the receiver" in done.stdout


@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        (["--rounds", "0"], "argument --rounds: 0 is below the least, 1"),
        (["--tracked", "-1"], "argument --tracked: -1 is below the least, 0"),
        (["--runs", "x"], "argument --runs: 'x' is not a whole number"),
        (["--runs", "0", "--tracked", "0"], "--runs and --tracked are both 0"),
    ],
)
def test_the_openlineage_out_benchmark_refuses_counts_it_cannot_time(
    args: list[str], refusal: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.openlineage_out", *args],
        cwd=ROOT, env=cli_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and refusal in done.stderr, done.stderr
