"""The thesis's case study (Chapter 8) as metadata, written over the HTTP API like a pipeline.

Handwriting recognition, two runs of one pipeline, prepare -> train -> evaluate -> validate ->
deploy. Run 1, started by hand, trains a CNN on the MNIST digits (10 classes) with learning rate
0.001, validates it and deploys it. Run 2, triggered by a data change in the storage, trains the
same CNN on the EMNIST *letters* (26 classes) with learning rate 0.01; its accuracy is below run
1's, so its validation fails and nothing is deployed. Both runs evaluate on the same test data,
logged twice with equal content, so the trace merges it into one node.

The pipeline mirrors the shape of ``examples/handwriting`` (steps ``prepare``, ``train`` and
``deploy`` of those kinds, the raw datasets' names, a ``deployment`` artifact, run 2 changing the
dataset and the learning rate at once), which trains for real through the SDK. This builder
writes the metadata alone, with the thesis's ``evaluate`` and ``validate`` steps in between, so
that tests are quick and know every value: what a test asserts on is a constant here.

``build`` takes any client of the API: an ``httpx.Client`` or a starlette ``TestClient``, a
``modeltrail`` SDK ``Connection``, or a base URL (with headers, e.g. a token).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

API = "/api/v1"

EXPERIMENT = "handwriting"
RUN_NAMES = ("train-digits", "train-letters")
CAUSES = ("manual", "data change")
DATASETS = ("digits", "letters")  # the runs' configuration names the dataset
RAW_NAMES = ("mnist-digits", "emnist-letters")
MNIST_URI = "https://storage.example.org/datasets/mnist-digits.npz"
EMNIST_LETTERS_URI = "s3://internal-datasets/emnist/emnist-letters.npz"
CLASSES = (10, 26)
LEARNING_RATES = (0.001, 0.01)  # run 2 changed the learning rate with the dataset
EPOCHS = 12
TRAINING_DATA = "training-data"
TEST_DATA = "test-data"
TEST_DATA_URI = "s3://data/test"
MODEL = "handwriting-cnn"
MODEL_URIS = ("s3://models/cnn-1", "s3://models/cnn-2")
METRIC = "accuracy"
ACCURACIES = (0.962, 0.758)  # run 2's is lower: its validation fails
VALIDATION = "validation"
DEPLOYMENT = "handwriting-service"
ENDPOINT = "http://seldon.example.org/handwriting"
STEPS = ("prepare", "train", "evaluate", "validate", "deploy")  # name and kind of each step
REPOSITORY = "git+https://git.example.org/handwriting.git"
EXECUTABLE_VERSION = "1.0"
EXECUTABLES = {step: f"{step}.py" for step in STEPS}
SOURCE_HASHES = {
    "prepare": "3f1c9e0",
    "train": "8d2a417",
    "evaluate": "5e7b3a1",
    "validate": "a90c6f4",
    "deploy": "c45b0d2",
}
COMMANDS = {step: f"python {step}.py" for step in STEPS}
PREPARE_CONFIGURATION = {"normalize": True}
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
RUN_STARTS = (T0, T0 + timedelta(days=1))

VALIDATION_KIND = {
    "name": "validation",
    "description": "The result of validating a model before deployment (thesis 8.2).",
    "schema": {
        "type": "object",
        "properties": {
            "result": {
                "type": "string",
                "enum": ["valid", "failed"],
                "description": "deploy or not",
            },
            "accuracy": {"type": "number", "description": "accuracy of the validated model"},
            "history": {
                "type": "array",
                "items": {"type": "number"},
                "description": "accuracies of earlier models, oldest first",
            },
            "model": {"type": "string", "format": "uuid", "x-artifact-reference": True},
        },
        "required": ["result", "accuracy"],
    },
}
DEPLOYMENT_KIND = {
    "name": "deployment",
    "description": "Where a model serves.",
    "schema": {"type": "object", "properties": {"endpoint": {"type": "string"}}},
}


def run_configuration(n: int) -> dict[str, Any]:
    """What run ``n`` (0 or 1) was started with."""
    return {"dataset": DATASETS[n], "learning-rate": LEARNING_RATES[n], "epochs": EPOCHS}


def train_configuration(n: int) -> dict[str, Any]:
    """The configuration of run ``n``'s train step: the model's hyperparameters."""
    return {"learning-rate": LEARNING_RATES[n], "epochs": EPOCHS}


class Api:
    """Writes to the API and returns the body, whatever kind of client is underneath."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def _send(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if hasattr(self.client, "embedded"):  # an SDK Connection answers with the body
            return getattr(self.client, method)(API + path, body)  # type: ignore[no-any-return]
        response = getattr(self.client, method)(API + path, json=body)
        assert response.status_code in (200, 201), (
            f"{method.upper()} {path}: {response.status_code} {response.text}"
        )
        return response.json()  # type: ignore[no-any-return]

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._send("post", path, body)

    def patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._send("patch", path, body)

    def artifact(self, name: str, kind: str, **body: Any) -> dict[str, Any]:
        return self.post("/artifacts", {"name": name, "kind": kind, **body})

    def executable(self, name: str, **body: Any) -> dict[str, Any]:
        return self.post("/executables", {"name": name, **body})

    def execution(
        self,
        run: dict[str, Any],
        exe: dict[str, Any],
        name: str,
        kind: str,
        *,
        inputs: Sequence[dict[str, Any]] = (),
        outputs: Sequence[dict[str, Any]] = (),
        successors: Sequence[dict[str, Any]] = (),
        status: str = "SUCCESS",
        at: datetime | None = None,
        minutes: int = 5,
        **body: Any,
    ) -> dict[str, Any]:
        times = (
            {"startTime": at.isoformat(), "endTime": (at + timedelta(minutes=minutes)).isoformat()}
            if at
            else {}
        )
        return self.post(
            "/executions",
            {
                "run": run["id"],
                "executable": exe["id"],
                "name": name,
                "kind": kind,
                "status": status,
                "inputArtifacts": [a["id"] for a in inputs],
                "outputArtifacts": [a["id"] for a in outputs],
                "successors": [s["id"] for s in successors],
                **times,
                **body,
            },
        )


