# ruff: noqa: F811 - pytest fixtures imported by name
"""Runs, steps, artifacts, triggers, annotations and reuse through the SDK, in every mode."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sdk_fixtures import shared_server, store, trail  # noqa: F401 - fixtures
from sklearn.linear_model import LogisticRegression

import modeltrail as mt
from modeltrail.errors import InvalidInput, ModeltrailError


def test_run_and_steps_are_running_inside_and_success_after(trail: mt.Trail, store) -> None:
    with trail.run(experiment="handwriting", pipeline="digits", trigger=mt.Trigger.manual()) as run:
        assert store.get(f"runs/{run.id}")["status"] == "RUNNING"
        with run.step("prepare", kind="transformation", config={"split": 0.25}) as step:
            execution = store.get(f"executions/{step.id}")
            assert execution["status"] == "RUNNING"
            assert execution["startTime"] and execution["endTime"] is None
        assert store.get(f"executions/{step.id}")["status"] == "SUCCESS"
    stored = store.get(f"runs/{run.id}")
    assert stored["status"] == "SUCCESS" and stored["endTime"]
    execution = store.get(f"executions/{step.id}")
    assert execution["status"] == "SUCCESS" and execution["endTime"] >= execution["startTime"]
    assert execution["configuration"] == {"split": 0.25}
    assert execution["kind"] == "transformation"


def test_failure_is_recorded_with_the_exception_and_reraised(trail: mt.Trail, store) -> None:
    with pytest.raises(ZeroDivisionError), trail.run(experiment="e", pipeline="p") as run:
        with run.step("ok"):
            pass
        with run.step("boom") as step:
            1 / 0  # noqa: B018
    execution = store.get(f"executions/{step.id}")
    assert execution["status"] == "FAILED"
    assert execution["annotations"]["error.type"] == "ZeroDivisionError"
    assert execution["annotations"]["error.message"] == "division by zero"
    assert "1 / 0" in execution["annotations"]["error.traceback"]
    stored = store.get(f"runs/{run.id}")
    assert (
        stored["status"] == "FAILED" and stored["annotations"]["error.type"] == "ZeroDivisionError"
    )
    assert [e["status"] for e in store.all("executions")] == ["SUCCESS", "FAILED"]


def test_the_trigger_is_the_runs_event_and_the_first_steps_input(trail: mt.Trail, store) -> None:
    trigger = mt.Trigger.data_change("s3://data/emnist", dataset="emnist-letters")
    with trail.run(experiment="e", pipeline="p", trigger=trigger) as run:
        with run.step("prepare") as first:
            pass
        with run.step("train") as second:
            pass
    event = store.get(f"artifacts/{store.get(f'runs/{run.id}')['event']}")
    assert event["kind"] == "event" and event["name"] == "data-change"
    assert event["attributes"]["cause"] == "data change"
    assert event["attributes"]["uri"] == "s3://data/emnist"
    assert store.get(f"executions/{first.id}")["inputArtifacts"] == [event["id"]]
    assert store.get(f"executions/{second.id}")["inputArtifacts"] == []
    assert store.get(f"executions/{first.id}")["successors"] == [second.id]


def test_trigger_defaults_to_manual_and_reads_the_environment(
    trail: mt.Trail, store, monkeypatch
) -> None:
    with trail.run(experiment="e") as run:
        pass
    assert store.get(f"artifacts/{run.event_id}")["attributes"]["cause"] == "manual"
    monkeypatch.setenv("MODELTRAIL_TRIGGER", "schedule:nightly")
    with trail.run(experiment="e") as run:
        pass
    attributes = store.get(f"artifacts/{run.event_id}")["attributes"]
    assert attributes == {"cause": "schedule", "source": "MODELTRAIL_TRIGGER", "detail": "nightly"}


def test_repeated_runs_share_experiment_pipeline_and_executables(trail: mt.Trail, store) -> None:
    runs = []
    for _ in range(2):
        with trail.run(experiment="handwriting", pipeline="digits") as run:
            with run.step("prepare"):
                pass
            with run.step("train", kind="train"):
                pass
        runs.append(store.get(f"runs/{run.id}"))
    assert len(store.all("experiments")) == 1 and len(store.all("pipelines")) == 1
    assert (
        runs[0]["pipeline"] == runs[1]["pipeline"]
        and runs[0]["experiment"] == runs[1]["experiment"]
    )
    executables = store.all("executables")
    assert sorted(e["name"] for e in executables) == [
        "test_sdk_tracking:prepare",
        "test_sdk_tracking:train",
    ]
    pipeline = store.get(f"pipelines/{runs[0]['pipeline']}")
    assert sorted(pipeline["executables"]) == sorted(e["id"] for e in executables)
    executable = executables[0]
    assert executable["uri"].endswith("test_sdk_tracking.py")
    assert len(executable["annotations"]["sha256"]) == 64
    assert executable["version"] == executable["annotations"]["sha256"][:12]


def test_run_collects_environment_and_command(trail: mt.Trail, store) -> None:
    with trail.run(experiment="e", config={"epochs": 3}, annotations={"owner": "alice"}) as run:
        pass
    stored = store.get(f"runs/{run.id}")
    notes = stored["annotations"]
    assert notes["owner"] == "alice" and notes["env.python"].count(".") == 2
    assert {"env.platform", "env.host", "env.user", "command"} <= set(notes)
    assert notes["env.package.numpy"] == np.__version__
    assert stored["configuration"] == {"epochs": 3}


def test_inputs_outputs_models_and_metrics(trail: mt.Trail, store, tmp_path) -> None:
    (tmp_path / "raw.csv").write_text("a,b\n1,2\n")
    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    y = np.array([0, 1, 0, 1])
    with trail.run(experiment="e", pipeline="p") as run:
        with run.step("prepare") as prepare:
            raw = prepare.input(mt.dataset(tmp_path / "raw.csv", classes=2))
            clean = prepare.output(mt.dataset(x, name="clean"))
        with run.step("train", kind="train", config={"learning-rate": 0.1}) as train:
            assert train.input(clean) == clean
            clf = LogisticRegression(C=0.5).fit(x, y)
            model = train.output(mt.model(clf, hyperparameters={"learning-rate": 0.1}))
            metric = train.log_metric("accuracy", 0.75, of=model)
    stored_raw = store.get(f"artifacts/{raw.id}")
    assert stored_raw["attributes"]["size"] == 8 and stored_raw["attributes"]["classes"] == 2
    assert stored_raw["annotations"]["classes"] == "2"
    assert store.get(f"executions/{prepare.id}")["outputArtifacts"] == [clean.id]
    assert store.get(f"executions/{train.id}")["inputArtifacts"] == [clean.id]
    assert store.get(f"executions/{train.id}")["outputArtifacts"] == [model.id, metric.id]
    assert store.get(f"executions/{prepare.id}")["successors"] == [train.id]
    stored_model = store.get(f"artifacts/{model.id}")["attributes"]
    assert stored_model["type"] == "LogisticRegression"
    assert stored_model["hyperParameters"]["C"] == 0.5
    assert stored_model["hyperParameters"]["learning-rate"] == 0.1
    # Named fields and real JSON natively; the thesis's Pair and JSON text in /v1/metadata only.
    assert stored_model["framework"]["name"] == "scikit-learn"
    assert stored_model["inputSchema"] == {"n_features": 2}
    assert stored_model["outputSchema"] == {"classes": [0, 1]}
    thesis = trail.conn.get(f"/v1/metadata/experiments/runs/executions/artifacts/{model.id}")
    assert set(thesis["framework"]) == {"value1", "value2"}
    assert thesis["framework"]["value1"] == "scikit-learn"
    assert json.loads(thesis["inputSchema"]) == {"n_features": 2}
    metric_stored = store.get(f"artifacts/{metric.id}")
    assert metric_stored["attributes"] == {"value": 0.75, "schema": "number", "reference": model.id}
    # metrics -> model is a stored relation: list the metrics of the model
    assert [a["id"] for a in store.all("artifacts", f"references:eq:{model.id}")] == [metric.id]
    assert [
        a["id"]
        for a in store.all("artifacts", "kind:eq:model", "hyperParameters.learning-rate:eq:0.1")
    ] == [model.id]


def test_an_input_already_stored_is_linked_not_copied(trail: mt.Trail, store, tmp_path) -> None:
    (tmp_path / "data.bin").write_bytes(b"\x00" * 100)
    with trail.run(experiment="e") as run:
        with run.step("write") as writer:
            written = writer.output(mt.dataset(tmp_path / "data.bin"))
        with run.step("read") as reader:
            read = reader.input(mt.dataset(tmp_path / "data.bin"))
    assert read.id == written.id
    assert len(store.all("artifacts", "kind:eq:dataset")) == 1
    assert store.get(f"executions/{writer.id}")["successors"] == [reader.id]


def test_annotations_on_anything_at_any_time(trail: mt.Trail, store) -> None:
    with trail.run(experiment="e") as run:
        run.annotate(owner="alice")
        with run.step("s") as step:
            out = step.output(mt.artifact("dataset", "d"))
            step.annotate({"reviewed-by": "bob"})
    trail.annotate(out, quality="good")
    trail.annotate(out, {"quality": "better", "note": "x"})
    assert store.get(f"runs/{run.id}")["annotations"]["owner"] == "alice"
    assert store.get(f"runs/{run.id}")["status"] == "SUCCESS"
    assert store.get(f"executions/{step.id}")["annotations"]["reviewed-by"] == "bob"
    assert store.get(f"artifacts/{out.id}")["annotations"] == {"quality": "better", "note": "x"}


def test_decorated_functions_are_steps(trail: mt.Trail, store) -> None:
    @trail.step(kind="transformation")
    def scale(data: mt.Artifact, factor: float = 2.0) -> mt.ArtifactSpec:
        return mt.dataset(np.arange(4) * factor, name="scaled")

    with trail.run(experiment="e", pipeline="p") as run:
        with run.step("load") as load:
            raw = load.output(mt.dataset(np.arange(4), name="raw"))
        scaled = scale(raw, factor=3.0)
    assert isinstance(scaled, mt.Artifact) and scaled.attributes["shape"] == [4]
    executions = store.all("executions", f"run:eq:{run.id}")
    assert [e["name"] for e in executions] == ["load", "scale"]
    decorated = executions[1]
    assert decorated["configuration"] == {"factor": 3.0}
    assert decorated["inputArtifacts"] == [raw.id] and decorated["outputArtifacts"] == [scaled.id]
    executable = store.get(f"executables/{decorated['executable']}")
    assert executable["name"].endswith("test_decorated_functions_are_steps.<locals>.scale")
    # outside any run, a decorated function opens a run of its own
    alone = scale(raw, factor=4.0)
    owner = store.all("executions", f"outputArtifact:eq:{alone.id}")[0]
    assert owner["run"] != run.id and store.get(f"runs/{owner['run']}")["status"] == "SUCCESS"


def test_a_step_already_done_is_reused_not_run_again(trail: mt.Trail, store) -> None:
    calls = []

    @trail.step(kind="transformation", cache=True)
    def normalise(data: mt.Artifact, scale: float = 1.0) -> mt.ArtifactSpec:
        calls.append(scale)
        return mt.dataset(np.ones(3) * scale, name="normalised")

    def pipeline(scale: float) -> tuple[str, mt.Artifact]:
        with trail.run(
            experiment="e", pipeline="p", trigger=mt.Trigger.schedule("0 3 * * *")
        ) as run:
            with run.step("load") as load:
                raw = load.input(mt.dataset("s3://bucket/raw.csv", size=10))
            return run.id, normalise(raw, scale=scale)

    first_run, first = pipeline(1.0)
    second_run, second = pipeline(1.0)
    third_run, third = pipeline(2.0)
    assert calls == [1.0, 2.0]
    assert second.id == first.id and third.id != first.id
    done = store.all("executions", "name:eq:normalise")
    assert [e["status"] for e in done] == ["SUCCESS"] * 3
    assert done[1]["reusedFrom"] == done[0]["id"] and done[1]["run"] == second_run
    assert done[0]["reusedFrom"] is None and done[2]["reusedFrom"] is None
    assert done[1]["fingerprint"] == done[0]["fingerprint"] != done[2]["fingerprint"]
    # a reuse of a reuse points at the execution that did the work
    _, fourth = pipeline(1.0)
    assert fourth.id == first.id
    assert store.all("executions", "name:eq:normalise")[-1]["reusedFrom"] == done[0]["id"]


def test_reuse_does_not_depend_on_what_triggered_the_run(trail: mt.Trail, store) -> None:
    """The trigger is the first step's input (lineage starts there), not part of its work."""
    calls = []

    @trail.step(kind="transformation", cache=True)
    def normalise(data: mt.ArtifactSpec, scale: float = 1.0) -> mt.ArtifactSpec:
        calls.append(scale)
        return mt.dataset(np.ones(3) * scale, name="normalised")

    raw = mt.dataset("s3://bucket/raw.csv", size=10)
    outputs, runs = [], []
    for trigger in (
        mt.Trigger.manual(),
        mt.Trigger.schedule("0 3 * * *"),
        mt.Trigger.schedule("0 4 * * *"),
        mt.Trigger.manual(),
    ):
        with trail.run(experiment="e", pipeline="p", trigger=trigger) as run:
            outputs.append(normalise(raw))  # the run's first step: it reads the trigger
        runs.append(run.id)
    assert calls == [1.0]
    assert len({o.id for o in outputs}) == 1
    done = store.all("executions", "name:eq:normalise")
    events = [store.get(f"runs/{r}")["event"] for r in runs]
    assert [e["inputArtifacts"][0] for e in done] == events  # lineage still starts there
    assert len({e["fingerprint"] for e in done}) == 1
    assert [e["reusedFrom"] for e in done] == [None] + [done[0]["id"]] * 3


