"""Executions: one run of one executable, with the artifacts it read and wrote: create,
delete, what a change checks, attaching edges (read, update and list: ``crud``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modeltrail.domain.entities import ENTITIES
from modeltrail.domain.errors import ModeltrailError
from modeltrail.domain.fingerprint import execution_fingerprint, work_inputs
from modeltrail.domain.models import Execution, ExecutionCreate, ExecutionUpdate
from modeltrail.domain.status import settle_create, settle_update
from modeltrail.services import access
from modeltrail.services.common import (
    apply_update,
    refuse_if_referenced,
    require_existing,
)
from modeltrail.services.entities import edges
from modeltrail.services.entities.crud import Service
from modeltrail.store.fields import entity_fields
from modeltrail.store.rows import to_model
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutableRow,
    ExecutionInputRow,
    ExecutionOutputRow,
    ExecutionRow,
    ExecutionSuccessorRow,
    ExperimentRow,
    RunRow,
    utcnow,
)

# Beyond its columns: the experiment it ran in and the artifacts it read and wrote, and what
# its references name.
EXECUTION_FIELDS = replace(
    entity_fields(ExecutionRow),
    relations={
        "experiment": lambda ids: ExecutionRow.run_id.in_(
            select(RunRow.id).where(RunRow.experiment_id.in_(ids))
        ),
        "inputArtifact": lambda ids: ExecutionRow.id.in_(
            select(ExecutionInputRow.execution_id).where(ExecutionInputRow.artifact_id.in_(ids))
        ),
        "outputArtifact": lambda ids: ExecutionRow.id.in_(
            select(ExecutionOutputRow.execution_id).where(ExecutionOutputRow.artifact_id.in_(ids))
        ),
    },
    named={
        "run": RunRow,
        "executable": ExecutableRow,
        "reusedFrom": ExecutionRow,
        "experiment": ExperimentRow,
        "inputArtifact": ArtifactRow,
        "outputArtifact": ArtifactRow,
    },
)

_COLUMNS = ENTITIES["execution"].columns


def _edges(
    inputs: list[uuid.UUID], outputs: list[uuid.UUID], successors: list[uuid.UUID]
) -> dict[str, list[uuid.UUID]]:
    """An execution's fields that are no column of its row."""
    return {"input_artifacts": inputs, "output_artifacts": outputs, "successors": successors}


def _to_executions(session: Session, rows: Sequence[ExecutionRow]) -> list[Execution]:
    """Executions with their edges, read in one statement for all of them."""
    found = edges.edges_of(session, [r.id for r in rows])
    inputs, outputs, successors = found["inputs"], found["outputs"], found["successors"]
    return [
        to_model(
            "execution",
            r,
            **_edges(inputs.get(r.id, []), outputs.get(r.id, []), successors.get(r.id, [])),
        )
        for r in rows
    ]


def compute_fingerprint(
    session: Session,
    executable_id: uuid.UUID,
    kind: str,
    configuration: dict[str, Any],
    inputs: list[uuid.UUID],
) -> str:
    exe = session.get(ExecutableRow, executable_id)
    assert exe is not None
    input_prints = work_inputs(
        session.execute(
            select(ArtifactRow.kind, ArtifactRow.fingerprint).where(ArtifactRow.id.in_(inputs))
        ).all()
    )
    return execution_fingerprint(
        executable_name=exe.name,
        executable_version=exe.version,
        executable_uri=exe.uri,
        kind=kind,
        configuration=configuration,
        input_fingerprints=input_prints,
    )