@contextmanager
def connect(client: Any, headers: dict[str, str] | None = None) -> Iterator[Api]:
    """An ``Api`` on ``client``; a base URL is opened (with ``headers``) and closed after."""
    if isinstance(client, str):
        with httpx.Client(base_url=client, timeout=30, headers=headers or {}) as http:
            yield Api(http)
    else:
        yield Api(client)


@dataclass
class CaseStudy:
    """The records written, each list indexed by run (0: digits, 1: letters)."""

    experiment: dict[str, Any]
    executables: dict[str, dict[str, Any]]
    runs: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    raw: list[dict[str, Any]] = field(default_factory=list)
    test_data: list[dict[str, Any]] = field(default_factory=list)  # equal in both runs
    prepared: list[dict[str, Any]] = field(default_factory=list)  # the training data
    models: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    validations: list[dict[str, Any]] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(default_factory=list)  # run 1's only
    executions: list[dict[str, dict[str, Any]]] = field(default_factory=list)  # step -> record
    ids: dict[str, str] = field(default_factory=dict)  # "run1.model" -> id, "run2.raw" -> id


def build(client: Any, headers: dict[str, str] | None = None) -> CaseStudy:
    """Write the case study through ``client`` and return what was written."""
    with connect(client, headers) as api:
        api.post("/kinds", VALIDATION_KIND)
        api.post("/kinds", DEPLOYMENT_KIND)
        study = CaseStudy(
            experiment=api.post("/experiments", {"name": EXPERIMENT}),
            executables={
                step: api.executable(
                    EXECUTABLES[step],
                    version=EXECUTABLE_VERSION,
                    uri=f"{REPOSITORY}#{EXECUTABLES[step]}",
                    annotations={"sourceHash": SOURCE_HASHES[step], "command": COMMANDS[step]},
                )
                for step in STEPS
            },
        )
        for n in range(2):
            _run(api, study, n)
    return study