def test_a_cached_step_called_twice_in_one_run_runs_once(trail: mt.Trail, store) -> None:
    calls = []

    @trail.step(kind="transformation", cache=True)
    def normalise(data: mt.ArtifactSpec, scale: float = 1.0) -> mt.ArtifactSpec:
        calls.append(scale)
        return mt.dataset(np.ones(3) * scale, name="normalised")

    raw = mt.dataset("s3://bucket/raw.csv", size=10)
    with trail.run(experiment="e", trigger=mt.Trigger.manual()) as run:
        first = normalise(raw)
        second = normalise(raw)
        other = normalise(raw, scale=2.0)
    assert calls == [1.0, 2.0]
    assert second.id == first.id != other.id
    done = store.all("executions", f"run:eq:{run.id}")
    assert [e["reusedFrom"] for e in done] == [None, done[0]["id"], None]


def test_two_equal_triggers_are_two_events(trail: mt.Trail, store) -> None:
    """Equal attributes do not make two triggers one event: the trace keeps them apart."""
    runs = []
    for experiment in ("a", "b", "b"):
        with (
            trail.run(experiment=experiment, trigger=mt.Trigger.manual()) as run,
            run.step("s") as step,
        ):
            step.output(mt.dataset("s3://bucket/out.csv"))
        runs.append(store.get(f"runs/{run.id}"))
    events = [store.get(f"artifacts/{r['event']}") for r in runs]
    assert len({e["id"] for e in events}) == len({e["fingerprint"] for e in events}) == 3
    trace = store.get(f"experiments/{runs[1]['experiment']}/trace")
    event_nodes = [a for a in trace["artifacts"] if a["kind"] == "event"]
    assert len(event_nodes) == 2 and all(len(a["runs"]) == 1 for a in event_nodes)


