"""Two artifacts of one kind side by side, field by field (FR2)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from modeltrail.domain.errors import InvalidInput
from modeltrail.domain.lineage import Comparison, FieldComparison
from modeltrail.services.common import get_or_404
from modeltrail.services.graph.nodes import artifact_node, load_marks
from modeltrail.store import lineage as store
from modeltrail.store.tables import ArtifactRow, ExecutionRow, RunRow

_MISSING = object()


def flatten(value: Any, prefix: str) -> dict[str, Any]:
    """Nested documents as dotted paths (``attributes.hyperParameters.learning-rate``)."""
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for key in value:
            out.update(flatten(value[key], f"{prefix}.{key}"))
        return out
    return {prefix: value}


def _producer_fields(session: Session, artifact_id: uuid.UUID) -> dict[str, Any]:
    """The configuration of the execution that wrote the artifact and of its run: the
    hyperparameters a model was trained with even when they are not model attributes."""
    pairs = store.execution_edges(session, artifact_ids=[artifact_id], role="producers")
    if not pairs:
        return {}
    execution = session.get(ExecutionRow, uuid.UUID(hex=pairs[0][0]))
    assert execution is not None
    run = session.get(RunRow, execution.run_id)
    fields = (
        flatten(execution.configuration, "producedBy.configuration")
        if execution.configuration
        else {}
    )
    if run is not None and run.configuration:
        fields.update(flatten(run.configuration, "producedBy.run.configuration"))
    return fields


def fields_of(session: Session, row: ArtifactRow) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": row.name,
        "version": row.version,
        "kindVersion": row.kind_version,
        "uri": row.uri,
        "description": row.description,
        "fingerprint": row.fingerprint,
    }
    for prefix, doc in (("attributes", row.attributes), ("annotations", row.annotations)):
        if doc:
            fields.update(flatten(doc, prefix))
    fields.update(_producer_fields(session, row.id))
    fields["createTime"] = row.create_time.isoformat()
    return fields


def compare(session: Session, a: uuid.UUID, b: uuid.UUID) -> Comparison:
    """Every field of either artifact with both values; ``equal`` false where they differ.
    Artifacts of different kinds are not comparable."""
    first = get_or_404(session, ArtifactRow, a, "artifact")
    second = get_or_404(session, ArtifactRow, b, "artifact")
    if first.kind != second.kind:
        raise InvalidInput(
            f"artifacts of different kinds cannot be compared: {first.kind!r} and {second.kind!r}",
            errors=[
                {
                    "pointer": "/b",
                    "in": "query",
                    "detail": f"kind {second.kind!r}, expected {first.kind!r}",
                }
            ],
        )
    fa, fb = fields_of(session, first), fields_of(session, second)
    rows = []
    for name in list(dict.fromkeys([*fa, *fb])):
        va, vb = fa.get(name, _MISSING), fb.get(name, _MISSING)
        rows.append(
            FieldComparison(
                field=name,
                a=None if va is _MISSING else va,
                b=None if vb is _MISSING else vb,
                equal=va == vb,
            )
        )
    # Identity and time always differ; they are shown but do not count as differences.
    counted = [r for r in rows if not r.equal and r.field not in {"createTime", "fingerprint"}]
    marks = load_marks(session)
    return Comparison(
        kind=first.kind,
        a=artifact_node(first, marks),
        b=artifact_node(second, marks),
        equal=first.fingerprint == second.fingerprint,
        differences=len(counted),
        fields=rows,
    )
