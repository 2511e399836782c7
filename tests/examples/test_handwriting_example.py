"""The thesis's case study run for real: two runs of prepare -> train -> deploy, then a digit
shown to the deployed model, and the stored metadata that explains its answer."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import modeltrail as mt
from conftest import ROOT, ServerProcess, cli_env, free_port, run_cli

EXAMPLE = ROOT / "examples" / "handwriting"


class Case:
    def __init__(self, server: ServerProcess, output: str, workdir: Path) -> None:
        self.server, self.output, self.workdir = server, output, workdir
        self.trail = mt.connect(server.url, on_unreachable="raise")

    def get(self, path: str, **params) -> dict:
        return self.trail.conn.get(f"/api/v1/{path}", **params)

    def all(self, plural: str, *filters: str) -> list[dict]:
        return self.get(plural, filter=list(filters), sort="createTime", limit=1000)["items"]


def run_example(workdir: Path) -> tuple[ServerProcess, str]:
    server = ServerProcess(f"sqlite:///{workdir / 'server.db'}", cwd=workdir)
    env = cli_env(MODELTRAIL_URL=server.url)
    done = subprocess.run(
        [sys.executable, str(EXAMPLE / "run_all.py"), "--fast", "--port", str(free_port())],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        server.stop()
        raise AssertionError(done.stdout + done.stderr)
    return server, done.stdout


def test_case_study_end_to_end(tmp_path: Path) -> None:
    """One test, so that the example runs once however the tests are spread over workers."""
    server, output = run_example(tmp_path)
    case = Case(server, output, tmp_path)
    try:
        check_runs(case)
        check_artifacts(case)
        check_answer(case)
        check_diff(case)
        check_why(case)
        check_reproduce(case)
    finally:
        case.trail.close()
        server.stop()


def check_runs(case: Case) -> None:
    first, second = case.all("runs")
    assert first["status"] == second["status"] == "SUCCESS"
    assert first["pipeline"] == second["pipeline"] and first["experiment"] == second["experiment"]
    assert first["configuration"] == {"dataset": "digits", "learning-rate": 0.01}
    assert second["configuration"] == {"dataset": "letters", "learning-rate": 0.005}
    assert case.get(f"artifacts/{first['event']}")["attributes"]["cause"] == "manual"
    change = case.get(f"artifacts/{second['event']}")["attributes"]
    assert change["cause"] == "data change" and change["dataset"] == "emnist-letters"
    for run in (first, second):
        steps = case.all("executions", f"run:eq:{run['id']}")
        assert [(s["name"], s["status"]) for s in steps] == [
            ("prepare", "SUCCESS"),
            ("train", "SUCCESS"),
            ("deploy", "SUCCESS"),
        ]
        assert steps[0]["inputArtifacts"][0] == run["event"]
        assert steps[0]["successors"] == [steps[1]["id"]] and steps[1]["successors"] == [
            steps[2]["id"]
        ]
        assert (
            steps[0]["outputArtifacts"] == steps[1]["inputArtifacts"]
        )  # one artifact across scripts
        assert steps[1]["outputArtifacts"][0] == steps[2]["inputArtifacts"][0]
    trains = case.all("executions", "name:eq:train")
    assert [t["configuration"]["learning-rate"] for t in trains] == [0.01, 0.005]
    (pipeline,) = case.all("pipelines")
    executables = case.all("executables")
    names = sorted(e["name"] for e in executables)
    assert names == ["deploy:deploy", "prepare:prepare", "train:train"]
    assert sorted(pipeline["executables"]) == sorted(e["id"] for e in executables)


def check_artifacts(case: Case) -> None:
    raw = {
        a["name"]: a
        for a in case.all("artifacts", "kind:eq:dataset")
        if a["name"] in {"mnist-digits", "emnist-letters"}
    }
    assert raw["mnist-digits"]["attributes"]["classes"] == 10
    assert raw["emnist-letters"]["attributes"]["classes"] == 26
    assert raw["mnist-digits"]["uri"].endswith("data/raw/mnist-digits")
    assert raw["emnist-letters"]["uri"].endswith("data/raw/emnist-letters")
    prepared = case.all("artifacts", "name:eq:handwriting-prepared")
    assert [p["attributes"]["classes"] for p in prepared] == [10, 26]
    assert (
        prepared[0]["uri"] == prepared[1]["uri"]
        and prepared[0]["attributes"]["sha256"] != prepared[1]["attributes"]["sha256"]
    )
    models = case.all("artifacts", "kind:eq:model")
    assert [m["attributes"]["type"] for m in models] == ["MLPClassifier", "MLPClassifier"]
    assert [m["attributes"]["hyperParameters"]["learning-rate"] for m in models] == [0.01, 0.005]
    assert [m["attributes"]["hyperParameters"]["learning_rate_init"] for m in models] == [
        0.01,
        0.005,
    ]
    assert [len(m["attributes"]["outputSchema"]["classes"]) for m in models] == [10, 26]
    assert [m["version"] for m in models] == ["1", "2"]  # retrained: other content
    for model in models:
        (accuracy,) = case.all("artifacts", "kind:eq:metrics", f"references:eq:{model['id']}")
        assert accuracy["name"] == "accuracy" and 0 < accuracy["attributes"]["value"] <= 1
    deployments = case.all("artifacts", "kind:eq:deployment")
    assert [d["attributes"]["model"] for d in deployments] == [m["id"] for m in models]
    assert (
        case.get("kinds/deployment")["schema"]["properties"]["model"]["x-artifact-reference"]
        is True
    )


def check_answer(case: Case) -> None:
    answers = json.loads(re.search(r"it answers (\[.*\])", case.output).group(1))
    assert len(answers) == 10 and any(a > 9 for a in answers)


def check_diff(case: Case) -> None:
    """The root cause first: the training data went from MNIST digits to EMNIST letters."""
    good, bad = case.all("artifacts", "kind:eq:model")
    diff = case.get(f"artifacts/{bad['id']}/diff", against=good["id"])
    first = diff["differences"][0]
    changes = {c["field"]: (c.get("before"), c.get("after")) for c in first["changes"]}
    assert first["category"] == "input", first
    before_uri, after_uri = changes["uri"]
    assert before_uri.endswith("mnist-digits") and after_uri.endswith("emnist-letters")
    assert changes["attributes.classes"] == (10, 26)
    learning_rate = [
        i
        for i, d in enumerate(diff["differences"])
        if any(c["field"] == "configuration.learning-rate" for c in d["changes"]) and d.get("step")
    ]
    assert learning_rate and learning_rate[0] <= 2, diff["differences"]


def check_why(case: Case) -> None:
    bad = case.all("artifacts", "kind:eq:model")[-1]
    out = run_cli("why", bad["id"], url=case.server.url).stdout
    first, rest = out.split("\n2. ", 1)
    assert "mnist-digits" in first and "emnist-letters" in first and "10 -> 26" in first, out
    assert "learning-rate: 0.01 -> 0.005" in rest, out


def check_reproduce(case: Case) -> None:
    """Every model the case study made has a complete recipe: the trigger is where lineage
    starts, not a missing input, and the source hash is what the SDK recorded."""
    for model in case.all("artifacts", "kind:eq:model"):
        out = run_cli("reproduce", model["id"], "--json", url=case.server.url).stdout
        recipe = json.loads(out)
        assert recipe["complete"], recipe["gaps"]
        assert not [g for g in recipe["gaps"] if g["what"] in {"input-uri", "source-hash"}], recipe
        for step in recipe["steps"]:
            executable = case.get(f"executables/{step['executable']['id']}")
            notes = executable["annotations"]
            assert step["sourceHash"] in {notes.get("git.commit"), notes.get("sha256")}, step
    text = run_cli("reproduce", "handwriting-mlp", url=case.server.url).stdout
    assert "(complete)" in text.splitlines()[0], text
