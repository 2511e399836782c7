"""The metadata schema of thesis Tables 6.2-6.11 as typed models.

Three models per entity, named by purpose: ``XCreate`` is what a client sends to make one,
``XUpdate`` what it sends to change one (every field optional), ``X`` what it reads back.
JSON names are camelCase on the wire, as in the thesis's Appendix A.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from modeltrail.domain import limits

T = TypeVar("T")


class Status(StrEnum):
    """The three status values of the thesis (runs and executions)."""

    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


def _check_annotations(value: dict[str, str] | None) -> dict[str, str] | None:
    if value is not None and len(value) > limits.MAX_ANNOTATIONS:
        raise ValueError(f"at most {limits.MAX_ANNOTATIONS} annotations are allowed")
    return value


Name = Annotated[str, Field(min_length=1, max_length=limits.MAX_NAME)]
Version = Annotated[str, Field(min_length=1, max_length=limits.MAX_NAME)]
Uri = Annotated[str, Field(max_length=limits.MAX_URI)]
Text = Annotated[str, Field(max_length=limits.MAX_TEXT)]
ShortText = Annotated[str, Field(max_length=limits.MAX_NAME)]
StringMap = Annotated[
    dict[Annotated[str, Field(max_length=limits.MAX_NAME)], Annotated[str, Field(max_length=limits.MAX_TEXT)]],
    AfterValidator(_check_annotations),
]
# Configuration values are kept as the client sent them (thesis: Map<String, String>, but
# pipelines often pass numbers and flags); only their size is bounded.
Configuration = Annotated[dict[Annotated[str, Field(max_length=limits.MAX_NAME)], Any], AfterValidator(_check_annotations)]
IdList = Annotated[list[uuid.UUID], Field(max_length=limits.MAX_LIST)]


class Schema(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class WriteSchema(Schema):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=False
    )


# ---------------------------------------------------------------- experiment


class ExperimentCreate(WriteSchema):
    id: uuid.UUID | None = None
    name: Name
    version: Version = "1"
    create_time: datetime | None = None
    annotations: StringMap = Field(default_factory=dict)


class ExperimentUpdate(WriteSchema):
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


# ---------------------------------------------------------------- executable


class ExecutableCreate(WriteSchema):
    id: uuid.UUID | None = None
    name: Name
    version: Version = "1"
    create_time: datetime | None = None
    uri: Uri | None = None
    description: Text | None = None
    annotations: StringMap = Field(default_factory=dict)


class ExecutableUpdate(WriteSchema):
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


# ---------------------------------------------------------------- pipeline


class PipelineCreate(WriteSchema):
    id: uuid.UUID | None = None
    name: Name
    version: Version = "1"
    create_time: datetime | None = None
    uri: Uri | None = None
    executables: IdList = Field(default_factory=list)
    annotations: StringMap = Field(default_factory=dict)


class PipelineUpdate(WriteSchema):
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


# ---------------------------------------------------------------- run


class RunCreate(WriteSchema):
    id: uuid.UUID | None = None
    experiment: uuid.UUID
    name: Name
    version: Version = "1"
    create_time: datetime | None = None
    uri: Uri | None = None
    status: Status = Status.RUNNING
    end_time: datetime | None = None
    configuration: Configuration = Field(default_factory=dict)
    pipeline: uuid.UUID | None = None
    event: uuid.UUID | None = None
    annotations: StringMap = Field(default_factory=dict)


class RunUpdate(WriteSchema):
    name: Name | None = None
    version: Version | None = None
    uri: Uri | None = None
    status: Status | None = None
    end_time: datetime | None = None
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
    start_time: datetime | None = None
    end_time: datetime | None = None
    input_artifacts: IdList = Field(default_factory=list)
    output_artifacts: IdList = Field(default_factory=list)
    successors: IdList = Field(default_factory=list)
    configuration: Configuration = Field(default_factory=dict)
    annotations: StringMap = Field(default_factory=dict)
    reused_from: uuid.UUID | None = None


class ExecutionUpdate(WriteSchema):
    name: Name | None = None
    version: Version | None = None
    kind: ShortText | None = None
    uri: Uri | None = None
    status: Status | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
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


# ---------------------------------------------------------------- artifact


class ArtifactCreate(WriteSchema):
    id: uuid.UUID | None = None
    name: Name
    version: Version = "1"
    kind: Annotated[str, Field(min_length=1, max_length=limits.MAX_NAME, pattern=r"^[A-Za-z][\w.-]*$")]
    create_time: datetime | None = None
    description: Text | None = None
    uri: Uri | None = None
    annotations: StringMap = Field(default_factory=dict)
    # The kind's own attributes, validated against the kind's JSON Schema.
    attributes: dict[str, Any] = Field(default_factory=dict)


class ArtifactUpdate(WriteSchema):
    name: Name | None = None
    version: Version | None = None
    description: Text | None = None
    uri: Uri | None = None
    annotations: StringMap | None = None
    attributes: dict[str, Any] | None = None


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


# ---------------------------------------------------------------- kind


class KindCreate(WriteSchema):
    name: Annotated[str, Field(min_length=1, max_length=limits.MAX_NAME, pattern=r"^[A-Za-z][\w.-]*$")]
    description: Text = ""
    # JSON Schema (draft 2020-12) for the kind's attributes.
    schema_: dict[str, Any] = Field(default_factory=lambda: {"type": "object"}, alias="schema")


class Kind(Schema):
    name: str
    version: int
    description: str
    schema_: dict[str, Any] = Field(alias="schema")
    open: bool
    create_time: datetime


# ---------------------------------------------------------------- pages


class Page(Schema, Generic[T]):
    """One page of a list. ``nextCursor`` is set whenever more items matched."""

    items: list[T]
    next_cursor: str | None = None
    total: int | None = None
