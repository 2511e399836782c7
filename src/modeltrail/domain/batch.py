"""The batch request: many creates and updates sent, and stored, together."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import Field

from modeltrail.domain import limits
from modeltrail.domain.models import Schema, WriteSchema

EntityName = Literal["experiment", "run", "pipeline", "executable", "execution", "artifact"]


class BatchOperation(WriteSchema):
    """One create or update. ``body`` is what the entity's own POST or PATCH would take; for an
    update ``id`` names the entity, for a create it may name the id to give it."""

    op: Literal["create", "update"]
    entity: EntityName
    id: uuid.UUID | None = None
    if_match: int | None = Field(default=None, description="for an update: the revision you read")
    body: dict[str, Any] = Field(default_factory=dict)


class BatchRequest(WriteSchema):
    operations: Annotated[list[BatchOperation], Field(min_length=1, max_length=limits.MAX_LIST)]


class BatchResult(Schema):
    id: uuid.UUID
    created: bool


class BatchResponse(Schema):
    results: list[BatchResult]
