"""The thesis's schemas (Appendix A) for the OpenAPI document of ``/v1/metadata``.

They describe the documents; they do not parse them. Parsing is generic and lives with the
rest of the translation in ``translator`` (beside it), which reports every failing field
with a pointer; its times are the domain's ``Timestamp`` (years 1 to 9999 in UTC),
as here. Every schema allows more fields: an artifact's kind attributes sit at its top
level, and the thesis's server ignored fields it did not know.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from modeltrail.domain.models import Timestamp

Status = Literal["RUNNING", "SUCCESS", "FAILED"]


class _Document(BaseModel):
    model_config = ConfigDict(extra="allow")


class ThesisArtifact(_Document):
    """An artifact; the attributes of its kind (``type``, ``framework``, ``hyperParameters``,
    ``reference``, ``value``, ``cause``, ...) are further fields at top level."""

    id: str | None = None
    name: str
    version: str
    kind: str = Field("artifact", description="dataset, model, metrics, event or a registered kind")
    description: str | None = None
    createTime: Timestamp | None = None
    uri: str | None = None
    annotations: dict[str, str] | None = None


class ThesisExecutable(_Document):
    id: str | None = None
    name: str
    version: str
    description: str | None = None
    createTime: Timestamp | None = None
    uri: str | None = None
    annotations: dict[str, str] | None = None


class ThesisPipeline(_Document):
    id: str | None = None
    name: str
    version: str
    createTime: Timestamp | None = None
    executables: list[ThesisExecutable] | None = None
    uri: str | None = None
    annotations: dict[str, str] | None = None


class ThesisExecution(_Document):
    """An execution; answered ``successors`` carry only id, name, version, kind and status."""

    id: str | None = None
    name: str
    version: str
    kind: str
    executable: ThesisExecutable | None = None
    startTime: Timestamp | None = None
    endTime: Timestamp | None = None
    status: Status | None = None
    uri: str | None = None
    inputArtifacts: list[ThesisArtifact] | None = None
    outputArtifacts: list[ThesisArtifact] | None = None
    configuration: dict[str, Any] | None = None
    successors: list[ThesisExecution] | None = None
    annotations: dict[str, str] | None = None


class ThesisRun(_Document):
    id: str | None = None
    name: str
    version: str
    createTime: Timestamp | None = None
    status: Status | None = None
    uri: str | None = None
    executions: list[ThesisExecution] | None = Field(
        None,
        description="read only: executions are added through POST /experiments/runs/{run}/"
        "executions; an update may send back only executions of this run, named by id",
    )
    event: ThesisArtifact | None = None
    pipeline: ThesisPipeline | None = None
    configuration: dict[str, Any] | None = None
    annotations: dict[str, str] | None = None


class ThesisExperiment(_Document):
    id: str | None = None
    name: str
    version: str
    createTime: Timestamp | None = None
    runs: list[ThesisRun] | None = Field(
        None,
        description="read only: runs are added through POST /experiments/{experiment}/runs; "
        "an update may send back only runs of this experiment, named by id",
    )
    annotations: dict[str, str] | None = None


class ThesisTraceArtifact(BaseModel):
    artifactId: str
    name: str
    runIds: list[str]


class ThesisTraceExecutionType(BaseModel):
    executionId: str
    name: str
    order: float
    artifacts: list[ThesisTraceArtifact]


class ThesisTrace(BaseModel):
    id: str
    experimentId: str
    executionTypes: list[ThesisTraceExecutionType]


class ThesisWorkflowNode(BaseModel):
    nodeId: str
    children: list[ThesisWorkflowNode]


class ThesisWorkflow(BaseModel):
    id: str
    runId: str
    root: ThesisWorkflowNode | None


def body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` that documents a request body as ``model`` (registered as a response
    model elsewhere, so the reference resolves)."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}
