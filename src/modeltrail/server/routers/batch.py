"""POST /batch: many creates, updates and links in one request and one transaction."""

from __future__ import annotations

from fastapi import APIRouter

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
    "and the problem's error pointers name `/operations/N/...`.",
)
def batch(request: BatchRequest, meta: MetadataDep) -> BatchResponse:
    return run_batch(meta, request.operations)
