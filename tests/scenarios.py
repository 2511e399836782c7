"""Scenarios 3 and 4 of thesis Chapter 4 as metadata, written through the HTTP API.

``build_automated_workflow`` is Scenario 3 (a recommender retrained by triggers),
``build_repeated_steps`` Scenario 4 (the same work done again). Scenarios 1 and 2 are the case
study, in ``casestudy``. Both builders take any client ``casestudy.Api`` takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from casestudy import Api

T0 = datetime(2019, 6, 3, 9, 0, tzinfo=UTC)


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
