"""``POST /argo/workflows``: import an Argo Workflow (``modeltrail argo import`` sends it)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from starlette.concurrency import run_in_threadpool

from modeltrail.integrations.argo import translator as argo
from modeltrail.server.deps import MetadataDep

router = APIRouter(prefix="/argo", tags=["Argo"])


@router.post(
    "/workflows",
    operation_id="importArgoWorkflow",
    summary="Import an Argo Workflow as a run",
    description="The body is a Workflow object as `GET /api/v1/workflows/{namespace}/{name}` of "
    "the Argo Server returns it. Importing the same workflow again updates the same run.",
)
async def import_workflow(
    meta: MetadataDep, workflow: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    return await run_in_threadpool(argo.import_workflow, meta, workflow)
