"""The model registry from the SDK and the command line, on a store file as a user has it:
train, register, alias, move, and ask why production changed and what ran since."""

from __future__ import annotations

import json
from pathlib import Path

import modeltrail as mt
from conftest import run_cli


def _train(trail: mt.Trail, data: str, lr: float, accuracy: float) -> mt.Step:
    with (
        trail.run(experiment="handwriting") as run,
        run.step("train", kind="train", config={"lr": lr}) as step,
    ):
        step.input(mt.dataset(name="digits", uri=data))
        model = step.output(
            mt.model(name="clf", hyperparameters={"lr": lr}), register="digits-classifier"
        )
        step.log_metric("accuracy", accuracy, of=model)
    return step


def test_sdk_and_cli_register_alias_and_explain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    trail = mt.connect(url)
    first = _train(trail, "file:///data/digits-2026-10.npz", 0.01, 0.91)
    second = _train(trail, "file:///data/digits-2026-11.npz", 0.02, 0.95)
    with trail.run(experiment="handwriting") as run, run.step("train", kind="train") as step:
        step.output(mt.model(name="clf"), register="digits-classifier")
    assert [v.version for v in first.versions + second.versions] == [1, 2]  # type: ignore[union-attr]
    assert first.versions[0].metrics == {"accuracy": 0.91}  # type: ignore[union-attr]
    assert step.versions[0].version == 3  # type: ignore[union-attr]
    try:
        with (
            trail.run(experiment="handwriting") as run,
            run.step("train", kind="train") as failing,
        ):
            failing.output(mt.model(name="clf"), register="digits-classifier")
            raise RuntimeError("diverged")
    except RuntimeError:
        pass
    assert failing.versions == []
    again = trail.register(second.outputs[0], "digits-classifier")
    assert again is not None and again.version == 2 and again.uri == "models:/digits-classifier/2"
    trail.close()

    def cli(*args: str) -> str:
        return run_cli(*args, "--url", url, cwd=tmp_path).stdout

    cli("models", "alias", "set", "digits-classifier", "production", "1", "--reason", "first")
    moved = cli("models", "alias", "set", "digits-classifier", "production", "2", "-r", "better")
    assert "moved from version 1 to 2" in moved
    listed = json.loads(cli("models", "list", "--json"))
    assert listed["items"][0]["aliases"] == {"production": 2}
    shown = json.loads(cli("models", "show", "digits-classifier", "--json"))
    assert [v["version"] for v in shown["versions"]] == [3, 2, 1]
    assert shown["versions"][1]["inputs"][0]["uri"] == "file:///data/digits-2026-11.npz"
    assert [(h["fromVersion"], h["toVersion"]) for h in shown["history"]] == [(1, 2), (None, 1)]
    guarded = json.loads(
        cli("models", "alias", "protect", "digits-classifier", "production", "--json")
    )
    assert (guarded["alias"], guarded["version"], guarded["protected"]) == ("production", 2, True)
    freed = json.loads(
        cli("models", "alias", "unprotect", "digits-classifier", "production", "--json")
    )
    assert freed["protected"] is False

    # why compares production with the version it pointed at before: the data changed.
    why = run_cli("why", "digits-classifier@production", "--url", url, cwd=tmp_path)
    assert "pointed at version 1 before" in why.stderr
    assert "digits-2026-10.npz -> file:///data/digits-2026-11.npz" in why.stdout
    why_json = json.loads(cli("why", "models:/digits-classifier@production", "--json"))
    assert why_json["artifact"]["id"] == second.outputs[0].id
    assert why_json["against"]["id"] == first.outputs[0].id
    # lineage and reproduce take a model reference too.
    lineage = json.loads(cli("lineage", "models:/digits-classifier/1", "--json"))
    assert any(n.get("uri") == "file:///data/digits-2026-10.npz" for n in lineage["nodes"])
    recipe = json.loads(cli("reproduce", "digits-classifier@production", "--json"))
    assert recipe["artifact"]["id"] == second.outputs[0].id

    # Moving production is a deployment: the runs since are those started after the move.
    history = json.loads(cli("history", "handwriting", "--json"))
    assert history["lastDeployment"]["version"] == 2
    assert history["runsSinceLastDeploy"] == 0
    assert [len(r["deployments"]) for r in history["runs"]] == [1, 1, 0, 0]
    text = cli("history", "handwriting")
    assert "production of digits-classifier moved to version 2" in text

    at = shown["history"][0]["time"]
    before = json.loads(cli("models", "resolve", "models:/digits-classifier@production", "--json"))
    assert before["version"] == 2
    then = json.loads(
        cli("models", "alias", "show", "digits-classifier", "production", "--json", "--at", at)
    )
    assert then["version"] == 2 and then["previousVersion"] == 1
    refused = run_cli(
        "models", "alias", "set", "digits-classifier", "production", "9", "--url", url,
        cwd=tmp_path, check=False,
    )  # fmt: skip
    assert refused.returncode == 1 and "no version 9" in refused.stderr


def test_cli_sets_an_alias_of_255_characters_and_refuses_256(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    trail = mt.connect(url)
    _train(trail, "file:///data/digits.npz", 0.01, 0.9)
    trail.close()
    longest, over = "a" * 255, "b" * 256
    run_cli("models", "alias", "set", "digits-classifier", longest, "1", "--url", url)
    refused = run_cli(
        "models", "alias", "set", "digits-classifier", over, "1", "--url", url, check=False
    )
    assert refused.returncode != 0
    assert "1 to 255 characters" in refused.stderr + refused.stdout, refused
    shown = run_cli("models", "alias", "show", "digits-classifier", longest, "--json", "--url", url)
    assert json.loads(shown.stdout)["version"] == 1
