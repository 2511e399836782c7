"""A small tuning experiment written over HTTP: four training runs of one script with other
parameters, each logging a loss and an accuracy per epoch, reading a dataset and writing a
model. The last run reads another version of the dataset."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

# name, learning rate, optimizer, final accuracy, minutes it took
RUNS = [
    ("lr-0.1", 0.1, "sgd", 0.91, 12),
    ("lr-0.01", 0.01, "adam", 0.95, 30),
    ("lr-0.001", 0.001, "adam", 0.88, 45),
    ("lr-0.05-new-data", 0.05, "adam", 0.97, 20),
]
EPOCHS = 20


@dataclass
class Tuning:
    experiment: str = ""
    runs: dict[str, str] = field(default_factory=dict)  # name -> id
    ids: dict[str, str] = field(default_factory=dict)


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/v1/{path}", json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()  # type: ignore[no-any-return]


def accuracy_at(final: float, epoch: int) -> float:
    return round(final * (1 - math.exp(-(epoch + 1) / 4)), 4)


def build(base_url: str) -> Tuning:
    t = Tuning()
    start = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
    with httpx.Client(base_url=base_url, timeout=30) as client:
        t.experiment = _post(client, "experiments", {"name": "tuning"})["id"]
        exe = _post(client, "executables", {"name": "train.py", "version": "1"})["id"]
        data = {
            v: _post(
                client,
                "artifacts",
                {
                    "name": "digits",
                    "kind": "dataset",
                    "version": str(v),
                    "uri": f"s3://data/digits-v{v}",
                    "attributes": {"samples": 1797 * v},
                },
            )["id"]
            for v in (1, 2)
        }
        t.ids["data.v1"], t.ids["data.v2"] = data[1], data[2]
        for i, (name, lr, optimizer, final, minutes) in enumerate(RUNS):
            created = start + timedelta(hours=i)
            run = _post(
                client,
                "runs",
                {
                    "experiment": t.experiment,
                    "name": name,
                    "createTime": created.isoformat(),
                    "endTime": (created + timedelta(minutes=minutes)).isoformat(),
                    "status": "SUCCESS",
                    "configuration": {"lr": lr, "optimizer": optimizer, "epochs": EPOCHS},
                    "annotations": {
                        "command": f"python train.py --lr {lr} --optimizer {optimizer}",
                        "git.commit": f"{i + 1:x}" * 8 + "0a1b2c3d",
                        "host": f"gpu-{i % 2 + 1}",
                    },
                },
            )["id"]
            t.runs[name] = run
            model = _post(
                client,
                "artifacts",
                {"name": "classifier", "kind": "model", "uri": f"s3://models/{name}"},
            )["id"]
            t.ids[f"{name}.model"] = model
            _post(
                client,
                "executions",
                {
                    "run": run,
                    "executable": exe,
                    "name": "train",
                    "kind": "train",
                    "status": "SUCCESS",
                    "inputArtifacts": [data[2] if i == 3 else data[1]],
                    "outputArtifacts": [model],
                },
            )
            ms = int(created.timestamp() * 1000)
            steps = list(range(EPOCHS))
            _post(
                client,
                f"runs/{run}/metrics",
                {
                    "series": [
                        {
                            "key": "accuracy",
                            "steps": steps,
                            "values": [accuracy_at(final, e) for e in steps],
                            "timestamps": [ms + e * minutes * 3000 for e in steps],
                        },
                        {
                            "key": "loss",
                            "steps": steps,
                            "values": [round(2.3 * math.exp(-e * lr * 3) + 0.05, 4) for e in steps],
                            "timestamps": [ms + e * minutes * 3000 for e in steps],
                        },
                    ]
                },
            )
    return t