def test_a_name_with_other_content_gets_the_next_version_in_its_experiment(
    trail: mt.Trail, store
) -> None:
    def train(experiment: str, rate: float, *, version: str | None = None) -> mt.Artifact:
        with trail.run(experiment=experiment) as run, run.step("train") as step:
            return step.output(
                mt.model(name="mlp", version=version, hyperparameters={"rate": rate})
            )

    first = train("digits", 0.1)
    retrained = train("digits", 0.05)
    same = train("digits", 0.05)  # the same content: the same version (equal artifacts)
    again = train("digits", 0.2)
    elsewhere = train("letters", 0.2)  # another experiment counts on its own
    pinned = train("digits", 0.3, version="v9")
    assert [a.version for a in (first, retrained, same, again, elsewhere, pinned)] == [
        "1",
        "2",
        "2",
        "3",
        "1",
        "v9",
    ]
    assert same.fingerprint == retrained.fingerprint != first.fingerprint
    stored = store.get(f"artifacts/{again.id}")
    assert stored["version"] == "3" and stored["fingerprint"] == again.fingerprint
    # Another client (another process) continues where the store is.
    other = mt.connect(trail.target, on_unreachable="raise")
    try:
        with other.run(experiment="digits") as run, run.step("train") as step:
            later = step.output(mt.model(name="mlp", hyperparameters={"rate": 0.4}))
    finally:
        other.close()
    assert later.version == "4"


def test_with_form_cached_returns_outputs(trail: mt.Trail, store) -> None:
    results = []
    for _ in range(2):
        with trail.run(experiment="e") as run, run.step("features", config={"k": 3}) as step:
            step.input(mt.dataset("s3://bucket/raw.csv"))
            reused = step.cached()
            if reused is None:
                out = step.output(mt.dataset("s3://bucket/features.parquet"))
            else:
                (out,) = reused
            results.append((step.id, reused, out))
    assert results[0][1] is None and results[1][2] == results[0][2]
    assert store.get(f"executions/{results[1][0]}")["reusedFrom"] == results[0][0]


def test_problems_become_typed_exceptions(trail: mt.Trail) -> None:
    with pytest.raises(InvalidInput) as caught:
        trail.send(
            "POST",
            "/api/v1/artifacts",
            {"name": "m", "kind": "metrics", "attributes": {"reference": "x"}},
        )
    assert isinstance(caught.value, ModeltrailError) and caught.value.errors
    with pytest.raises(mt.errors.NotFound):
        trail.artifact("00000000-0000-0000-0000-000000000000")
