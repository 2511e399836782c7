# ruff: noqa: F811 - pytest fixtures imported by name
"""Metric series through the SDK, in every mode: points kept and sent in bulk, per run and per
step, the step's final values as metrics artifacts, mistakes refused where they are made."""

from __future__ import annotations

import math
from typing import Any

import pytest
from sdk_fixtures import shared_server, store, trail  # noqa: F401 - fixtures

import modeltrail as mt
from modeltrail.errors import InvalidInput


def _series(store: Any, run: str, key: str, **params: Any) -> dict[str, Any]:
    return store.get(f"runs/{run}/metrics/{key}", **params)  # type: ignore[no-any-return]


def test_points_of_a_run_and_its_steps_are_sent_in_bulk(trail: mt.Trail, store: Any) -> None:
    with trail.run(experiment="series") as run:
        run.log_metric("lr", 0.1)
        with run.step("train", kind="train") as step:
            for epoch in range(5):
                step.log_metrics({"loss": 1 / (epoch + 1), "acc": epoch / 10}, step=epoch)
            step.log_metric("loss", math.nan, step=5)
            step.log_metric("loss", 0.1, step=6)
        run.log_metrics({"lr": 0.01, "wall/seconds": 3}, step=1)
    loss = _series(store, run.id, "loss")
    assert loss["steps"] == [0, 1, 2, 3, 4, 5, 6]
    assert loss["values"][:2] == [1.0, 0.5] and loss["values"][5] == "NaN"
    assert _series(store, run.id, "lr")["values"] == [0.1, 0.01]
    listed = store.get(f"runs/{run.id}/metrics")
    by_key = {m["key"]: m for m in listed["metrics"]}
    assert by_key["acc"]["latest"] == 0.4 and by_key["loss"]["latest"] == 0.1
    assert {s["execution"] for s in listed["series"]} == {None, step.id}
    # The step's final values are what lineage shows: a metrics artifact each.
    outputs = store.get(f"executions/{step.id}")["outputArtifacts"]
    finals = {
        a["name"]: a["attributes"]["value"]
        for a in (store.get(f"artifacts/{o}") for o in outputs)
        if a["kind"] == "metrics"
    }
    assert finals == {"loss": 0.1, "acc": 0.4}


def test_points_past_the_buffer_are_sent_while_the_run_goes_on(trail: mt.Trail, store: Any) -> None:
    trail.metrics.max_points = 1000
    # Only the size sends here: a timed send in the middle of the loop (a slow machine takes
    # seconds for it) would send a point early and make the count 2001.
    trail.metrics.max_seconds = math.inf
    with trail.run(experiment="series") as run:
        for i in range(2500):
            run.log_metric("k", i, step=i)
        trail.metrics.sender.wait()  # the batches handed to the sender's thread
        assert _series(store, run.id, "k")["count"] == 2000  # two sends so far
    assert _series(store, run.id, "k")["steps"] == list(range(2500))


def test_a_metric_about_a_model_points_at_it(trail: mt.Trail, store: Any) -> None:
    with trail.run(experiment="series") as run, run.step("eval", kind="evaluate") as step:
        model = step.output(mt.model("cnn"))
        step.log_metric("val/acc", 0.97, step=3, of=model)
    assert store.get(f"runs/{run.id}/metrics")["series"][0]["artifact"] == model.id


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda r: r.log_metric("bad key!", 1.0), ValueError),
        (lambda r: r.log_metric("k" * 251, 1.0), ValueError),
        (lambda r: r.log_metric("k", "1.5"), TypeError),
        (lambda r: r.log_metric("k", None), TypeError),
        (lambda r: r.log_metric("k", True), TypeError),
        (lambda r: r.log_metric("k", 1.0, step=1.5), TypeError),
        (lambda r: r.log_metric("k", 1.0, step=True), TypeError),
        (lambda r: r.log_metric("k", 1.0, step=2**64), ValueError),
    ],
)
def test_mistakes_are_refused_at_the_call(trail: mt.Trail, call: Any, error: type) -> None:
    with trail.run(experiment="series") as run:
        with pytest.raises(error):
            call(run)
        run.log_metric("fine", 1.0)


def test_a_refused_send_fails_the_step(trail: mt.Trail, store: Any) -> None:
    with (
        pytest.raises(InvalidInput),
        trail.run(experiment="series") as run,
        run.step("train", kind="train") as step,
    ):
        # An artifact id no store holds: the server refuses the points.
        trail.metrics.add(run.id, step.id, {"k": 1.0}, step=0, artifact=step.id)
    assert store.get(f"executions/{step.id}")["status"] == "FAILED"
    assert store.get(f"runs/{run.id}")["status"] == "FAILED"