def _run(api: Api, study: CaseStudy, n: int) -> None:
    start = RUN_STARTS[n]

    def at(minutes: int) -> str:
        return (start + timedelta(minutes=minutes)).isoformat()

    def artifact(key: str, name: str, kind: str, minutes: int, **body: Any) -> dict[str, Any]:
        made = api.artifact(name, kind, createTime=at(minutes), **body)
        study.ids[f"run{n + 1}.{key}"] = made["id"]
        return made

    event = artifact(
        "event",
        f"trigger-{n + 1}",
        "event",
        0,
        attributes={"cause": CAUSES[n]},
        annotations={"source": "alice" if CAUSES[n] == "manual" else "argo-events"},
    )
    run = api.post(
        "/runs",
        {
            "experiment": study.experiment["id"],
            "name": RUN_NAMES[n],
            "createTime": at(0),
            "event": event["id"],
            "status": "RUNNING",
            "configuration": run_configuration(n),
        },
    )
    raw = artifact(
        "raw",
        RAW_NAMES[n],
        "dataset",
        1,
        uri=(MNIST_URI, EMNIST_LETTERS_URI)[n],
        attributes={"type": "Blob", "classes": CLASSES[n]},
    )
    test = artifact(
        "test",
        TEST_DATA,
        "dataset",
        1,
        uri=TEST_DATA_URI,
        attributes={"type": "Blob", "samples": 1797},
    )
    prepared = artifact(
        "data",
        TRAINING_DATA,
        "dataset",
        2,
        uri=f"s3://data/{DATASETS[n]}",
        attributes={"type": "Blob", "classes": CLASSES[n]},
    )
    model = artifact(
        "model",
        MODEL,
        "model",
        10,
        uri=MODEL_URIS[n],
        attributes={
            "type": "CNN",
            "framework": {"value1": "keras", "value2": "2.2"},
            "hyperParameters": train_configuration(n),
        },
    )
    metrics = artifact(
        "metrics",
        METRIC,
        "metrics",
        12,
        attributes={"reference": model["id"], "schema": "number", "value": ACCURACIES[n]},
    )
    history = list(ACCURACIES[: n + 1])
    valid = ACCURACIES[n] > max(ACCURACIES[:n], default=0)
    validation = artifact(
        "validation",
        VALIDATION,
        "validation",
        13,
        attributes={
            "result": "valid" if valid else "failed",
            "accuracy": ACCURACIES[n],
            "history": history,
            "model": model["id"],
        },
    )

    def step(
        name: str,
        minutes: int,
        inputs: list[dict[str, Any]],
        outputs: list[dict[str, Any]],
        status: str = "SUCCESS",
        configuration: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return api.execution(
            run,
            study.executables[name],
            name,
            name,
            inputs=inputs,
            outputs=outputs,
            status=status,
            at=start + timedelta(minutes=minutes),
            minutes=1,
            configuration=configuration or {},
        )

    steps = {
        "prepare": step("prepare", 1, [raw], [prepared], configuration=PREPARE_CONFIGURATION),
        "train": step("train", 3, [prepared], [model], configuration=train_configuration(n)),
        "evaluate": step("evaluate", 11, [model, test], [metrics]),
        "validate": step(
            "validate", 12, [metrics], [validation], status="SUCCESS" if valid else "FAILED"
        ),
    }
    if valid:
        deployment = artifact(
            "deployment",
            DEPLOYMENT,
            "deployment",
            15,
            uri=ENDPOINT,
            attributes={"endpoint": ENDPOINT},
        )
        steps["deploy"] = step("deploy", 14, [model, validation], [deployment])
        study.deployments.append(deployment)
    # Each step names the next once it is known, as a pipeline that writes as it goes does.
    chain = list(steps.values())
    for a, b in zip(chain, chain[1:], strict=False):
        api.post(f"/executions/{a['id']}/successors", {"executions": [b["id"]]})
    run = api.patch(
        f"/runs/{run['id']}", {"status": "SUCCESS" if valid else "FAILED", "endTime": at(20)}
    )
    study.runs.append(run)
    study.events.append(event)
    study.raw.append(raw)
    study.test_data.append(test)
    study.prepared.append(prepared)
    study.models.append(model)
    study.metrics.append(metrics)
    study.validations.append(validation)
    study.executions.append(steps)
