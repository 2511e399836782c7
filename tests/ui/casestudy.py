"""The thesis's case study (chapter 8) as metadata, written over HTTP like a pipeline would.

Run 1 trains the CNN on the digits and deploys it; run 2, triggered by a data change, trains the
same CNN on letters, and its validation fails. The test data is logged by both runs with equal
content, so the trace merges it into one node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

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


@dataclass
class CaseStudy:
    experiment: str = ""
    runs: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)  # "run1.model" -> id


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/v1/{path}", json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()  # type: ignore[no-any-return]


def build(base_url: str, headers: dict[str, str] | None = None) -> CaseStudy:
    cs = CaseStudy()
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    with httpx.Client(base_url=base_url, timeout=30, headers=headers or {}) as client:
        _post(client, "kinds", VALIDATION_KIND)
        _post(client, "kinds", DEPLOYMENT_KIND)
        cs.experiment = _post(client, "experiments", {"name": "handwriting"})["id"]
        exe = {
            name: _post(
                client,
                "executables",
                {"name": name, "version": "1", "uri": f"git://pipeline/{name}.py"},
            )["id"]
            for name in ("prepare-data", "train", "evaluate", "validate", "deploy")
        }
        history: list[float] = []
        for i, (data, cause, accuracy) in enumerate(
            [("digits", "manual", 0.962), ("letters", "data change", 0.758)], start=1
        ):
            t = start + timedelta(days=i - 1)

            def at(minutes: int, t: datetime = t) -> str:
                return (t + timedelta(minutes=minutes)).isoformat()

            def art(key: str, body: dict[str, Any], minutes: int, i: int = i) -> str:
                a = _post(client, "artifacts", {**body, "createTime": at(minutes)})
                cs.ids[f"run{i}.{key}"] = a["id"]
                return a["id"]  # type: ignore[no-any-return]

            event = art(
                "event",
                {"name": f"trigger-{i}", "kind": "event", "attributes": {"cause": cause}},
                0,
            )
            run = _post(
                client,
                "runs",
                {
                    "experiment": cs.experiment,
                    "name": f"train-{data}",
                    "createTime": at(0),
                    "event": event,
                    "status": "RUNNING",
                    "configuration": {"dataset": data},
                },
            )["id"]
            cs.runs.append(run)
            raw = art(
                "raw",
                {
                    "name": f"{data}-raw",
                    "kind": "dataset",
                    "uri": f"s3://raw/{data}",
                    "attributes": {"type": "Blob", "source": data},
                },
                1,
            )
            test = art(
                "test",
                {
                    "name": "test-data",
                    "kind": "dataset",
                    "uri": "s3://data/test",
                    "attributes": {"type": "Blob", "samples": 1797},
                },
                1,
            )
            train_data = art(
                "data",
                {
                    "name": "training-data",
                    "kind": "dataset",
                    "uri": f"s3://data/{data}",
                    "attributes": {"type": "Blob", "source": data},
                },
                2,
            )
            model = art(
                "model",
                {
                    "name": "cnn",
                    "kind": "model",
                    "uri": f"s3://models/cnn-{i}",
                    "attributes": {
                        "type": "CNN",
                        "framework": {"value1": "keras", "value2": "2.2"},
                        "hyperParameters": {"epochs": 12, "learning-rate": 0.001},
                    },
                },
                10,
            )
            metrics = art(
                "metrics",
                {
                    "name": "accuracy",
                    "kind": "metrics",
                    "attributes": {"reference": model, "schema": "number", "value": accuracy},
                },
                12,
            )
            valid = accuracy > max(history, default=0)
            validation = art(
                "validation",
                {
                    "name": "validation",
                    "kind": "validation",
                    "attributes": {
                        "result": "valid" if valid else "failed",
                        "accuracy": accuracy,
                        "history": [*history, accuracy],
                        "model": model,
                    },
                },
                13,
            )
            history.append(accuracy)

            def step(
                name: str,
                minutes: int,
                inputs: list[str],
                outputs: list[str],
                status: str = "SUCCESS",
                run: str = run,
                config: dict[str, Any] | None = None,
            ) -> str:
                x = _post(
                    client,
                    "executions",
                    {
                        "run": run,
                        "executable": exe[name],
                        "name": name,
                        "kind": name,
                        "status": status,
                        "startTime": at(minutes),
                        "endTime": at(minutes + 1),
                        "inputArtifacts": inputs,
                        "outputArtifacts": outputs,
                        "configuration": config or {},
                    },
                )
                return x["id"]  # type: ignore[no-any-return]

            steps = [
                step("prepare-data", 1, [raw], [train_data], config={"normalize": True}),
                step("train", 3, [train_data], [model], config={"epochs": 12}),
                step("evaluate", 11, [model, test], [metrics]),
                step(
                    "validate", 12, [metrics], [validation], status="SUCCESS" if valid else "FAILED"
                ),
            ]
            if valid:
                deployment = art(
                    "deployment",
                    {
                        "name": "cnn-serving",
                        "kind": "deployment",
                        "attributes": {"endpoint": "http://seldon/cnn"},
                    },
                    15,
                )
                steps.append(step("deploy", 14, [model, validation], [deployment]))
            for a, b in zip(steps, steps[1:], strict=False):
                response = client.post(
                    f"/api/v1/executions/{a}/successors", json={"executions": [b]}
                )
                assert response.status_code == 200, response.text
            response = client.patch(
                f"/api/v1/runs/{run}",
                json={"status": "SUCCESS" if valid else "FAILED", "endTime": at(20)},
            )
            assert response.status_code == 200, response.text
    return cs
