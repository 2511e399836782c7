"""The command line as a user drives it by hand, in-process on each database: the write side,
names, and output that counts right and keeps ids whole."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import run_cli
from modeltrail.services.metadata import Metadata


@pytest.fixture
def store(metadata: Metadata) -> str:
    """The URL of the (empty) store under test, for the command line to open in-process."""
    return metadata.db.engine.url.render_as_string(hide_password=False)


def cli(store: str, *args: str, tmp_path: Path | None = None) -> str:
    return run_cli(*args, url=store, cwd=tmp_path).stdout


def cli_json(store: str, *args: str) -> dict:
    return json.loads(cli(store, *args, "--json"))


def test_create_run_log_finish_annotate_from_the_command_line(store: str) -> None:
    exp = cli_json(store, "experiments", "create", "handwriting", "-a", "team=mmp")
    assert exp["annotations"] == {"team": "mmp"}
    run = cli_json(store, "runs", "start", "handwriting", "--name", "nightly")
    assert run["status"] == "RUNNING" and run["experiment"] == exp["id"]
    metric = cli_json(store, "metrics", "log", "nightly", "accuracy", "0.93")
    assert metric["kind"] == "metrics" and metric["attributes"]["value"] == 0.93
    done = cli_json(store, "runs", "finish", "nightly", "--status", "failed")
    assert done["status"] == "FAILED" and done["endTime"]
    # the metric belongs to the run, and the run to the experiment, by name
    listed = cli_json(store, "artifacts", "list", "--filter", "run:eq:nightly")
    assert [a["id"] for a in listed["items"]] == [metric["id"]]
    runs = cli_json(store, "runs", "list", "--experiment", "handwriting")
    assert [r["name"] for r in runs["items"]] == ["nightly"]
    assert cli_json(store, "runs", "list", "--experiment", "other")["items"] == []
    annotated = cli_json(store, "annotate", "run", "nightly", "owner=ana", "reviewed=yes")
    assert annotated["annotations"] == {"owner": "ana", "reviewed": "yes"}
    annotated = cli_json(store, "annotate", "experiment", "handwriting", "team=")
    assert annotated["annotations"] == {}


def test_kinds_delete_a_version_nothing_uses(store: str, tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"result": {"type": "string"}}}
    kind = tmp_path / "validation.json"
    kind.write_text(json.dumps({"name": "validation", "schema": schema}))
    cli(store, "kinds", "register", str(kind))
    schema["properties"]["score"] = {"type": "number"}
    kind.write_text(json.dumps({"name": "validation", "schema": schema}))
    cli(store, "kinds", "register", str(kind))
    no_run = run_cli("metrics", "log", "nope", "x", "1", url=store, check=False)
    assert no_run.returncode == 1 and "no run is named 'nope'" in no_run.stderr
    gone = cli(store, "kinds", "delete", "validation", "--version", "2")
    assert "deleted kind validation version 2" in gone
    cli(store, "experiments", "create", "e")
    cli(store, "runs", "start", "e", "--name", "r")
    cli(store, "metrics", "log", "r", "accuracy", "0.9")
    used = run_cli("kinds", "delete", "metrics", "--version", "1", url=store, check=False)
    assert used.returncode == 1 and "error:" in used.stderr
    missing = run_cli("kinds", "delete", "validation", "--version", "9", url=store, check=False)
    assert missing.returncode == 1


def test_a_name_in_several_experiments_says_which_it_took(store: str) -> None:
    for name in ("first", "second"):
        cli(store, "experiments", "create", name)
        cli(store, "runs", "start", name, "--name", f"{name}-run")
    one = cli_json(store, "metrics", "log", "first-run", "accuracy", "0.9")
    two = cli_json(store, "metrics", "log", "second-run", "accuracy", "0.8")
    newest = run_cli("artifacts", "show", "accuracy", "--json", url=store)
    assert json.loads(newest.stdout)["id"] == two["id"]
    assert f"'accuracy' is {two['id']}" in newest.stderr
    assert "the newest of 2 artifacts of that name" in newest.stderr
    assert "--experiment" in newest.stderr
    within = run_cli("artifacts", "show", "accuracy", "--experiment", "first", "--json", url=store)
    assert json.loads(within.stdout)["id"] == one["id"] and within.stderr == ""
    nowhere = run_cli(
        "artifacts", "show", "accuracy", "--experiment", "third", url=store, check=False
    )
    assert "no artifact is named 'accuracy' in experiment 'third'" in nowhere.stderr


def test_output_counts_right_and_keeps_ids_whole(store: str) -> None:
    cli(store, "experiments", "create", "handwriting")
    first = cli_json(store, "runs", "start", "handwriting", "--name", "a")
    cli(store, "runs", "start", "handwriting", "--name", "b")
    cli(store, "metrics", "log", "a", "accuracy", "0.9")
    listed = cli(store, "runs", "list")  # stdout is a pipe here, not a terminal
    assert first["id"] in listed and "…" not in listed
    assert "handwriting" in listed and first["experiment"] not in listed  # its name, not its id
    trace = cli(store, "trace", "handwriting", "--limit", "1")
    assert "(1 run)" in trace and "run 2 b" in trace and "run 1" not in trace
    trace = cli(store, "trace", "handwriting")
    assert "(2 runs)" in trace and "run 1 a" in trace


def test_version_and_help_speak_to_users() -> None:
    version = run_cli("--version").stdout
    assert re.fullmatch(r"modeltrail \S+\n", version)
    helped = run_cli("--help").stdout
    for panel in ("Store", "Lineage", "Integrations", "Admin"):
        assert f"─ {panel} ─" in helped
    assert helped.index("─ Store ─") < helped.index("─ Lineage ─") < helped.index("─ Admin ─")
    for command in ("impact", "dag", "trace", "history", "reproduce", "compare", "cache"):
        text = run_cli(command, "--help").stdout
        assert not re.search(r"\bN?FR\d", text), (command, text)
    # A paragraph after the first is wrapped to the terminal, not at the docstring's breaks.
    text = run_cli("import", "--help").stdout
    assert "is already stored is skipped (a backup, ML Metadata) or updated (MLflow)." in text
