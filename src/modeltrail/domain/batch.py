"""The batch request: many creates and updates sent, and stored, together."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, model_validator

from modeltrail.domain import limits
from modeltrail.domain.entities import NAMES
from modeltrail.domain.models import IdList, Schema, WriteSchema

if TYPE_CHECKING:
    EntityName = str
else:
    EntityName = Literal[NAMES]  # the registry's entities, by name


class BatchOperation(WriteSchema):
    """One create, update or link. ``body`` is what the entity's own POST or PATCH would take;
    for an update ``id`` names the entity, for a create it may name the id to give it. A link
    attaches more ``inputArtifacts``, ``outputArtifacts`` or ``successors`` to the execution
    ``id`` names, keeping those it has, as the execution's attach endpoints do."""

    op: Literal["create", "update", "link"]
    entity: EntityName
    id: uuid.UUID | None = None
    if_match: int | None = Field(default=None, description="for an update: the revision you read")
    body: dict[str, Any] = Field(default_factory=dict)


class ExecutionLinks(WriteSchema):
    """The body of a link operation: what to attach to an execution."""

    input_artifacts: IdList = Field(default_factory=list)
    output_artifacts: IdList = Field(default_factory=list)
    successors: IdList = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_something(self) -> ExecutionLinks:
        if not (self.input_artifacts or self.output_artifacts or self.successors):
            raise ValueError("a link names inputArtifacts, outputArtifacts or successors")
        return self


class BatchRequest(WriteSchema):
    operations: Annotated[list[BatchOperation], Field(min_length=1, max_length=limits.MAX_LIST)]


class BatchResult(Schema):
    id: uuid.UUID
    created: bool


class BatchResponse(Schema):
    results: list[BatchResult]