def _change(
    session: Session,
    row: ExecutionRow,
    changes: dict[str, Any],
    data: Any,
    *,
    current: Execution | None = None,
    mirror: bool = False,
) -> dict[str, Any]:
    """``current`` is the execution as just read in this transaction, if the caller has it
    (not read again). A finished one stays finished (``domain.status``; ``mirror``: an
    importer that mirrors another system's state may correct it); new edges are checked, and
    the fingerprint made again where what it is made of changed."""
    execution_id = row.id
    if current is None:
        current = SERVICE.to_model(session, row)
    changes = settle_update(
        "execution",
        row.id,
        status=row.status,
        end_time=row.end_time,
        changes=changes,
        now=utcnow(),
        mirror=mirror,
    )
    if changes.get("reused_from") is not None:
        require_existing(
            session,
            ExecutionRow,
            [changes["reused_from"]],
            pointer="/reusedFrom",
            what="execution",
            indexed=False,
        )
    inputs = changes.pop("input_artifacts", None)
    outputs = changes.pop("output_artifacts", None)
    successors = changes.pop("successors", None)
    if not (inputs is None and outputs is None and successors is None):
        # Edges are checked when they are written: the stored ones passed already.
        edges.check_edges(
            session,
            execution_id,
            current.input_artifacts if inputs is None else inputs,
            current.output_artifacts if outputs is None else outputs,
            current.successors if successors is None else successors,
        )
    access.check_execution(
        session,
        row.run_id,
        inputs=None if inputs is None else (current.input_artifacts, inputs),
        outputs=None if outputs is None else (current.output_artifacts, outputs),
        successors=None if successors is None else (current.successors, successors),
        reused_from=changes.get("reused_from"),
    )
    made_of = (row.kind, row.configuration)
    changed = apply_update(row, changes, _COLUMNS)
    inputs_changed = inputs is not None and inputs != current.input_artifacts
    edges_changed = (
        inputs_changed
        or (outputs is not None and outputs != current.output_artifacts)
        or (successors is not None and successors != current.successors)
    )
    if edges_changed:
        edges.set_edges(
            session, execution_id, inputs=inputs, outputs=outputs, successors=successors
        )
        if not changed:
            row.revision += 1
    final_inputs = current.input_artifacts if inputs is None else inputs
    if inputs_changed or (row.kind, row.configuration) != made_of:
        # Only what the fingerprint is made of (the executable never changes): a step's end
        # (its status, its outputs) leaves it as it is.
        row.fingerprint = compute_fingerprint(
            session, row.executable_id, row.kind, row.configuration, final_inputs
        )
    # The edges as just written: reading them back would be another statement.
    return _edges(
        final_inputs,
        current.output_artifacts if outputs is None else outputs,
        current.successors if successors is None else successors,
    )


SERVICE: Service[Execution] = Service(
    "execution",
    fields=EXECUTION_FIELDS,
    to_models=_to_executions,
    change=_change,
    settled=frozenset({"end_time"}),
)


def create_execution(session: Session, data: ExecutionCreate) -> tuple[Execution, bool]:
    stored = SERVICE.retried(session, data)
    if stored is not None:
        return stored, False
    require_existing(session, RunRow, [data.run], pointer="/run", what="run", indexed=False)
    require_existing(
        session,
        ExecutableRow,
        [data.executable],
        pointer="/executable",
        what="executable",
        indexed=False,
    )
    if data.reused_from is not None:
        require_existing(
            session,
            ExecutionRow,
            [data.reused_from],
            pointer="/reusedFrom",
            what="execution",
            indexed=False,
        )
    execution_id = data.id or uuid.uuid4()
    end = settle_create(
        "execution", {"status": data.status, "end_time": data.end_time}, now=utcnow()
    )
    edges.check_edges(
        session, execution_id, data.input_artifacts, data.output_artifacts, data.successors
    )
    access.check_execution(
        session,
        data.run,
        inputs=((), data.input_artifacts),
        outputs=((), data.output_artifacts),
        successors=((), data.successors),
        reused_from=data.reused_from,
    )
    row = SERVICE.insert(
        session,
        data,
        id=execution_id,
        end_time=end["end_time"],
        fingerprint=compute_fingerprint(
            session, data.executable, data.kind, data.configuration, data.input_artifacts
        ),
    )
    edges.set_edges(
        session,
        row.id,
        inputs=data.input_artifacts,
        outputs=data.output_artifacts,
        successors=data.successors,
    )
    session.flush()
    return SERVICE.to_model(session, row), True


