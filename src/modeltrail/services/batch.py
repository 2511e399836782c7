"""Many creates, updates and links in one transaction: all of them are stored, or none.

A batch is how a pipeline step logs a whole run (its executions, artifacts and edges) in one
request. Every operation goes through the same function as a single request (create, update,
or the attach endpoints' ``add_edges`` for a link), so a batch validates exactly what single
requests validate; the plugin hooks are called per created or updated entity, ``enrich``
before the transaction and ``stored`` after it committed.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from modeltrail.domain import kinds as rules
from modeltrail.domain.batch import BatchOperation, BatchResponse, ExecutionLinks
from modeltrail.domain.errors import InvalidInput, ModeltrailError, json_pointer
from modeltrail.domain.models import Actor, ArtifactCreate, ArtifactUpdate, Execution
from modeltrail.services import access
from modeltrail.services.entities import artifact as artifacts
from modeltrail.services.entities import execution as executions
from modeltrail.services.metadata import ENTITIES, Metadata
from modeltrail.store.bulk import BulkWriter, Created
from modeltrail.store.tables import BatchReceiptRow, utcnow

# How long the answer to a batch sent with an Idempotency-Key is kept for a retry of it.
RECEIPT_LIFETIME = timedelta(days=1)
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,128}")  # visible ASCII, as in a header

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


@dataclass(frozen=True)
class Receipt:
    """What identifies a batch sent with an Idempotency-Key: the key, who sent it, and the
    hash of what was sent."""

    key: str
    principal: str
    request_hash: str

    @classmethod
    def of(cls, key: str, actor: Actor | None, operations: list[BatchOperation]) -> Receipt:
        if not IDEMPOTENCY_KEY.fullmatch(key):
            raise InvalidInput(
                "Idempotency-Key must be 1 to 128 visible ASCII characters",
                errors=[{"pointer": "/headers/Idempotency-Key", "detail": "not a key"}],
            )
        sent = [op.model_dump(mode="json", by_alias=True) for op in operations]
        # The json module, not orjson: a body may hold integers past 64 bits.
        canonical = json.dumps(sent, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
        principal = "" if actor is None else str(actor.id or actor.name)
        return cls(key, principal[:64], digest)


def run_batch(
    meta: Metadata, operations: list[BatchOperation], *, idempotency_key: str | None = None
) -> tuple[BatchResponse, bool]:
    """Apply ``operations`` in order, in one transaction. Later operations may refer to the
    ids of entities that earlier ones create (send client-chosen ids).

    With an ``idempotency_key``, the same batch sent again within a day is answered as the first
    time and changes nothing (the second of the pair is True): a client whose answer was lost
    can send it again, though its later operations changed what its creates made."""
    access.require_global_writer(meta.scope, "a batch")
    receipt = (
        None if idempotency_key is None else Receipt.of(idempotency_key, meta.actor, operations)
    )
    with rules.budget():
        return _run_batch(meta, operations, receipt)


def _replayed(session: Session, receipt: Receipt) -> BatchResponse | None:
    """The answer kept for ``receipt``'s key, or None; refused if the key was used for another
    batch or by another token."""
    if session.get_bind().dialect.name == "postgresql":
        # The same key sent twice at once: the second waits for the first to commit, and then
        # finds its answer (SQLite's writers are serialised already).
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(receipt.key))))
    row = session.get(BatchReceiptRow, receipt.key)
    if row is None:
        return None
    if row.create_time < utcnow() - RECEIPT_LIFETIME:
        session.delete(row)
        session.flush()
        return None
    if (row.principal, row.request_hash) != (receipt.principal, receipt.request_hash):
        raise InvalidInput(
            "this Idempotency-Key was used for another batch; use a new key for each batch",
            errors=[{"pointer": "/headers/Idempotency-Key", "detail": "used for another batch"}],
        )
    return BatchResponse.model_validate(row.answer)


def _keep(session: Session, receipt: Receipt, answer: BatchResponse) -> None:
    session.execute(
        delete(BatchReceiptRow).where(BatchReceiptRow.create_time < utcnow() - RECEIPT_LIFETIME)
    )
    session.add(
        BatchReceiptRow(
            key=receipt.key,
            principal=receipt.principal,
            request_hash=receipt.request_hash,
            answer=answer.model_dump(mode="json", by_alias=True),
        )
    )


def _run_batch(
    meta: Metadata, operations: list[BatchOperation], receipt: Receipt | None
) -> tuple[BatchResponse, bool]:
    parsed = [_parse(i, op) for i, op in enumerate(operations)]
    parsed = [
        data if op.op == "link" else meta.enrich(op.entity, op.op, data)
        for op, data in zip(operations, parsed, strict=True)
    ]
    _check_attributes(meta, operations, parsed)
    results: list[tuple[Any, bool]] = []
    with meta.session() as session:
        if receipt is not None:
            kept = _replayed(session, receipt)
            if kept is not None:
                return kept, True
        writer = BulkWriter(
            session, [(op.op, op.entity, data) for op, data in zip(operations, parsed, strict=True)]
        )
        for index, (op, data) in enumerate(zip(operations, parsed, strict=True)):
            etype = ENTITIES[op.entity]
            try:
                if op.op == "create":

                    def single(d: BaseModel, e: str = op.entity) -> tuple[Any, bool]:
                        return meta.create_in(session, e, d)

                    results.append(writer.create(op.entity, data, single))
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
        # One validation of the whole answer (a model per result was a Python call each).
        answer = BatchResponse.model_validate(
            {"results": [{"id": r.id, "created": c} for r, c in results]}
        )
        if receipt is not None:
            _keep(session, receipt, answer)
    if meta.hooks.listens("stored"):
        # Links are left out, as the attach endpoints leave them out.
        for op, (result, created) in zip(operations, results, strict=True):
            if op.op == "update" or created:
                entity = result.entity() if isinstance(result, Created) else result
                meta.stored(op.entity, op.op, entity)
    return answer, False
