"""Every front end takes its entities from the one registry (``domain.entities``).

An entity declared there gets its routes, batch operations, bulk table, SDK buffer plural,
command-line group and UI route with no other list to edit; these tests fail when one of them
enumerates entities by hand again, or when a create's row and its read model drift apart.
"""

from __future__ import annotations

import typing
import uuid
from datetime import UTC, datetime

import pytest

from modeltrail.cli import app
from modeltrail.domain import models as m
from modeltrail.domain.batch import BatchOperation
from modeltrail.domain.entities import CREATE_ORDER, ENTITIES, NAMES
from modeltrail.sdk.buffer import PLURAL
from modeltrail.server.routers.entities import routers
from modeltrail.services.metadata import ENTITIES as OPERATIONS
from modeltrail.store.bulk import TABLES
from modeltrail.store.rows import new_row, to_model
from modeltrail.store.tables import entity_rows


def test_every_front_end_has_every_entity() -> None:
    assert set(OPERATIONS) == set(TABLES) == set(PLURAL) == set(NAMES)
    assert typing.get_args(BatchOperation.model_fields["entity"].annotation) == NAMES
    paths = {route.path for router in routers() for route in router.routes}  # type: ignore[attr-defined]
    groups = {g.name for g in app.registered_groups}
    for entity in ENTITIES.values():
        assert {f"/{entity.plural}", f"/{entity.plural}/{{entity_id}}"} <= paths
        assert entity.plural in groups
        assert PLURAL[entity.name] == entity.plural


def test_creates_are_ordered_after_what_they_refer_to() -> None:
    assert sorted(CREATE_ORDER) == sorted(NAMES)
    for entity in ENTITIES.values():
        for other in entity.refers_to:
            assert other in ENTITIES
            assert CREATE_ORDER.index(other) <= CREATE_ORDER.index(entity.name)


@pytest.mark.parametrize("name", NAMES)
def test_every_declared_column_is_a_column_of_the_table(name: str) -> None:
    entity = ENTITIES[name]
    table = entity_rows()[name].__table__
    assert table.name == entity.table
    for field, column in entity.columns.items():
        assert field in entity.model.model_fields
        assert column in table.c


SENT = {
    "experiment": m.ExperimentCreate(name="mnist"),
    "run": m.RunCreate(experiment=uuid.uuid4(), name="r", configuration={"lr": 0.1}),
    "pipeline": m.PipelineCreate(name="p", uri="git://p"),
    "executable": m.ExecutableCreate(name="train", uri="git://t", description="d"),
    "execution": m.ExecutionCreate(run=uuid.uuid4(), executable=uuid.uuid4(), name="e", kind="t"),
    "artifact": m.ArtifactCreate(name="a", kind="dataset", attributes={"size": 3}),
}
COMPUTED = {
    "artifact": {"kind_version": 1, "fingerprint": "f"},
    "execution": {"fingerprint": "f"},
}
EDGES = {
    "pipeline": {"executables": []},
    "execution": {"input_artifacts": [], "output_artifacts": [], "successors": []},
}


@pytest.mark.parametrize("name", NAMES)
def test_a_new_row_reads_back_as_what_was_sent(name: str) -> None:
    """A create's row (the single path's ORM row and the bulk path's values alike) answers the
    fields that were sent, and every column of the table is set."""
    sent = SENT[name]
    values = {
        **new_row(name, sent, **COMPUTED.get(name, {})),
        "created_by_id": None,
        "created_by_name": None,
        "updated_by_id": None,
        "updated_by_name": None,
    }
    table = entity_rows()[name].__table__
    assert set(values) == set(table.c.keys())
    from_values = to_model(name, values, **EDGES.get(name, {}))
    from_row = to_model(name, entity_rows()[name](**values), **EDGES.get(name, {}))
    assert from_values == from_row
    assert from_values.revision == 1
    assert from_values.create_time <= datetime.now(UTC)
    for field in sent.model_fields_set | {"name"}:
        if field != "create_time":
            assert getattr(from_values, field) == getattr(sent, field), field