# Where the attach endpoints' bodies carry each list: errors point there.
ATTACH_BODY = {
    "inputArtifacts": "artifacts",
    "outputArtifacts": "artifacts",
    "successors": "executions",
}


def add_edges(
    session: Session,
    execution_id: uuid.UUID,
    *,
    inputs: list[uuid.UUID] = (),  # type: ignore[assignment]
    outputs: list[uuid.UUID] = (),  # type: ignore[assignment]
    successors: list[uuid.UUID] = (),  # type: ignore[assignment]
    sent_as: dict[str, str] = ATTACH_BODY,
) -> Execution:
    """Attach more inputs, outputs or successors to an execution (already attached ones are
    kept once, so repeating a call changes nothing).

    Errors point into what was sent, not into the execution's merged lists: ``sent_as`` names
    the member of the sent body that holds each list (``/artifacts/0``, ``/executions/2`` for
    the attach endpoints)."""
    current = SERVICE.read(session, execution_id)
    sent = {"inputArtifacts": inputs, "outputArtifacts": outputs, "successors": successors}
    merged = {
        "inputArtifacts": list(dict.fromkeys([*current.input_artifacts, *inputs])),
        "outputArtifacts": list(dict.fromkeys([*current.output_artifacts, *outputs])),
        "successors": list(dict.fromkeys([*current.successors, *successors])),
    }
    # Only the lists that grow are written (and checked) again.
    update = ExecutionUpdate(
        **{
            field: merged[name]
            for field, name, before in (
                ("input_artifacts", "inputArtifacts", current.input_artifacts),
                ("output_artifacts", "outputArtifacts", current.output_artifacts),
                ("successors", "successors", current.successors),
            )
            if merged[name] != before
        }
    )
    try:
        return SERVICE.update(session, execution_id, update, current=current)
    except ModeltrailError as exc:
        exc.errors = [_pointing_at_sent(e, merged, sent, sent_as) for e in exc.errors]
        raise


def _pointing_at_sent(
    error: dict[str, Any],
    merged: dict[str, list[uuid.UUID]],
    sent: dict[str, list[uuid.UUID]],
    sent_as: dict[str, str],
) -> dict[str, Any]:
    """``error`` with a pointer into a merged list moved to the sent id it is about."""
    parts = (error.get("pointer") or "").split("/")[1:]
    field = parts[0] if parts else ""
    if field not in merged:
        return error
    at = f"/{sent_as[field]}"
    index = parts[1] if len(parts) > 1 else ""
    if index.isdigit() and int(index) < len(merged[field]):
        found = merged[field][int(index)]
        if found in sent[field]:
            at += f"/{list(sent[field]).index(found)}"
    return {**error, "pointer": at}


def delete_execution(session: Session, execution_id: uuid.UUID) -> None:
    row = SERVICE.get(session, execution_id)
    refuse_if_referenced(
        "execution",
        execution_id,
        {
            "predecessors": list(
                session.scalars(
                    select(ExecutionSuccessorRow.execution_id).where(
                        ExecutionSuccessorRow.successor_id == execution_id
                    )
                )
            ),
            "reusedBy": list(
                session.scalars(
                    select(ExecutionRow.id).where(ExecutionRow.reused_from_id == execution_id)
                )
            ),
        },
    )
    if access.scope_of(session) is not None:
        # Deleting the execution deletes its edges: their other ends must allow it.
        current = SERVICE.to_model(session, row)
        access.check_execution(
            session,
            row.run_id,
            inputs=(current.input_artifacts, []),
            outputs=(current.output_artifacts, []),
            successors=(current.successors, []),
        )
    session.delete(row)
