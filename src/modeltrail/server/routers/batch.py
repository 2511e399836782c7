"""POST /batch: many creates, updates and links in one request and one transaction."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from modeltrail.domain.batch import BatchRequest, BatchResponse
from modeltrail.server.deps import MetadataDep
from modeltrail.services.batch import run_batch

router = APIRouter(tags=["Batch"])


@router.post(
    "/batch",
    response_model=BatchResponse,
    operation_id="runBatch",
    summary="Create, update and link many entities at once, all or nothing",
    description="Operations run in order in one transaction; a later operation may refer to an "
    "id an earlier one creates. A `link` attaches `inputArtifacts`, `outputArtifacts` or "
    "`successors` to an execution, as its attach endpoints do. If one fails, nothing is stored "
    "and the problem's error pointers name `/operations/N/...`. Send an `Idempotency-Key` "
    "(a new one per batch) to make a retry safe: the same batch sent again with the same key "
    "within a day is answered as the first time, with `Idempotent-Replayed: true`, and changes "
    "nothing; the key sent with another batch is a 422.",
)
def batch(
    request: BatchRequest,
    meta: MetadataDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="1 to 128 visible ASCII characters, new for each batch (a UUID)",
        ),
    ] = None,
) -> BatchResponse:
    answer, replayed = run_batch(meta, request.operations, idempotency_key=idempotency_key)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return answer
