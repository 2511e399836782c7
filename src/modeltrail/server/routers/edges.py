"""Attaching input and output artifacts and successors to an execution."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import Field

from modeltrail.domain import limits
from modeltrail.domain.models import Execution, WriteSchema
from modeltrail.server.deps import MetadataDep
from modeltrail.services.entities import execution as executions

router = APIRouter(prefix="/executions/{execution_id}", tags=["Executions"])
ExecutionId = Annotated[uuid.UUID, Path(description="the execution's id")]


class ArtifactIds(WriteSchema):
    artifacts: list[uuid.UUID] = Field(max_length=limits.MAX_LIST)


class ExecutionIds(WriteSchema):
    executions: list[uuid.UUID] = Field(max_length=limits.MAX_LIST)


@router.post(
    "/inputs",
    response_model=Execution,
    operation_id="addExecutionInputs",
    summary="Attach input artifacts (idempotent)",
)
def add_inputs(execution_id: ExecutionId, body: ArtifactIds, meta: MetadataDep) -> Execution:
    return meta.call(executions.add_edges, execution_id, inputs=body.artifacts)


@router.post(
    "/outputs",
    response_model=Execution,
    operation_id="addExecutionOutputs",
    summary="Attach output artifacts (idempotent)",
)
def add_outputs(execution_id: ExecutionId, body: ArtifactIds, meta: MetadataDep) -> Execution:
    return meta.call(executions.add_edges, execution_id, outputs=body.artifacts)


@router.post(
    "/successors",
    response_model=Execution,
    operation_id="addExecutionSuccessors",
    summary="Attach successor executions (idempotent; cycles are refused)",
)
def add_successors(execution_id: ExecutionId, body: ExecutionIds, meta: MetadataDep) -> Execution:
    return meta.call(executions.add_edges, execution_id, successors=body.executions)
