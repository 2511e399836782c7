"""Many creates, updates and links in one transaction: all of them are stored, or none.

A batch is how a pipeline step logs a whole run (its executions, artifacts and edges) in one
request. Every operation goes through the same function as a single request (create, update,
or the attach endpoints' ``add_edges`` for a link), so a batch validates exactly what single
requests validate; the plugin hooks are called per created or updated entity, ``enrich``
before the transaction and ``stored`` after it committed.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from modeltrail.domain import kinds as rules
from modeltrail.domain.batch import BatchOperation, BatchResponse, ExecutionLinks
from modeltrail.domain.errors import InvalidInput, ModeltrailError, json_pointer
from modeltrail.domain.models import ArtifactCreate, ArtifactUpdate, Execution
from modeltrail.services import access, artifacts, executions
from modeltrail.services.bulk import BulkWriter, Created
from modeltrail.services.metadata import ENTITIES, Metadata

# A link's body holds its lists under the execution's own field names: errors point there.
LINK_BODY = {name: name for name in executions.ATTACH_BODY}


def _invalid_body(index: int, exc: ValidationError) -> InvalidInput:
    errors = [
        {
            "pointer": f"/operations/{index}/body" + json_pointer(*e["loc"]),
            "detail": e["msg"],
        }
        for e in exc.errors()
    ]
    return InvalidInput(
        f"operation {index}: {len(errors)} field(s) are invalid: "
        + ", ".join(e["pointer"] for e in errors[:5]),
        errors=errors,
    )


def _parse(index: int, op: BatchOperation) -> BaseModel:
    etype = ENTITIES[op.entity]
    body = dict(op.body)
    if op.op == "link" and op.entity != "execution":
        raise InvalidInput(
            f"operation {index}: only executions are linked",
            errors=[{"pointer": f"/operations/{index}/entity", "detail": "must be execution"}],
        )
    if op.op == "create":
        if op.id is not None:
            if body.get("id") not in (None, str(op.id)):
                raise InvalidInput(
                    f"operation {index}: id and body.id differ",
                    errors=[
                        {"pointer": f"/operations/{index}/id", "detail": "differs from body.id"}
                    ],
                )
            body["id"] = str(op.id)
        model = etype.create_model
    else:
        if op.id is None:
            raise InvalidInput(
                f"operation {index}: an {op.op} names the entity it changes",
                errors=[
                    {"pointer": f"/operations/{index}/id", "detail": f"required for an {op.op}"}
                ],
            )
        model = ExecutionLinks if op.op == "link" else etype.update_model
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise _invalid_body(index, exc) from None


def _link(session: Session, execution_id: uuid.UUID, data: ExecutionLinks) -> Execution:
    return executions.add_edges(
        session,
        execution_id,
        inputs=data.input_artifacts,
        outputs=data.output_artifacts,
        successors=data.successors,
        sent_as=LINK_BODY,
    )


def _located(index: int, exc: ModeltrailError) -> ModeltrailError:
    """The same error, its pointers moved under the operation that failed."""
    base = f"/operations/{index}/body"
    errors = [{**e, "pointer": base + e.get("pointer", "")} for e in exc.errors]
    exc.errors = errors or [{"pointer": f"/operations/{index}", "detail": exc.detail}]
    exc.detail = f"operation {index} ({exc.detail}); nothing was stored"
    exc.extra = {**exc.extra, "operation": index}
    return exc


def _check_attributes(meta: Metadata, operations: list[BatchOperation], parsed: list[Any]) -> None:
    """Validate every artifact's attributes before the write transaction opens (see
    ``Metadata.check_attributes``), all of them within the one budget of the request."""
    wanted: list[tuple[int, artifacts.KindKey, Any]] = []
    for index, (op, data) in enumerate(zip(operations, parsed, strict=True)):
        if isinstance(data, ArtifactCreate):
            wanted.append((index, data.kind, data.attributes))
        elif isinstance(data, ArtifactUpdate) and "attributes" in data.model_fields_set:
            assert op.id is not None
            wanted.append((index, op.id, data.attributes))
    if not wanted:
        return
    kinds = meta.query(artifacts.kinds_of, [key for _, key, _ in wanted])
    for index, key, attributes in wanted:
        try:
            artifacts.check_attributes(kinds.get(key), attributes)
        except ModeltrailError as exc:
            raise _located(index, exc) from exc


def run_batch(meta: Metadata, operations: list[BatchOperation]) -> BatchResponse:
    """Apply ``operations`` in order, in one transaction. Later operations may refer to the
    ids of entities that earlier ones create (send client-chosen ids)."""
    access.require_global_writer(meta.scope, "a batch")
    with rules.budget():
        return _run_batch(meta, operations)


def _run_batch(meta: Metadata, operations: list[BatchOperation]) -> BatchResponse:
    parsed = [_parse(i, op) for i, op in enumerate(operations)]
    parsed = [
        data if op.op == "link" else meta.enrich(op.entity, op.op, data)
        for op, data in zip(operations, parsed, strict=True)
    ]
    _check_attributes(meta, operations, parsed)
    results: list[tuple[Any, bool]] = []
    with meta.session() as session:
        writer = BulkWriter(
            session, [(op.op, op.entity, data) for op, data in zip(operations, parsed, strict=True)]
        )
        for index, (op, data) in enumerate(zip(operations, parsed, strict=True)):
            etype = ENTITIES[op.entity]
            try:
                if op.op == "create":
                    results.append(
                        writer.create(
                            op.entity, data, lambda d, e=op.entity: meta.create_in(session, e, d)
                        )
                    )
                    continue
                assert op.id is not None
                if isinstance(data, ExecutionLinks):
                    results.append(
                        (writer.link(op.id, data, partial(_link, session, op.id)), False)
                    )
                    continue
                writer.flush()
                results.append((etype.update(session, op.id, data, if_match=op.if_match), False))
                writer.note(op.entity, "update", results[-1][0])
            except ModeltrailError as exc:
                raise _located(index, exc) from exc
        writer.flush()
    if meta.hooks.listens("stored"):
        # Links are left out, as the attach endpoints leave them out.
        for op, (result, created) in zip(operations, results, strict=True):
            if op.op == "update" or created:
                entity = result.entity() if isinstance(result, Created) else result
                meta.stored(op.entity, op.op, entity)
    # One validation of the whole answer (a model per result was a Python call each).
    return BatchResponse.model_validate(
        {"results": [{"id": r.id, "created": c} for r, c in results]}
    )
