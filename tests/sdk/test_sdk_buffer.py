"""Writes kept inside a run and sent as batches: fewer requests, the same metadata, nothing lost."""

# ruff: noqa: F811 - pytest fixtures imported by name
from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import httpx
import pytest
from sdk_fixtures import Store, shared_server, store, trail  # noqa: F401 - fixtures

import modeltrail as mt
from modeltrail.errors import InvalidInput
from modeltrail.sdk.buffer import Write, WriteBuffer, operations

CHECKED = {
    "type": "object",
    "properties": {"split": {"enum": ["train", "test"]}},
    "required": ["split"],
}


def pipeline(trail: mt.Trail, experiment: str) -> mt.Run:
    """Three steps: a dataset read, cleaned, a model trained and measured, then evaluated."""
    with trail.run(experiment=experiment, pipeline="digits", config={"seed": 1}) as run:
        with run.step("prepare", config={"split": 0.25}) as prepare:
            raw = prepare.input(mt.dataset("s3://data/digits.csv", name="digits"))
            clean = prepare.output(mt.dataset("s3://data/clean.csv", name="clean", rows=1797))
        with run.step("train", kind="train", config={"learning-rate": 0.01}) as train:
            train.input(clean)
            model = train.output(mt.model(name="mlp", uri="models/mlp.joblib"))
            train.log_metric("accuracy", 0.97, of=model)
            train.annotate(note="first try")
        with run.step("evaluate", kind="evaluation") as evaluate:
            evaluate.input(model)
            evaluate.input(raw)
        run.annotate(reviewed="yes")
    return run


def snapshot(store: Store, run: mt.Run) -> dict[str, Any]:
    """What a user reads back about a run, by names (ids and times differ between runs)."""
    executions = store.all("executions", f"run:eq:{run.id}")
    names = {e["id"]: e["name"] for e in executions}
    artifact_names = {}
    for e in executions:
        for aid in e["inputArtifacts"] + e["outputArtifacts"]:
            artifact = store.get(f"artifacts/{aid}")
            # A metric names the model it is about by id: its fingerprint differs per run.
            same = None if artifact["kind"] == "metrics" else artifact["fingerprint"]
            artifact_names[aid] = (artifact["kind"], artifact["name"], same)
    stored_run = store.get(f"runs/{run.id}")
    return {
        "run": (stored_run["status"], stored_run["configuration"], stored_run["annotations"]),
        "executions": [
            {
                "name": e["name"],
                "status": e["status"],
                "configuration": e["configuration"],
                "note": e["annotations"].get("note"),
                "inputs": [artifact_names[a][:2] for a in e["inputArtifacts"]],
                "outputs": [artifact_names[a] for a in e["outputArtifacts"]],
                "successors": [names[s] for s in e["successors"]],
                "fingerprint": e["fingerprint"],
            }
            for e in executions
        ],
    }


def count_requests(trail: mt.Trail) -> Counter[tuple[str, str]]:
    """Counts the requests the client sends from now on (method, path without ids)."""
    sent: Counter[tuple[str, str]] = Counter()
    request = trail.conn.request

    def counting(method: str, path: str, **kwargs: Any) -> Any:
        sent[method, path.split("/")[3]] += 1
        return request(method, path, **kwargs)

    trail.conn.request = counting  # type: ignore[method-assign]
    return sent


@pytest.mark.parametrize("buffering", ["step", "run"])
def test_a_buffered_run_stores_what_single_writes_store_in_fewer_requests(
    trail: mt.Trail, store: Store, buffering: str
) -> None:
    trail.buffering = "off"
    one_by_one = snapshot(store, pipeline(trail, "one by one"))
    trail.buffering = buffering
    sent = count_requests(trail)
    run = pipeline(trail, "buffered")
    assert snapshot(store, run) == one_by_one
    writes = {k: n for k, n in sent.items() if k[0] != "GET"}
    # The run's start is sent at once (its experiment, trigger event and the run); then a
    # batch at each step's start and end and one at the run's end, or one for the whole run.
    batches = 2 * 3 + 1 if buffering == "step" else 1
    assert writes == {
        ("POST", "experiments"): 1,
        ("POST", "artifacts"): 1,
        ("POST", "runs"): 1,
        ("POST", "batch"): batches,
    }


