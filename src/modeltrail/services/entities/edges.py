"""An execution's edges: the artifacts it read and wrote, and the executions that follow it.

Checked (no dangling id, no id twice, no cycle in the flow of artifacts or of successors)
and written here, for the execution's create, its update and the attach endpoints alike.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from modeltrail.domain.errors import CycleDetected, InvalidInput
from modeltrail.services.common import require_existing
from modeltrail.store import lineage as store
from modeltrail.store.graph import executions_downstream, successors_reachable
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    ExecutionSuccessorRow,
)


def edges_of(session: Session, ids: list[uuid.UUID]) -> dict[str, dict[uuid.UUID, list[uuid.UUID]]]:
    """Inputs, outputs and successors of many executions (inputs and outputs in recorded
    order), in the lineage readers' one statement."""
    io = store.edges_of_executions(session, ids, successors="all")
    inputs, outputs, follows = io.input_lists(), io.output_lists(), io.successors
    successors: dict[str, list[str]] = defaultdict(list)
    for execution, successor in follows:
        successors[execution].append(successor)
    return {
        name: defaultdict(
            list, {uuid.UUID(e): [uuid.UUID(i) for i in listed] for e, listed in lists.items()}
        )
        for name, lists in (("inputs", inputs), ("outputs", outputs), ("successors", successors))
    }


def check_edges(
    session: Session,
    execution_id: uuid.UUID,
    inputs: list[uuid.UUID],
    outputs: list[uuid.UUID],
    successors: list[uuid.UUID],
) -> None:
    for name, ids in (
        ("inputArtifacts", inputs),
        ("outputArtifacts", outputs),
        ("successors", successors),
    ):
        if len(set(ids)) != len(ids):
            raise InvalidInput(
                f"{name} lists the same id twice",
                errors=[{"pointer": f"/{name}", "detail": "duplicate id"}],
            )
    require_existing(session, ArtifactRow, inputs, pointer="/inputArtifacts", what="artifact")
    require_existing(session, ArtifactRow, outputs, pointer="/outputArtifacts", what="artifact")
    require_existing(session, ExecutionRow, successors, pointer="/successors", what="execution")
    both = set(inputs) & set(outputs)
    if both:
        raise CycleDetected(
            "an execution cannot read the artifact it writes",
            errors=[
                {"pointer": "/inputArtifacts", "detail": f"artifact {a} is also an output"}
                for a in both
            ],
        )
    if execution_id in successors or execution_id in successors_reachable(session, successors):
        raise CycleDetected(
            f"execution {execution_id} would follow itself through its successors",
            errors=[
                {"pointer": "/successors", "detail": "successor chain leads back to this execution"}
            ],
        )
    if inputs:
        # An input written downstream of this execution would make the artifact flow circular.
        producers = set(
            session.scalars(
                select(ExecutionOutputRow.execution_id).where(
                    ExecutionOutputRow.artifact_id.in_(inputs)
                )
            )
        )
        # Downstream of the outputs as sent (a new execution has no stored outputs yet).
        readers = set(
            session.scalars(
                select(ExecutionInputRow.execution_id).where(
                    ExecutionInputRow.artifact_id.in_(outputs)
                )
            )
        )
        downstream = readers | executions_downstream(session, [execution_id, *readers])
        if execution_id in producers or producers & downstream:
            raise CycleDetected(
                "an input artifact was derived from this execution's own outputs",
                errors=[
                    {"pointer": "/inputArtifacts", "detail": "artifact flow would form a cycle"}
                ],
            )


def set_edges(
    session: Session,
    execution_id: uuid.UUID,
    *,
    inputs: list[uuid.UUID] | None = None,
    outputs: list[uuid.UUID] | None = None,
    successors: list[uuid.UUID] | None = None,
) -> None:
    """Replace the lists given (None: left as stored); inputs and outputs keep their order."""
    for table, artifacts in ((ExecutionInputRow, inputs), (ExecutionOutputRow, outputs)):
        if artifacts is not None:
            session.execute(delete(table).where(table.execution_id == execution_id))
            session.add_all(
                table(execution_id=execution_id, artifact_id=a, position=i)
                for i, a in enumerate(artifacts)
            )
    if successors is not None:
        session.execute(
            delete(ExecutionSuccessorRow).where(ExecutionSuccessorRow.execution_id == execution_id)
        )
        session.add_all(
            ExecutionSuccessorRow(execution_id=execution_id, successor_id=s) for s in successors
        )
