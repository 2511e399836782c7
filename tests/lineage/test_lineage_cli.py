"""The lineage commands as a user runs them: against an embedded SQLite store and against a
real server process, on the scenarios of thesis Chapter 4."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import casestudy
from casestudy import EMNIST_LETTERS_URI, MNIST_URI, MODEL
from conftest import ServerProcess, run_cli
from modeltrail.sdk.connection import Connection
from scenarios import build_automated_workflow, build_repeated_steps

DIGITS, LETTERS = casestudy.RAW_NAMES
FIRST_RUN, SECOND_RUN = casestudy.RUN_NAMES


@dataclass
class Target:
    url: str
    cwd: Path
    data: dict[str, Any]
    # Against the server only what differs over HTTP is run again: each command is a process.
    full: bool

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, cwd=self.cwd, url=self.url, check=check)

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)


def _build(client: Any) -> dict[str, Any]:
    study = casestudy.build(client)
    return {
        "study": study,
        "flow": build_automated_workflow(client),
        "repeated": build_repeated_steps(client),
        "validations": study.validations,  # one valid, one failed
    }


@pytest.fixture(params=["embedded", "server"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "embedded":
        url = f"sqlite:///{tmp_path / 'store.db'}"
        with Connection(url) as conn:
            data = _build(conn)
        yield Target(url, tmp_path, data, full=True)
    else:
        server: ServerProcess = request.getfixturevalue("server")
        with httpx.Client(base_url=server.url) as client:
            data = _build(client)
        yield Target(server.url, tmp_path, data, full=False)


def test_why_names_the_letters_dataset_then_the_learning_rate_in_one_screen(target: Target) -> None:
    out = target.run("why", MODEL).stdout
    lines = out.splitlines()
    assert len(lines) <= 24, out
    assert lines[1].startswith(f"1. input dataset '{DIGITS}' -> '{LETTERS}' of step prepare"), out
    assert f"uri: {MNIST_URI} -> {EMNIST_LETTERS_URI}" in lines[2]
    assert "attributes.classes: {} -> {}".format(*casestudy.CLASSES) in lines[3]
    second = next(i for i, line in enumerate(lines) if line.startswith("2."))
    assert "configuration of step train" in lines[second]
    assert (
        "configuration.learning-rate: {} -> {}".format(*casestudy.LEARNING_RATES)
        in lines[second + 1]
    )
    assert "1 more difference follows from these (--all shows them)" in out
    if not target.full:
        return
    against = target.json(
        "why",
        target.data["study"].models[1]["id"],
        "--against",
        target.data["study"].models[0]["id"],
    )
    assert against["differences"][0]["changes"][0]["after"] == EMNIST_LETTERS_URI


def test_lineage_impact_flag_and_trace(target: Target) -> None:
    study = target.data["study"]
    graph = target.json("lineage", MODEL)
    events = [n for n in graph["nodes"] if n["type"] == "event"]
    assert [e["attributes"]["cause"] for e in events] == [casestudy.CAUSES[1]]
    if target.full:
        text = target.run("lineage", MODEL, "--depth", "1").stdout
        assert casestudy.TRAINING_DATA in text and LETTERS not in text and "truncated" in text
        assert target.run("lineage", MODEL, "--depth", "1000000", check=False).returncode != 0
        few = target.run("lineage", MODEL, "--max-nodes", "2").stdout
        assert "limited: the 2 nodes nearest" in few and LETTERS not in few
        assert target.run("lineage", MODEL, "--max-nodes", "0", check=False).returncode
    impact = target.run("impact", DIGITS).stdout
    assert casestudy.DEPLOYMENT in impact and f"{DIGITS} -> prepare -> training-data" in impact
    impact = target.run("impact", LETTERS).stdout  # run 2 failed validation: nothing deployed
    assert f"{LETTERS} -> prepare -> training-data" in impact and "0 deployments" in impact
    flagged = target.run("flag", LETTERS, "--reason", "letters, not digits").stdout
    assert "4 artifacts downstream are affected" in flagged
    trace = target.run("trace", casestudy.EXPERIMENT).stdout
    # The four affected artifacts, each where a step writes it and where the next reads it:
    # training-data, the model and the metrics twice, the validation once.
    assert trace.count("FLAGGED: letters, not digits") == 1 and trace.count("AFFECTED") == 7
    assert trace.index(FIRST_RUN) < trace.index(SECOND_RUN)
    if not target.full:
        return
    first, second = (r["name"] for r in study.runs)
    newest = target.run("trace", casestudy.EXPERIMENT, "--limit", "1").stdout
    assert second in newest and first not in newest and "older runs left out" in newest
    older = target.run("trace", casestudy.EXPERIMENT, "--before", second).stdout
    assert first in older and second not in older and "older runs left out" not in older
    assert [f["reason"] for f in target.json("flags")["items"]] == ["letters, not digits"]
    target.run("unflag", LETTERS)
    assert "AFFECTED" not in target.run("trace", casestudy.EXPERIMENT).stdout
    dag = target.run("dag", study.runs[0]["id"]).stdout
    at = [dag.index(f"{step} {step} (") for step in casestudy.STEPS]
    assert at == sorted(at), dag


def test_compare_history_reproduce_and_reuse(target: Target) -> None:
    compare = target.run("compare", DIGITS, LETTERS, "--diff").stdout
    assert "attributes.classes" in compare
    assert all(str(n) in compare for n in casestudy.CLASSES)
    every = target.run("compare", DIGITS, LETTERS).stdout  # equal rows too
    assert "attributes.classes" in every and "description" in every
    if target.full:
        refused = target.run("compare", DIGITS, MODEL, check=False)
        assert refused.returncode == 1 and "different kinds" in refused.stderr
    checks = target.data["validations"]
    assert target.json("compare", checks[0]["id"], checks[1]["id"])["kind"] == "validation"

    history = target.json("history", "recommender", "--since-last-deploy")
    assert [r["firstFailed"]["name"] for r in history["runs"]] == ["validate"] * 3
    script = target.run("reproduce", casestudy.DEPLOYMENT, "--format", "sh").stdout
    assert script.startswith("#!/bin/sh")
    at = [script.index(casestudy.COMMANDS[step]) for step in casestudy.STEPS]
    assert at == sorted(at), script
    if target.full:
        assert "runs since: 3" in target.run("history", "recommender").stdout
        assert "complete" in target.run("reproduce", MODEL).stdout
        miss = target.run(
            "cache",
            "lookup",
            "--executable",
            "normalize.py",
            "--kind",
            "transformation",
            check=False,
        )
        assert miss.returncode == 1 and "no successful execution" in miss.stderr

    exe = target.data["repeated"].executable
    hit = target.json(
        "cache",
        "lookup",
        "--executable",
        exe["name"],
        "--version",
        exe["version"],
        "--uri",
        exe["uri"],
        "--kind",
        "transformation",
        "--config",
        'scale="z"',
        "--input",
        "transactions",
    )
    assert hit["outputs"][0]["uri"] == "s3://bank/normalized/b.csv"
    report = target.json("reuse", "report")
    row = next(r for r in report["items"] if r["executable"]["name"] == "normalize.py")
    assert (row["repeats"], row["reusable"]) == (2, 1)