def test_a_running_step_shows_at_once_unless_the_whole_run_is_kept(
    trail: mt.Trail, store: Store
) -> None:
    with trail.run(experiment="e") as run, run.step("first") as step:
        assert store.get(f"executions/{step.id}")["status"] == "RUNNING"
    trail.buffering = "run"
    with trail.run(experiment="e") as run:
        with run.step("kept") as step:
            step.output(mt.dataset("s3://data/kept.csv", name="kept"))
        assert store.all("executions", f"run:eq:{run.id}") == []
        # The client's own reads send what it kept first.
        assert trail.artifact("kept").uri == "s3://data/kept.csv"
        assert store.get(f"executions/{step.id}")["status"] == "SUCCESS"
    assert store.get(f"runs/{run.id}")["status"] == "SUCCESS"


@pytest.mark.parametrize("buffering", ["step", "run"])
def test_a_refused_write_fails_its_step_and_run_and_loses_nothing_else(
    trail: mt.Trail, store: Store, buffering: str
) -> None:
    trail.register_kind("checked", CHECKED)
    trail.buffering = buffering
    with (
        pytest.raises(InvalidInput) as caught,
        trail.run(experiment="e") as run,
        run.step("check") as step,
    ):
        good = step.output(mt.dataset("s3://data/good.csv", name="good"))
        step.output(mt.artifact("checked", "bad", split="holdout"))
    refused = caught.value
    assert refused.detail.startswith("POST /api/v1/artifacts: ")
    assert [e["pointer"] for e in refused.errors] == ["/attributes/split"]
    refusal = "modeltrail.domain.errors.InvalidKindAttributes"
    execution = store.get(f"executions/{step.id}")
    assert execution["outputArtifacts"] == [good.id]
    if buffering == "step":  # sent, and refused, as the step ended
        assert execution["status"] == "FAILED"
        assert execution["annotations"]["error.type"] == refusal
    stored_run = store.get(f"runs/{run.id}")
    assert stored_run["status"] == "FAILED"
    assert stored_run["annotations"]["error.type"] == refusal
    assert "/attributes/split" in stored_run["annotations"]["error.message"]
    assert [a["name"] for a in store.all("artifacts", "kind:eq:checked")] == []


def test_an_error_of_the_step_itself_is_not_hidden_by_a_refused_write(
    trail: mt.Trail, store: Store
) -> None:
    trail.register_kind("checked", CHECKED)
    with (
        pytest.raises(ZeroDivisionError),
        trail.run(experiment="e") as run,
        run.step("boom") as step,
    ):
        step.output(mt.artifact("checked", "bad", split="holdout"))
        1 / 0  # noqa: B018
    assert store.get(f"executions/{step.id}")["status"] == "FAILED"
    assert store.get(f"runs/{run.id}")["annotations"]["error.type"] == "ZeroDivisionError"


def test_writes_outside_a_run_are_sent_at_once(trail: mt.Trail, store: Store) -> None:
    stored = trail.store(mt.dataset("s3://data/alone.csv", name="alone"))
    assert store.get(f"artifacts/{stored.id}")["name"] == "alone"


def test_writes_of_another_thread_and_of_the_run_are_all_stored(
    trail: mt.Trail, store: Store
) -> None:
    """Another thread writes outside the run: it sends at once, and sends what the run kept
    first, while the run goes on adding to it. Each write is stored once, in a batch that
    holds what it refers to."""
    trail.buffering = "run"
    trail.buffer_size = 50

    def elsewhere() -> None:
        for i in range(40):
            trail.store(mt.dataset(f"s3://data/side-{i}.csv", name="side"))

    with trail.run(experiment="e") as run, run.step("many") as step:
        side = threading.Thread(target=elsewhere)
        side.start()
        for i in range(150):
            step.output(mt.dataset(f"s3://data/part-{i}.csv", name="part"))
        side.join()
    assert len(store.get(f"executions/{step.id}")["outputArtifacts"]) == 150
    assert store.get("artifacts", filter="name:eq:part", count=True)["total"] == 150
    assert store.get("artifacts", filter="name:eq:side", count=True)["total"] == 40


def test_buffering_is_chosen_by_argument_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="buffer must be"):
        mt.connect("http://127.0.0.1:9", buffer="always")
    with pytest.raises(ValueError, match="buffer_size"):
        mt.connect("http://127.0.0.1:9", buffer_size=0)
    monkeypatch.setenv("MODELTRAIL_BUFFER", "run")
    assert mt.connect("http://127.0.0.1:9").buffering == "run"
    assert mt.connect("http://127.0.0.1:9", buffer="off").buffering == "off"


