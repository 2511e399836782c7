"""``edges_of_executions``: each option reads what it names, in the one statement."""

from __future__ import annotations

import uuid

from tests.store.test_records import _graph

from modeltrail.services.metadata import Metadata
from modeltrail.store import lineage as store
from modeltrail.store.tables import (
    ArtifactReferenceRow,
    ExecutionInputRow,
    ExecutionRow,
    ExecutionSuccessorRow,
)


def _two_steps(metadata: Metadata) -> dict[str, uuid.UUID]:
    """The records' graph, with a second step that reads the model and follows the first,
    and the event referring to the model."""
    ids = _graph(metadata)
    ids["evaluate"] = uuid.uuid4()
    with metadata.session() as s:
        s.add(
            ExecutionRow(
                id=ids["evaluate"],
                name="evaluate",
                run_id=ids["run"],
                executable_id=ids["exe"],
                kind="evaluate",
                status="SUCCESS",
                fingerprint="f3",
                version="1",
            )
        )
        s.flush()
        s.add(ExecutionInputRow(execution_id=ids["evaluate"], artifact_id=ids["model"], position=0))
        s.add(ExecutionSuccessorRow(execution_id=ids["step"], successor_id=ids["evaluate"]))
        s.add(
            ArtifactReferenceRow(artifact_id=ids["event"], target_id=ids["model"], attribute="of")
        )
    return ids


def test_each_option_reads_what_it_names(metadata: Metadata) -> None:
    ids = _two_steps(metadata)
    step, evaluate, model = ids["step"].hex, ids["evaluate"].hex, ids["model"].hex
    with metadata.session("read") as s:
        plain = store.edges_of_executions(s, [ids["step"]])
        assert plain.outputs == [(step, model, 0)] and plain.inputs == []
        assert plain.successors == [] and plain.artifacts == {} and plain.references == []

        among = store.edges_of_executions(s, [ids["step"]], successors="among")
        assert among.successors == []  # the successor is not among the executions
        every = store.edges_of_executions(s, [ids["step"]], successors="all")
        assert every.successors == [(step, evaluate)]
        both = store.edges_of_executions(s, [ids["step"], ids["evaluate"]], successors="among")
        assert both.successors == [(step, evaluate)]
        assert both.input_lists() == {evaluate: [model]}
        assert both.output_lists() == {step: [model]}

        run = store.edges_of_executions(s, run=ids["run"], successors="among", artifacts=True)
        assert sorted(run.inputs + run.outputs) == sorted(both.inputs + both.outputs)
        assert run.successors == [(step, evaluate)] and set(run.artifacts) == {model}

        refs = store.edges_of_executions(
            s, [ids["step"]], references_among=[ids["model"], ids["event"]]
        )
        assert refs.references == [(model, ids["event"].hex)]
        assert (
            store.edges_of_executions(s, [ids["step"]], references_among=[ids["model"]]).references
            == []
        )
