"""A batch stores exactly what the same writes store one request at a time.

Hypothesis makes sequences of writes (experiments, runs, executables, artifacts of every
built-in kind with attributes that may or may not fit the kind, executions with inputs and
outputs, successor links, status updates) over a small pool of names, so that equal artifacts,
repeated names and invalid input turn up. Each sequence is sent one request at a time to one
store, and the writes that were accepted are sent as one batch to another store: the batch must
be accepted and both stores must read the same. A write that was refused one at a time must
also make a batch that ends with it fail, naming that operation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from conftest import _empty, fresh_postgres_database
from modeltrail.server.app import create_app
from modeltrail.services.metadata import Metadata

API = "/api/v1"
PLURAL = {
    "experiment": "experiments",
    "run": "runs",
    "executable": "executables",
    "artifact": "artifacts",
    "execution": "executions",
}
NAMES = st.sampled_from(["digits", "letters", "model", "train", "eval"])
SCALARS = st.one_of(
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text("ab.-", max_size=4),
)
ATTRIBUTE_KEYS = st.sampled_from(["type", "value", "uri", "classes", "reference", "size"])


@dataclass
class Write:
    """One write, as the single API takes it and as a batch operation."""

    method: str
    path: str
    body: dict[str, Any]
    operation: dict[str, Any]


@st.composite
def writes(draw: st.DrawFn) -> list[Write]:
    made: dict[str, list[str]] = {entity: [] for entity in PLURAL}
    out: list[Write] = []

    def create(entity: str, body: dict[str, Any]) -> None:
        new = str(uuid.uuid4())
        made[entity].append(new)
        body = {"id": new, **body}
        out.append(
            Write(
                "POST",
                f"{API}/{PLURAL[entity]}",
                body,
                {"op": "create", "entity": entity, "body": body},
            )
        )

    create("experiment", {"name": draw(NAMES)})
    for _ in range(draw(st.integers(3, 18))):
        choice = draw(
            st.sampled_from(
                ["run", "executable", "artifact", "artifact", "execution", "link", "status"]
            )
        )
        if choice == "run":
            create(
                "run",
                {
                    "experiment": draw(st.sampled_from(made["experiment"])),
                    "name": draw(NAMES),
                    "configuration": draw(st.dictionaries(NAMES, SCALARS, max_size=2)),
                },
            )
        elif choice == "executable":
            create(
                "executable", {"name": draw(NAMES), "version": draw(st.sampled_from(["1", "2"]))}
            )
        elif choice == "artifact":
            attributes = draw(st.dictionaries(ATTRIBUTE_KEYS, SCALARS, max_size=3))
            if made["artifact"] and draw(st.booleans()):
                attributes["reference"] = draw(st.sampled_from(made["artifact"]))
            create(
                "artifact",
                {
                    "name": draw(NAMES),
                    "kind": draw(st.sampled_from(["dataset", "model", "metrics", "event"])),
                    "attributes": attributes,
                },
            )
        elif choice == "execution" and made["run"] and made["executable"]:
            pool = made["artifact"]
            create(
                "execution",
                {
                    "run": draw(st.sampled_from(made["run"])),
                    "executable": draw(st.sampled_from(made["executable"])),
                    "name": draw(NAMES),
                    "kind": draw(NAMES),
                    "inputArtifacts": draw(st.lists(st.sampled_from(pool), max_size=2, unique=True))
                    if pool
                    else [],
                    "outputArtifacts": draw(
                        st.lists(st.sampled_from(pool), max_size=2, unique=True)
                    )
                    if pool
                    else [],
                },
            )
        elif choice == "link" and len(made["execution"]) >= 2:
            source, target = draw(
                st.lists(st.sampled_from(made["execution"]), min_size=2, max_size=2)
            )
            out.append(
                Write(
                    "POST",
                    f"{API}/executions/{source}/successors",
                    {"executions": [target]},
                    {
                        "op": "link",
                        "entity": "execution",
                        "id": source,
                        "body": {"successors": [target]},
                    },
                )
            )
        elif choice == "status" and made["run"]:
            run = draw(st.sampled_from(made["run"]))
            status = draw(st.sampled_from(["SUCCESS", "FAILED", "RUNNING"]))
            out.append(
                Write(
                    "PATCH",
                    f"{API}/runs/{run}",
                    {"status": status},
                    {"op": "update", "entity": "run", "id": run, "body": {"status": status}},
                )
            )
    return out


def _state(client: TestClient) -> dict[str, list[dict[str, Any]]]:
    """Everything the store holds, as the API reads it, without the times of writing."""
    state = {}
    for plural in PLURAL.values():
        items = client.get(f"{API}/{plural}", params={"limit": 1000, "sort": "id"}).json()["items"]
        state[plural] = [
            {
                k: v
                for k, v in item.items()
                if not k.endswith("Time") and k != "duration"  # duration = endTime - startTime
            }
            for item in items
        ]
    return state


class Stores:
    """Empty stores on one database, made once and emptied for every example."""

    def __init__(self, database: str, tmp: Path, postgres_urls: list[str]) -> None:
        self.database = database
        self.tmp = tmp
        self.postgres_urls = postgres_urls
        self.count = 0

    @contextmanager
    def empty(self, index: int) -> Iterator[TestClient]:
        if self.database == "sqlite":
            self.count += 1
            meta = Metadata.open(f"sqlite:///{self.tmp / f'store-{self.count}.db'}")
        else:
            meta = Metadata.open(self.postgres_urls[index])
            _empty(meta)
        try:
            with TestClient(create_app(meta), base_url="http://testserver") as client:
                yield client
        finally:
            meta.close()


@pytest.fixture(scope="module")
def postgres_pair() -> Iterator[list[str]]:
    with ExitStack() as stack:
        yield [stack.enter_context(fresh_postgres_database()) for _ in range(3)]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=writes())
def test_a_batch_stores_what_single_writes_store(
    database: str, sequence: list[Write], tmp_path: Path, postgres_pair: list[str]
) -> None:
    stores = Stores(database, tmp_path, postgres_pair)
    accepted: list[Write] = []
    refused: tuple[int, Write] | None = None
    with stores.empty(0) as single:
        for write in sequence:
            response = single.request(write.method, write.path, json=write.body)
            assert response.status_code < 500, response.text
            if response.is_success:
                accepted.append(write)
            elif refused is None:
                refused = (len(accepted), write)
        expected = _state(single)

    with stores.empty(1) as batched:
        response = batched.post(
            f"{API}/batch", json={"operations": [w.operation for w in accepted]}
        )
        assert response.status_code == 200, response.text
        assert _state(batched) == expected

    if refused is not None:
        at, write = refused
        with stores.empty(2) as batched:
            operations = [w.operation for w in accepted[:at]] + [write.operation]
            response = batched.post(f"{API}/batch", json={"operations": operations})
            assert 400 <= response.status_code < 500, response.text
            assert response.json().get("operation") == at, response.text