def test_the_batch_folds_later_writes_into_creates_and_never_points_forward() -> None:
    writes = [
        Write("create", "run", "r", {"experiment": "x", "status": "RUNNING"}),
        Write("create", "execution", "a", {"run": "r", "status": "RUNNING"}),
        Write("create", "artifact", "d", {"name": "d"}),
        Write("link", "execution", "a", {"outputArtifacts": ["d"]}),
        Write("create", "execution", "b", {"run": "r", "inputArtifacts": ["d"]}),
        Write("link", "execution", "a", {"successors": ["b"]}),
        Write("link", "execution", "old", {"successors": ["a"]}),
        Write("update", "execution", "a", {"status": "SUCCESS"}),
        Write("create", "artifact", "m", {"name": "m"}),
        Write("link", "execution", "b", {"outputArtifacts": ["m"]}),
        Write("link", "execution", "b", {"outputArtifacts": ["m"]}),
        Write("update", "run", "r", {"status": "SUCCESS"}),
        Write("update", "run", "earlier", {"status": "FAILED"}),
        Write("update", "run", "earlier", {"annotations": {"k": "v"}}),
    ]
    assert operations(writes) == [
        {"op": "create", "entity": "artifact", "id": "d", "body": {"name": "d"}},
        {"op": "create", "entity": "artifact", "id": "m", "body": {"name": "m"}},
        {
            "op": "create",
            "entity": "run",
            "id": "r",
            "body": {"experiment": "x", "status": "SUCCESS"},
        },
        {
            "op": "create",
            "entity": "execution",
            "id": "a",
            "body": {"run": "r", "status": "SUCCESS", "outputArtifacts": ["d"]},
        },
        {
            "op": "create",
            "entity": "execution",
            "id": "b",
            "body": {"run": "r", "inputArtifacts": ["d"], "outputArtifacts": ["m"]},
        },
        {"op": "link", "entity": "execution", "id": "old", "body": {"successors": ["a"]}},
        {
            "op": "update",
            "entity": "run",
            "id": "earlier",
            "body": {"status": "FAILED", "annotations": {"k": "v"}},
        },
        {"op": "link", "entity": "execution", "id": "a", "body": {"successors": ["b"]}},
    ]
    # Each write alone, as single requests, for a server that refuses the batch.
    assert list(writes[5].requests()) == [
        ("POST", "/api/v1/executions/a/successors", {"executions": ["b"]})
    ]


def test_the_buffer_knows_which_stored_entities_its_writes_change() -> None:
    """What decides whether a lookup must send the kept writes first."""
    buffer = WriteBuffer()
    buffer.add(Write("create", "artifact", "d", {"name": "d"}))
    buffer.add(Write("update", "execution", "a", {"status": "SUCCESS"}))
    assert not buffer.changes("artifact") and buffer.changes("execution")
    buffer.add(Write("update", "artifact", "old", {"annotations": {"k": "v"}}))
    assert buffer.changes("artifact")
    taken = buffer.take()
    assert len(taken) == 3 and not buffer.changes("artifact") and not buffer.changes("execution")
    buffer.add(Write("create", "artifact", "e", {"name": "e"}))
    buffer.put_back(taken)  # the send failed: they are kept again
    assert buffer.changes("artifact") and buffer.changes("execution") and len(buffer) == 4


class LosesTheFirstBatchAnswer(httpx.BaseTransport):
    """Delivers every request, and loses the server's answer to the first batch: as when the
    connection drops after the server committed."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.lost = 0
        self.keys: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/batch"):
            self.keys.append(request.headers.get("idempotency-key"))
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/batch") and not self.lost:
            self.lost += 1
            response.read()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


def test_a_batch_whose_answer_was_lost_is_sent_again_and_stored_once(
    trail: mt.Trail, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport = LosesTheFirstBatchAnswer(trail.conn.http._transport)
    monkeypatch.setattr(trail.conn.http, "_transport", transport)
    monkeypatch.setattr(trail.conn, "backoff", 0.01)
    trail.buffering = "run"
    with trail.run(experiment="e") as run, run.step("train") as step:
        step.input(mt.dataset("s3://data/train.csv", name="train"))
        step.output(mt.model("s3://models/m.pkl", name="m"))
    assert transport.lost == 1
    # Sent again with the key of the first: the server answers it as stored, whatever the
    # batch's later operations made of what its creates made.
    assert len(transport.keys) == 2 and transport.keys[0] == transport.keys[1] is not None
    stored = store.get(f"executions/{step.id}")
    assert stored["status"] == "SUCCESS" and len(stored["outputArtifacts"]) == 1
    assert store.get("artifacts", filter="name:eq:m", count=True)["total"] == 1
