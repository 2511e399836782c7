"""MLflow's client logs a training loop one step at a time: each ``log-batch`` of a few
metrics is stored in a fixed, small number of statements, the series' open chunks read with
the series themselves."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from starlette.testclient import TestClient

from modeltrail.services.metadata import Metadata

MLFLOW = "/api/2.0/mlflow"


@contextmanager
def _counted(metadata: Metadata) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(statement)

    event.listen(metadata.db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(metadata.db.engine, "before_cursor_execute", count)


def _step(client: TestClient, run: str, step: int) -> None:
    metrics = [
        {"key": key, "value": step / (i + 1), "timestamp": 1_000 + step, "step": step}
        for i, key in enumerate(("loss", "acc", "lr"))
    ]
    answer = client.post(f"{MLFLOW}/runs/log-batch", json={"run_id": run, "metrics": metrics})
    assert answer.status_code == 200, answer.text


def test_a_logged_step_is_stored_in_a_fixed_number_of_statements(
    client: TestClient, metadata: Metadata
) -> None:
    exp = client.post(f"{MLFLOW}/experiments/create", json={"name": "loop"}).json()
    created = client.post(
        f"{MLFLOW}/runs/create", json={"experiment_id": exp["experiment_id"], "start_time": 1}
    )
    run = created.json()["run"]["info"]["run_id"]
    _step(client, run, 0)  # the series and the run's summaries are made
    counts = []
    for step in range(1, 4):
        with _counted(metadata) as statements:
            _step(client, run, step)
        counts.append([s for s in statements if not s.startswith(("BEGIN", "COMMIT"))])
    # The run's check; the series with their open chunks, locked; the chunks, the series'
    # and the run's summaries written back.
    assert [len(c) for c in counts] == [6, 6, 6], counts[0]

    history = client.get(
        f"{MLFLOW}/metrics/get-history", params={"run_id": run, "metric_key": "loss"}
    ).json()["metrics"]
    assert [(p["step"], p["value"]) for p in history] == [(s, float(s)) for s in range(4)]
