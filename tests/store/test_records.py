"""The graph readers give typed records: their tables' columns, ids as 32 hex digits."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Table, select

from modeltrail.services.metadata import Metadata
from modeltrail.store import lineage as store
from modeltrail.store.lineage.rows import _records
from modeltrail.store.records import (
    ArtifactRecord,
    ExecutableRecord,
    ExecutableRef,
    ExecutionRecord,
    FlagRecord,
    RunRecord,
)
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutableRow,
    ExecutionOutputRow,
    ExecutionRow,
    ExperimentRow,
    FlagRow,
    RunRow,
)

RECORDS: list[tuple[type[Any], Any]] = [
    (ArtifactRecord, ArtifactRow),
    (ExecutionRecord, ExecutionRow),
    (ExecutableRecord, ExecutableRow),
    (RunRecord, RunRow),
    (FlagRecord, FlagRow),
]


def _columns(row: Any) -> tuple[str, ...]:
    table: Table = row.__table__
    return tuple(c.name for c in table.c)


@pytest.mark.parametrize(("record", "row"), RECORDS, ids=lambda r: r.__name__)
def test_a_record_has_its_tables_columns_in_their_order(record: type[Any], row: Any) -> None:
    assert record._fields == _columns(row)


def test_an_executable_ref_is_the_columns_that_name_it_in_table_order() -> None:
    assert ExecutableRef._fields == tuple(
        c for c in _columns(ExecutableRow) if c in ExecutableRef._fields
    )


def _graph(metadata: Metadata) -> dict[str, uuid.UUID]:
    """An experiment with a run started by an event, one execution that wrote a flagged
    artifact."""
    ids = {name: uuid.uuid4() for name in ("experiment", "event", "run", "exe", "step", "model")}
    common = {"version": "1", "annotations": {"a": "b"}}
    with metadata.session() as s:
        s.add(ExperimentRow(id=ids["experiment"], name="e", **common))
        s.add(
            ArtifactRow(
                id=ids["event"], name="ev", kind="event", kind_version=1, fingerprint="f0", **common
            )
        )
        s.add(ExecutableRow(id=ids["exe"], name="train", uri="git://x", **common))
        s.flush()
        s.add(
            RunRow(
                id=ids["run"],
                name="r",
                experiment_id=ids["experiment"],
                status="SUCCESS",
                event_id=ids["event"],
                **common,
            )
        )
        s.flush()
        s.add(
            ExecutionRow(
                id=ids["step"],
                name="fit",
                run_id=ids["run"],
                executable_id=ids["exe"],
                kind="train",
                status="SUCCESS",
                configuration={"lr": 0.1},
                fingerprint="f1",
                **common,
            )
        )
        s.add(
            ArtifactRow(
                id=ids["model"],
                name="m",
                kind="model",
                kind_version=1,
                fingerprint="f2",
                attributes={"k": 1},
                **common,
            )
        )
        s.flush()
        s.add(ExecutionOutputRow(execution_id=ids["step"], artifact_id=ids["model"]))
        s.add(FlagRow(artifact_id=ids["model"], reason="bad"))
    return ids


def test_readers_give_typed_records_with_hex_ids(metadata: Metadata) -> None:
    ids = _graph(metadata)
    with metadata.session("read") as s:
        (model,) = store.artifacts_by_ids(s, [ids["model"]])
        assert type(model) is ArtifactRecord
        assert model.id == ids["model"].hex
        assert model.attributes == {"k": 1}
        (light,) = store.artifacts_by_ids(s, [ids["model"].hex], light=True)
        assert light.attributes is None and light.annotations is None and light.id == model.id

        run, executions, any_flag = store.run_with_executions(s, ids["run"])
        assert type(run) is RunRecord and any_flag is True
        assert (run.id, run.experiment_id, run.event_id) == (
            ids["run"].hex,
            ids["experiment"].hex,
            ids["event"].hex,
        )
        ((step, exe),) = executions
        assert type(step) is ExecutionRecord and type(exe) is ExecutableRecord
        assert (step.id, step.run_id, step.executable_id, exe.id) == (
            ids["step"].hex,
            ids["run"].hex,
            ids["exe"].hex,
            ids["exe"].hex,
        )
        assert step.configuration == {"lr": 0.1}

        ((step, ref),) = store.executions_with_executables(s, [ids["step"]], light=True)
        assert type(ref) is ExecutableRef and ref.id == ids["exe"].hex
        assert step.configuration is None

        ((run, event),) = store.runs_with_events(s, [ids["run"]])
        assert type(event) is ArtifactRecord and event.id == ids["event"].hex

        edges, reached = store.executions_reached(s, [ids["model"]], role="producers")
        assert edges == [(ids["step"].hex, ids["model"].hex)]
        assert [type(e) for pair in reached for e in pair] == [ExecutionRecord, ExecutableRecord]

        io = store.edges_of_executions(s, [ids["step"]], artifacts=True)
        assert io.outputs == [(ids["step"].hex, ids["model"].hex, 0)] and io.inputs == []
        assert io.artifacts == {ids["model"].hex: model}

        (flag,) = store.flags_for(s)
        assert type(flag) is FlagRecord and flag.artifact_id == ids["model"].hex

        root, flagged, walk, found = store.walk_from_artifact(
            s, ids["model"], direction="upstream", depth=5, merge=False
        )
        assert root == model and flagged is True and found == [model]
        assert walk.depths == {ids["model"].hex: 0}


def test_a_statement_that_does_not_give_its_records_columns_is_refused(
    metadata: Metadata,
) -> None:
    _graph(metadata)
    with metadata.session("read") as s:
        rows = list(s.connection().execute(select(RunRow.__table__)).all())
        with pytest.raises(TypeError, match="not those of ArtifactRecord"):
            _records(rows, ArtifactRecord)
