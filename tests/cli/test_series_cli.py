"""Metric series from the command line, in-process on each database: a point per call with
``metrics log --step``, a run's metrics with ``metrics list``, a series with ``metrics show``
(whole, a step range, downsampled; a table, JSON or CSV)."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from modeltrail.services.metadata import Metadata


@pytest.fixture
def store(metadata: Metadata) -> str:
    return metadata.db.engine.url.render_as_string(hide_password=False)


def cli(store: str, *args: str, check: bool = True) -> str:
    return run_cli(*args, url=store, check=check).stdout


def test_log_list_and_show_a_series(store: str) -> None:
    cli(store, "experiments", "create", "cli-series")
    cli(store, "runs", "start", "cli-series", "--name", "night")
    for step, value in enumerate(["0.9", "0.5", "NaN", "0.25"]):
        out = cli(store, "metrics", "log", "night", "val/loss", value, "--step", str(step))
        assert f"at step {step}" in out
    listed = json.loads(cli(store, "metrics", "list", "night", "--json"))
    summary = listed["metrics"][0]
    assert (summary["key"], summary["count"], summary["latest"], summary["min"]) == (
        "val/loss",
        4,
        0.25,
        0.25,
    )
    assert "val/loss" in cli(store, "metrics", "list", "night")
    whole = json.loads(cli(store, "metrics", "show", "night", "val/loss", "--json"))
    assert whole["steps"] == [0, 1, 2, 3] and whole["values"] == [0.9, 0.5, "NaN", 0.25]
    part = cli(store, "metrics", "show", "night", "val/loss", "--start", "1", "--end", "2", "--csv")
    lines = part.strip().splitlines()
    assert lines[0] == "step,timestamp,value"
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2"]
    assert lines[2].endswith(",NaN")
    buckets = cli(store, "metrics", "show", "night", "val/loss", "--points", "2", "--csv")
    assert buckets.strip().splitlines() == [
        "first step,last step,points,min,max,last",
        "0,1,2,0.5,0.9,0.5",
        "2,3,2,0.25,0.25,0.25",
    ]
    assert "val/loss (4 points)" in cli(store, "metrics", "show", "night", "val/loss")


def test_mistakes_are_one_line_each(store: str) -> None:
    cli(store, "experiments", "create", "cli-series")
    cli(store, "runs", "start", "cli-series", "--name", "night")
    bad = run_cli("metrics", "log", "night", "bad key!", "1", "--step", "0", url=store, check=False)
    assert bad.returncode == 1 and "/points/0/key" in bad.stderr and "Traceback" not in bad.stderr
    text = run_cli("metrics", "log", "night", "k", "high", "--step", "0", url=store, check=False)
    assert text.returncode == 1 and "/points/0/value" in text.stderr
    missing = run_cli("metrics", "show", "night", "nope", url=store, check=False)
    assert missing.returncode == 1 and "has no metric 'nope'" in missing.stderr


def test_show_reads_a_key_that_reads_as_a_path(store: str) -> None:
    # A key may hold dots and slashes; in the URL it is one segment, so that '..' does not
    # climb to another route and '.' is not dropped.
    cli(store, "experiments", "create", "cli-series")
    cli(store, "runs", "start", "cli-series", "--name", "night")
    keys = ["../etc", "..", ".", "a//b", "val/./acc", "lr x"]
    for i, key in enumerate(keys):
        cli(store, "metrics", "log", "night", key, str(i), "--step", "0")
    for i, key in enumerate(keys):
        shown = json.loads(cli(store, "metrics", "show", "night", key, "--json"))
        assert (shown["key"], shown["values"]) == (key, [float(i)]), key
