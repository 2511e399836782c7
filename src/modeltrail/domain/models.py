"""The metadata schema of thesis Tables 6.2-6.11 as typed models.

Three models per entity, named by purpose: ``XCreate`` is what a client sends to make one,
``XUpdate`` what it sends to change one (every field optional), ``X`` what it reads back.
JSON names are camelCase on the wire, as in the thesis's Appendix A. The base classes and
field types they are made of are in ``domain.base``, and are also found here.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import Field

from modeltrail.domain import limits
from modeltrail.domain.base import (
    NUL,
    Actor,
    Configuration,
    CreatedBy,
    Document,
    IdList,
    Name,
    Schema,
    ShortText,
    Status,
    StringMap,
    Text,
    Timestamp,
    UpdatedBy,
    UpdateSchema,
    Uri,
    Version,
    WriteSchema,
    check_document,
    in_utc,
    may_hold_nul,
    unstorable_number,
)

__all__ = [
    "Actor",
    "Artifact",
    "ArtifactCreate",
    "ArtifactUpdate",
    "Configuration",
    "CreatedBy",
    "Document",
    "Executable",
    "ExecutableCreate",
    "ExecutableUpdate",
    "Execution",
    "ExecutionCreate",
    "ExecutionUpdate",
    "Experiment",
    "ExperimentCreate",
    "ExperimentUpdate",
    "IdList",
    "Kind",
    "KindCreate",
    "NUL",
    "Name",
    "Page",
    "Pipeline",
    "PipelineCreate",
    "PipelineUpdate",
    "Run",
    "RunCreate",
    "RunUpdate",
    "Schema",
    "ShortText",
    "Status",
    "StringMap",
    "Text",
    "Timestamp",
    "UpdateSchema",
    "UpdatedBy",
    "Uri",
    "Version",
    "WriteSchema",
    "check_document",
    "in_utc",
    "may_hold_nul",
    "unstorable_number",
]

T = TypeVar("T")


# ---------------------------------------------------------------- experiment


class ExperimentCreate(WriteSchema):
    id: uuid.UUID | None = None
    name: Name
    version: Version = "1"
    create_time: Timestamp | None = None
    annotations: StringMap = Field(default_factory=dict)


class ExperimentUpdate(UpdateSchema):
    name: Name | None = None
    version: Version | None = None
    annotations: StringMap | None = None


class Experiment(Schema):
    id: uuid.UUID
    name: str
    version: str
    create_time: datetime
    annotations: dict[str, str]
    revision: int
    created_by: CreatedBy = None
    updated_by: UpdatedBy = None


# ---------------------------------------------------------------- executable


class ExecutableCreate(WriteSchema):
    id: uuid.UUID | None = None
    name: Name
    version: Version = "1"
    create_time: Timestamp | None = None
    uri: Uri | None = None
    description: Text | None = None
    annotations: StringMap = Field(default_factory=dict)


class ExecutableUpdate(UpdateSchema):
    name: Name | None = None
    version: Version | None = None
    uri: Uri | None = None
    description: Text | None = None
    annotations: StringMap | None = None


class Executable(Schema):
    id: uuid.UUID
    name: str
    version: str
    create_time: datetime
    uri: str | None
    description: str | None
    annotations: dict[str, str]
    revision: int
    created_by: CreatedBy = None
    updated_by: UpdatedBy = None


# ---------------------------------------------------------------- pipeline


class PipelineCreate(WriteSchema):
    id: uuid.UUID | None = None
    name: Name
    version: Version = "1"
    create_time: Timestamp | None = None
    uri: Uri | None = None
    executables: IdList = Field(default_factory=list)
    annotations: StringMap = Field(default_factory=dict)


class PipelineUpdate(UpdateSchema):
    name: Name | None = None
    version: Version | None = None
    uri: Uri | None = None
    executables: IdList | None = None
    annotations: StringMap | None = None


class Pipeline(Schema):
    id: uuid.UUID
    name: str
    version: str
    create_time: datetime
    uri: str | None
    executables: list[uuid.UUID]
    annotations: dict[str, str]
    revision: int
    created_by: CreatedBy = None
    updated_by: UpdatedBy = None


# ---------------------------------------------------------------- run


class RunCreate(WriteSchema):
    id: uuid.UUID | None = None
    experiment: uuid.UUID
    name: Name
    version: Version = "1"
    create_time: Timestamp | None = None
    uri: Uri | None = None
    status: Status = Status.RUNNING
    end_time: Timestamp | None = None
    configuration: Configuration = Field(default_factory=dict)
    pipeline: uuid.UUID | None = None
    event: uuid.UUID | None = None
    annotations: StringMap = Field(default_factory=dict)


class RunUpdate(UpdateSchema):
    name: Name | None = None
    version: Version | None = None
    uri: Uri | None = None
    status: Status | None = None
    end_time: Timestamp | None = None
    configuration: Configuration | None = None
    pipeline: uuid.UUID | None = None
    event: uuid.UUID | None = None
    annotations: StringMap | None = None


class Run(Schema):
    id: uuid.UUID
    experiment: uuid.UUID
    name: str
    version: str
    create_time: datetime
    uri: str | None
    status: Status
    end_time: datetime | None
    configuration: dict[str, Any]
    pipeline: uuid.UUID | None
    event: uuid.UUID | None
    annotations: dict[str, str]
    revision: int
    created_by: CreatedBy = None
    updated_by: UpdatedBy = None


# ---------------------------------------------------------------- execution


class ExecutionCreate(WriteSchema):
    id: uuid.UUID | None = None
    run: uuid.UUID
    executable: uuid.UUID
    name: Name
    version: Version = "1"
    kind: ShortText
    uri: Uri | None = None
    status: Status = Status.RUNNING
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    input_artifacts: IdList = Field(default_factory=list)
    output_artifacts: IdList = Field(default_factory=list)
    successors: IdList = Field(default_factory=list)
    configuration: Configuration = Field(default_factory=dict)
    annotations: StringMap = Field(default_factory=dict)
    reused_from: uuid.UUID | None = None


class ExecutionUpdate(UpdateSchema):
    name: Name | None = None
    version: Version | None = None
    kind: ShortText | None = None
    uri: Uri | None = None
    status: Status | None = None
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    input_artifacts: IdList | None = None
    output_artifacts: IdList | None = None
    successors: IdList | None = None
    configuration: Configuration | None = None
    annotations: StringMap | None = None
    reused_from: uuid.UUID | None = None


class Execution(Schema):
    id: uuid.UUID
    run: uuid.UUID
    executable: uuid.UUID
    name: str
    version: str
    kind: str
    uri: str | None
    status: Status
    create_time: datetime
    start_time: datetime | None
    end_time: datetime | None
    input_artifacts: list[uuid.UUID]
    output_artifacts: list[uuid.UUID]
    successors: list[uuid.UUID]
    configuration: dict[str, Any]
    annotations: dict[str, str]
    fingerprint: str
    reused_from: uuid.UUID | None
    revision: int
    created_by: CreatedBy = None
    updated_by: UpdatedBy = None


# ---------------------------------------------------------------- artifact


class ArtifactCreate(WriteSchema):
    id: uuid.UUID | None = None
    name: Name
    version: Version = "1"
    kind: Annotated[
        str, Field(min_length=1, max_length=limits.MAX_NAME, pattern=r"^[A-Za-z][\w.-]*$")
    ]
    create_time: Timestamp | None = None
    description: Text | None = None
    uri: Uri | None = None
    annotations: StringMap = Field(default_factory=dict)
    # The kind's own attributes, validated against the kind's JSON Schema.
    attributes: Document = Field(default_factory=dict)


class ArtifactUpdate(UpdateSchema):
    name: Name | None = None
    version: Version | None = None
    description: Text | None = None
    uri: Uri | None = None
    annotations: StringMap | None = None
    attributes: Document | None = None


class Artifact(Schema):
    id: uuid.UUID
    name: str
    version: str
    kind: str
    kind_version: int
    create_time: datetime
    description: str | None
    uri: str | None
    annotations: dict[str, str]
    attributes: dict[str, Any]
    fingerprint: str
    revision: int
    created_by: CreatedBy = None
    updated_by: UpdatedBy = None


# ---------------------------------------------------------------- kind


class KindCreate(WriteSchema):
    name: Annotated[
        str, Field(min_length=1, max_length=limits.MAX_NAME, pattern=r"^[A-Za-z][\w.-]*$")
    ]
    description: Text = ""
    # JSON Schema (draft 2020-12) for the kind's attributes.
    schema_: Document = Field(default_factory=lambda: {"type": "object"}, alias="schema")


class Kind(Schema):
    name: str
    version: int
    description: str
    schema_: dict[str, Any] = Field(alias="schema")
    open: bool
    create_time: datetime
    created_by: CreatedBy = None
    updated_by: UpdatedBy = None


# ---------------------------------------------------------------- pages


class Page(Schema, Generic[T]):
    """One page of a list. ``nextCursor`` is set whenever more items matched."""

    items: list[T]
    next_cursor: str | None = None
    total: int | None = None
    names: dict[str, str] = Field(
        default_factory=dict,
        description="the names of the entities the items refer to, by id: a run's "
        "experiment and pipeline, an execution's run and executable (those the request "
        "may read)",
    )
