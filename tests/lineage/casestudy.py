"""The thesis's scenarios as data, built through the HTTP API (reusable by any test).

``build_case_study`` is Scenario 1 and the case study of Chapter 8: a three-step pipeline
(prepare -> train -> deploy) run first on the MNIST digits (10 classes), then - triggered by
a data change in the storage - on the EMNIST *letters* set (26 classes) with a changed
learning rate. ``build_automated_workflow`` is Scenario 3, ``build_repeated_steps``
Scenario 4. Every builder takes anything with ``post(path, json=...)``: a starlette
TestClient, an ``httpx.Client`` on a real server, or a ``modeltrail`` SDK ``Connection``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

API = "/api/v1"
MNIST_URI = "https://storage.example.org/datasets/mnist-digits.npz"
EMNIST_LETTERS_URI = "s3://internal-datasets/emnist/emnist-letters.npz"
T0 = datetime(2019, 6, 3, 9, 0, tzinfo=UTC)


class Api:
    """POSTs to the API and returns the body, whatever kind of client is underneath."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if hasattr(self.client, "embedded"):  # an SDK Connection answers with the body
            return self.client.post(API + path, body)  # type: ignore[no-any-return]
        response = self.client.post(API + path, json=body)
        assert response.status_code in (200, 201), (
            f"POST {path}: {response.status_code} {response.text}"
        )
        return response.json()  # type: ignore[no-any-return]

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
        inputs: list[dict[str, Any]] = (),
        outputs: list[dict[str, Any]] = (),  # type: ignore[assignment]
        successors: list[dict[str, Any]] = (),
        status: str = "SUCCESS",  # type: ignore[assignment]
        at: datetime | None = None,
        **body: Any,
    ) -> dict[str, Any]:
        times = (
            {"startTime": at.isoformat(), "endTime": (at + timedelta(minutes=5)).isoformat()}
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


@dataclass
class CaseStudy:
    experiment: dict[str, Any]
    runs: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    raw: list[dict[str, Any]] = field(default_factory=list)  # downloaded datasets
    prepared: list[dict[str, Any]] = field(default_factory=list)  # training data
    models: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    executions: list[dict[str, dict[str, Any]]] = field(
        default_factory=list
    )  # per run: step -> execution
    executables: dict[str, dict[str, Any]] = field(default_factory=dict)


def _executables(api: Api) -> dict[str, dict[str, Any]]:
    repo = "git+https://git.example.org/handwriting.git"
    return {
        step: api.executable(
            f"{step}.py",
            version="1.0",
            uri=f"{repo}#{step}.py",
            annotations={"sourceHash": digest, "command": f"python {step}.py"},
        )
        for step, digest in (("prepare", "3f1c9e0"), ("train", "8d2a417"), ("deploy", "c45b0d2"))
    }


def _pipeline_run(
    api: Api,
    study: CaseStudy,
    *,
    n: int,
    at: datetime,
    cause: str,
    dataset_name: str,
    dataset_uri: str,
    classes: int,
    learning_rate: float,
) -> None:
    exes = study.executables
    event = api.artifact(
        f"trigger-{n}",
        "event",
        attributes={"cause": cause},
        createTime=at.isoformat(),
        annotations={"source": "argo-events" if cause != "manual" else "alice"},
    )
    config = {
        "learning-rate": learning_rate,
        "training-iterations": 1000,
        "model-location": "s3://ml/handwriting",
    }
    run = api.post(
        "/runs",
        {
            "experiment": study.experiment["id"],
            "name": f"handwriting-{n}",
            "status": "SUCCESS",
            "event": event["id"],
            "configuration": config,
            "createTime": at.isoformat(),
            "endTime": (at + timedelta(minutes=30)).isoformat(),
        },
    )
    raw = api.artifact(
        dataset_name,
        "dataset",
        uri=dataset_uri,
        attributes={"type": "Blob", "classes": classes},
        createTime=at.isoformat(),
    )
    prepared = api.artifact(
        "training-data",
        "dataset",
        uri=f"s3://ml/handwriting/run-{n}/train.npz",
        attributes={"type": "Blob", "classes": classes},
        createTime=at.isoformat(),
    )
    model = api.artifact(
        "handwriting-cnn",
        "model",
        uri=f"s3://ml/handwriting/run-{n}/model.h5",
        createTime=(at + timedelta(minutes=20)).isoformat(),
        attributes={
            "type": "CNN",
            "framework": {"value1": "tensorflow", "value2": "1.13"},
            "hyperParameters": {"learning-rate": learning_rate},
        },
    )
    metric = api.artifact(
        "accuracy",
        "metrics",
        attributes={
            "reference": model["id"],
            "schema": "number",
            "value": 0.98 if classes == 10 else 0.41,
        },
    )
    service = api.artifact(
        "handwriting-service",
        "deployment",
        uri=f"http://seldon.example.org/handwriting/{n}",
        attributes={"engine": "seldon"},
    )
    deploy = api.execution(
        run,
        exes["deploy"],
        "deploy",
        "deploy",
        inputs=[model],
        outputs=[service],
        at=at + timedelta(minutes=25),
    )
    train = api.execution(
        run,
        exes["train"],
        "train",
        "train",
        inputs=[prepared],
        outputs=[model, metric],
        successors=[deploy],
        at=at + timedelta(minutes=10),
        configuration={"learning-rate": learning_rate, "training-iterations": 1000},
    )
    prepare = api.execution(
        run,
        exes["prepare"],
        "prepare",
        "prepare",
        inputs=[raw],
        outputs=[prepared],
        successors=[train],
        at=at,
        configuration={"check-access": True},
    )
    study.runs.append(run)
    study.events.append(event)
    study.raw.append(raw)
    study.prepared.append(prepared)
    study.models.append(model)
    study.metrics.append(metric)
    study.deployments.append(service)
    study.executions.append({"prepare": prepare, "train": train, "deploy": deploy})


def build_case_study(client: Any) -> CaseStudy:
    """Run 1 (manual) on MNIST digits with learning rate 0.001; run 2 (data change) on EMNIST
    letters with 26 classes and learning rate 0.01."""
    api = Api(client)
    study = CaseStudy(experiment=api.post("/experiments", {"name": "handwriting-recognition"}))
    study.executables = _executables(api)
    _pipeline_run(
        api,
        study,
        n=1,
        at=T0,
        cause="manual",
        dataset_name="mnist-digits",
        dataset_uri=MNIST_URI,
        classes=10,
        learning_rate=0.001,
    )
    _pipeline_run(
        api,
        study,
        n=2,
        at=T0 + timedelta(days=7),
        cause="data change",
        dataset_name="emnist-letters",
        dataset_uri=EMNIST_LETTERS_URI,
        classes=26,
        learning_rate=0.01,
    )
    return study


@dataclass
class Workflow:
    experiment: dict[str, Any]
    runs: list[dict[str, Any]]
    causes: list[str]
    failed_validations: list[dict[str, Any]]


def build_automated_workflow(client: Any) -> Workflow:
    """Scenario 3: a recommender retrained by triggers (monthly, 100 new items, script
    update). Run 1 deploys; runs 2-4 stop at validation."""
    api = Api(client)
    exp = api.post("/experiments", {"name": "recommender"})
    exes = {
        s: api.executable(
            f"{s}.py", version="2", uri=f"git+https://git.example.org/shop.git#{s}.py"
        )
        for s in ("collect", "train", "validate", "deploy")
    }
    causes = ["schedule", "item threshold", "script update", "item threshold"]
    runs, failed = [], []
    for n, cause in enumerate(causes, start=1):
        at = T0 + timedelta(days=30 * n)
        event = api.artifact(
            f"recommender-trigger-{n}",
            "event",
            createTime=at.isoformat(),
            attributes={"cause": cause, **({"newItems": 100} if cause == "item threshold" else {})},
        )
        ok = n == 1
        run = api.post(
            "/runs",
            {
                "experiment": exp["id"],
                "name": f"recommender-{n}",
                "event": event["id"],
                "status": "SUCCESS" if ok else "FAILED",
                "createTime": at.isoformat(),
            },
        )
        data = api.artifact("shop-items", "dataset", uri=f"s3://shop/items/{n}.parquet")
        model = api.artifact("recommender", "model", uri=f"s3://shop/models/{n}")
        api.execution(run, exes["collect"], "collect", "collect", outputs=[data], at=at)
        api.execution(
            run,
            exes["train"],
            "train",
            "train",
            inputs=[data],
            outputs=[model],
            at=at + timedelta(minutes=10),
        )
        validation = api.execution(
            run,
            exes["validate"],
            "validate",
            "validation",
            inputs=[model],
            status="SUCCESS" if ok else "FAILED",
            at=at + timedelta(minutes=20),
        )
        if ok:
            api.execution(
                run,
                exes["deploy"],
                "deploy",
                "deploy",
                inputs=[model],
                at=at + timedelta(minutes=30),
            )
        else:
            failed.append(validation)
        runs.append(run)
    return Workflow(exp, runs, causes, failed)


@dataclass
class Repeated:
    experiment: dict[str, Any]
    executable: dict[str, Any]
    dataset: dict[str, Any]
    first: dict[str, Any]
    outputs: list[dict[str, Any]]


def build_repeated_steps(client: Any) -> Repeated:
    """Scenario 4: the same transformation run three times on equal input with the same
    configuration (equal outputs twice, once a different output), and once with another
    configuration."""
    api = Api(client)
    exp = api.post("/experiments", {"name": "fraud"})
    exe = api.executable(
        "normalize.py", version="3", uri="git+https://git.example.org/etl.git#normalize.py"
    )
    first = None
    outputs = []
    for n, (scale, out_uri) in enumerate([("z", "a"), ("z", "a"), ("z", "b"), ("minmax", "c")]):
        run = api.post(
            "/runs", {"experiment": exp["id"], "name": f"fraud-{n}", "status": "SUCCESS"}
        )
        data = api.artifact(
            "transactions", "dataset", uri="s3://bank/transactions-2019-05.csv"
        )  # equal each time
        out = api.artifact("normalized", "dataset", uri=f"s3://bank/normalized/{out_uri}.csv")
        execution = api.execution(
            run,
            exe,
            "normalize",
            "transformation",
            inputs=[data],
            outputs=[out],
            configuration={"scale": scale},
            at=T0 + timedelta(hours=n),
        )
        first = first or {"execution": execution, "dataset": data}
        outputs.append(out)
    assert first is not None
    return Repeated(exp, exe, first["dataset"], first["execution"], outputs)
