"""Graph nodes from stored rows, with flags marked wherever an artifact appears (FR5)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from modeltrail.domain.lineage import ExecutableRef, FlagMark, Node, Trigger
from modeltrail.store.lineage import flagged_reach, flags_for, hexes
from modeltrail.store.records import (
    ArtifactRecord,
    Executable,
    ExecutionRecord,
    FlagRecord,
    Id,
    RunRecord,
)
from modeltrail.store.tables import (
    ArtifactRow,
    ExecutableRow,
    ExecutionRow,
    ExperimentRow,
    PipelineRow,
)

DEPLOY_KINDS = frozenset({"deploy", "deployment"})

# Nodes are made from the graph readers' records (ids as hex) and, where a question starts
# from one entity, from ORM rows (ids as UUIDs): a node's id takes either (``NodeId``).
AnyArtifact = ArtifactRecord | ArtifactRow
AnyExecution = ExecutionRecord | ExecutionRow
AnyExecutable = Executable | ExecutableRow


@dataclass
class Marks:
    """Flags and what they taint, read once per request (artifacts by hex id)."""

    flags: dict[Id, FlagRecord] = field(default_factory=dict)
    reach: dict[str, set[Id]] = field(default_factory=dict)

    def flagged(self, artifact_ids: Iterable[uuid.UUID | Id]) -> FlagMark | None:
        if not self.flags:
            return None
        for aid in hexes(artifact_ids):
            row = self.flags.get(aid)
            if row is not None:
                return FlagMark(
                    artifact=row.artifact_id, reason=row.reason, create_time=row.create_time
                )
        return None

    def affected_by(
        self, fingerprint: str, artifact_ids: Iterable[uuid.UUID | Id]
    ) -> list[Id] | None:
        origins = self.reach.get(fingerprint)
        if not origins:
            return None
        return sorted(origins - set(hexes(artifact_ids))) or None


def load_marks(session: Session, *, any_flag: bool = True) -> Marks:
    """The flags and what they taint; none read when the caller knows no artifact is
    flagged (``any_flag`` False, read with its first statement)."""
    if not any_flag:
        return Marks()
    flags = {f.artifact_id: f for f in flags_for(session)}
    if not flags:
        return Marks()
    return Marks(flags=flags, reach=flagged_reach(session))


def executable_ref(row: AnyExecutable) -> ExecutableRef:
    return ExecutableRef.model_validate(executable_fields(row))


def executable_fields(row: AnyExecutable) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "version": row.version, "uri": row.uri}


class ExecutableRefs(dict[Id, dict[str, Any]]):
    """The reference fields of each executable, made once and shared by all the executions
    of an answer that ran it (thousands of executions, a handful of executables)."""

    def of(self, row: Executable) -> dict[str, Any]:
        ref = self.get(row.id)
        if ref is None:
            ref = self[row.id] = executable_fields(row)
        return ref


# A large answer (a trace of a thousand runs, the impact of a popular dataset) is built as
# plain dicts and validated into its model in one call: pydantic then does the per-node work
# in Rust instead of a Python constructor call per node.


def artifact_fields(
    row: AnyArtifact,
    marks: Marks,
    *,
    depth: int | None = None,
    members: list[Any] | None = None,
    runs: list[Any] | None = None,
    node_type: str = "artifact",
) -> dict[str, Any]:
    ids = members or [row.id]
    return {
        "id": row.id,
        "type": node_type,
        "name": row.name,
        "depth": depth,
        "kind": row.kind,
        "version": row.version,
        "uri": row.uri,
        "fingerprint": row.fingerprint,
        "create_time": row.create_time,
        "attributes": row.attributes,
        "annotations": row.annotations,
        "artifacts": members,
        "runs": runs,
        "flagged": marks.flagged(ids),
        "affected_by": marks.affected_by(row.fingerprint, ids),
    }


def artifact_node(row: AnyArtifact, marks: Marks) -> Node:
    return Node.model_validate(artifact_fields(row, marks))


def execution_fields(
    row: AnyExecution,
    executable: AnyExecutable | dict[str, Any],
    *,
    depth: int | None = None,
) -> dict[str, Any]:
    return {
        "id": row.id,
        "type": "execution",
        "name": row.name,
        "depth": depth,
        "kind": row.kind,
        "version": row.version,
        "uri": row.uri,
        "status": row.status,
        "create_time": row.create_time,
        "start_time": row.start_time,
        "end_time": row.end_time,
        "configuration": row.configuration,
        "annotations": row.annotations,
        "executable": executable if isinstance(executable, dict) else executable_fields(executable),
        "run": row.run_id,
        "fingerprint": row.fingerprint,
    }


def execution_node(row: AnyExecution, executable: AnyExecutable) -> Node:
    return Node.model_validate(execution_fields(row, executable))


def run_fields(row: RunRecord) -> dict[str, Any]:
    return {
        "id": row.id,
        "type": "run",
        "name": row.name,
        "version": row.version,
        "uri": row.uri,
        "status": row.status,
        "create_time": row.create_time,
        "end_time": row.end_time,
        "configuration": row.configuration,
        "annotations": row.annotations,
        "experiment": row.experiment_id,
        "event": row.event_id,
    }


def run_node(row: RunRecord) -> Node:
    return Node.model_validate(run_fields(row))


def experiment_node(row: ExperimentRow | PipelineRow) -> Node:
    return Node(
        id=row.id,
        type="experiment" if isinstance(row, ExperimentRow) else "pipeline",
        name=row.name,
        version=row.version,
        create_time=row.create_time,
        annotations=row.annotations,
    )


def trigger_fields(row: AnyArtifact) -> dict[str, Any]:
    cause = row.attributes.get("cause") if isinstance(row.attributes, dict) else None
    return {
        "id": row.id,
        "name": row.name,
        "cause": None if cause is None else str(cause),
        "attributes": row.attributes,
        "annotations": row.annotations,
    }


def trigger(row: AnyArtifact | None) -> Trigger | None:
    return None if row is None else Trigger.model_validate(trigger_fields(row))
