"""The SDK as a new user meets it: a script that crashes mid-step, a session typed at a prompt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import modeltrail as mt
from conftest import cli_env

CRASHING = """
import modeltrail as mt

trail = mt.connect()
with trail.run(experiment="handwriting", pipeline="digits") as run:
    with run.step("prepare") as step:
        step.output(mt.dataset("s3://bucket/clean.csv"))
    with run.step("train", kind="train", config={"learning-rate": 0.1}) as step:
        step.input(mt.dataset("s3://bucket/clean.csv"))
        raise RuntimeError("GPU fell off the bus")
"""


def test_a_script_that_crashes_mid_step(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(CRASHING)
    done = subprocess.run(
        [sys.executable, "train.py"],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "RuntimeError: GPU fell off the bus" in done.stderr  # re-raised, as if untracked
    with mt.connect(f"sqlite:///{tmp_path / 'modeltrail.db'}", on_unreachable="raise") as trail:
        (run,) = trail.conn.get("/api/v1/runs")["items"]
        assert run["status"] == "FAILED" and run["endTime"]
        assert run["annotations"]["error.type"] == "RuntimeError"
        steps = trail.conn.get("/api/v1/executions", sort="startTime")["items"]
        assert [(s["name"], s["status"]) for s in steps] == [
            ("prepare", "SUCCESS"),
            ("train", "FAILED"),
        ]
        failed = steps[1]
        assert failed["annotations"]["error.message"] == "GPU fell off the bus"
        assert (
            'raise RuntimeError("GPU fell off the bus")' in failed["annotations"]["error.traceback"]
        )
        assert failed["inputArtifacts"] == steps[0]["outputArtifacts"]  # the same artifact, linked
        executable = trail.conn.get(f"/api/v1/executables/{failed['executable']}")
        assert executable["name"] == "train:train" and executable["annotations"]["path"].endswith(
            "train.py"
        )
        assert run["annotations"]["command"].endswith("train.py")


def test_a_session_typed_at_the_prompt(tmp_path: Path) -> None:
    session = (
        "import modeltrail as mt\n"
        "trail = mt.connect('session.db')\n"
        "run = trail.run(experiment='notebook').__enter__()\n"
        "step = run.step('explore').__enter__()\n"
        "d = step.input(mt.dataset('s3://bucket/x.csv'))\n"
        "step.__exit__(None, None, None); run.__exit__(None, None, None)\n"
        "trail.annotate(d, verdict='looks fine')\n"
        "print(trail.artifact('x').annotations['verdict'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-i"],
        input=session,
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "looks fine" in done.stdout, done.stderr
    with mt.connect(str(tmp_path / "session.db")) as trail:
        (execution,) = trail.conn.get("/api/v1/executions")["items"]
        assert execution["status"] == "SUCCESS"
        executable = trail.conn.get(f"/api/v1/executables/{execution['executable']}")
        assert executable["name"] == "__main__:explore" and executable["uri"] is None
