"""The thesis's API under ``/v1/metadata`` (Appendix A, section 7.2.1), path for path.

The thesis's own generated client (``mmp-metadata`` 1.1.3 on PyPI) works against it unchanged.
The routes only parse and answer; ``translator`` (beside them) translates the thesis's
documents and runs each request in one transaction.

(No ``from __future__ import annotations`` here: FastAPI reads the endpoint signatures.)
"""

from typing import Annotated, Any

from fastapi import APIRouter, Body, status
from pydantic import BaseModel

from modeltrail.integrations.thesis_v1 import schemas as docs
from modeltrail.integrations.thesis_v1 import translator as compat
from modeltrail.server.deps import MetadataDep

PREFIX = "/v1/metadata"

router = APIRouter(prefix=PREFIX, tags=["Thesis API (v1/metadata)"])

Document = Annotated[dict[str, Any], Body(description="the thesis's JSON document (Appendix A)")]
Documents = list[dict[str, Any]]


def _op(name: str) -> str:
    # The thesis's operation ids, prefixed so that they never collide with /api/v1's.
    return "thesis" + name[0].upper() + name[1:]


def _documented(
    answer: Any, *, body: type[BaseModel] | None = None, created: bool = False
) -> dict[str, Any]:
    """Route options that document the thesis's schemas. The documents are neither parsed nor
    re-serialized through them: the translation answers them as they are."""
    code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    options: dict[str, Any] = {"response_model": None, "responses": {code: {"model": answer}}}
    if body is not None:
        options["openapi_extra"] = docs.body(body)
    return options


# Literal path segments are registered before the parameters they would otherwise match
# (/experiments/runs/... before /experiments/{experiment}/...).

# ---------------------------------------------------------------- artifacts


@router.get(
    "/experiments/runs/executions/artifacts/{artifact}",
    operation_id=_op("getArtifactsById"),
    **_documented(docs.ThesisArtifact),
    summary="Read an artifact (kind attributes at top level)",
)
def get_artifact(artifact: str, meta: MetadataDep) -> dict[str, Any]:
    return meta.query_visible(compat.get_artifact, artifact)


@router.post(
    "/experiments/runs/executions/{execution}/artifacts",
    status_code=status.HTTP_201_CREATED,
    operation_id=_op("addArtifact"),
    **_documented(docs.ThesisArtifact, body=docs.ThesisArtifact, created=True),
    summary="Add an output artifact to an execution",
)
def add_artifact(execution: str, body: Document, meta: MetadataDep) -> dict[str, Any]:
    return meta.write(compat.add_output_artifact, execution, body)


@router.get(
    "/experiments/runs/executions/{execution}/artifacts",
    operation_id=_op("getArtifactsByExecution"),
    **_documented(list[docs.ThesisArtifact]),
    summary="The artifacts an execution wrote",
)
def get_artifacts_by_execution(execution: str, meta: MetadataDep) -> Documents:
    return meta.query_visible(compat.execution_artifacts, execution)


# ---------------------------------------------------------------- executions


@router.get(
    "/experiments/runs/executions/{execution}",
    operation_id=_op("getExecutionById"),
    **_documented(docs.ThesisExecution),
    summary="Read an execution with its executable and artifacts",
)
def get_execution(execution: str, meta: MetadataDep) -> dict[str, Any]:
    return meta.query_visible(compat.get_execution, execution)


@router.put(
    "/experiments/runs/executions/{executionId}",
    operation_id=_op("updateExecutionById"),
    **_documented(docs.ThesisExecution, body=docs.ThesisExecution),
    summary="Change an execution (the fields sent replace the stored ones)",
)
def update_execution(executionId: str, body: Document, meta: MetadataDep) -> dict[str, Any]:  # noqa: N803
    return meta.write(compat.update_execution, executionId, body)


@router.get(
    "/experiments/runs/{run}/artifacts",
    operation_id=_op("getArtifactsByRun"),
    **_documented(list[docs.ThesisArtifact]),
    summary="The artifacts a run read and wrote, and its trigger event",
)
def get_artifacts_by_run(run: str, meta: MetadataDep) -> Documents:
    return meta.query_visible(compat.run_artifacts, run)


@router.post(
    "/experiments/runs/{run}/executions",
    status_code=status.HTTP_201_CREATED,
    operation_id=_op("addExecution"),
    **_documented(docs.ThesisExecution, body=docs.ThesisExecution, created=True),
    summary="Add an execution to a run",
)
def add_execution(run: str, body: Document, meta: MetadataDep) -> dict[str, Any]:
    return meta.write(compat.add_execution, run, body)


@router.get(
    "/experiments/runs/{run}/executions",
    operation_id=_op("getExecutionsByRun"),
    **_documented(list[docs.ThesisExecution]),
    summary="A run's executions in the order they started",
)
def get_executions_by_run(run: str, meta: MetadataDep) -> Documents:
    return meta.query_visible(compat.list_executions, run)


# ---------------------------------------------------------------- runs


@router.get(
    "/experiments/runs/{run}",
    operation_id=_op("getRunById"),
    **_documented(docs.ThesisRun),
    summary="Read a run",
)
def get_run(run: str, meta: MetadataDep) -> dict[str, Any]:
    return meta.query_visible(compat.get_run, run)


@router.put(
    "/experiments/runs/{runId}",
    operation_id=_op("updateRunById"),
    **_documented(docs.ThesisRun, body=docs.ThesisRun),
    summary="Change a run (the fields sent replace the stored ones)",
)
def update_run(runId: str, body: Document, meta: MetadataDep) -> dict[str, Any]:  # noqa: N803
    return meta.write(compat.update_run, runId, body)


@router.get(
    "/experiments/run/{run}/workflow",
    operation_id=_op("getWorkflowByRun"),
    **_documented(docs.ThesisWorkflow),
    summary="A run's executions as a DAG rooted at its first execution",
)
def get_workflow(run: str, meta: MetadataDep) -> dict[str, Any]:
    return meta.query_visible(compat.workflow, run)


# ---------------------------------------------------------------- experiments


@router.post(
    "/experiments",
    status_code=status.HTTP_201_CREATED,
    operation_id=_op("addExperiment"),
    **_documented(docs.ThesisExperiment, body=docs.ThesisExperiment, created=True),
    summary="Create an experiment",
)
def add_experiment(body: Document, meta: MetadataDep) -> dict[str, Any]:
    return meta.write(compat.add_experiment, body)


@router.get(
    "/experiments",
    operation_id=_op("getExperiments"),
    **_documented(list[docs.ThesisExperiment]),
    summary="Every experiment with its runs",
)
def get_experiments(meta: MetadataDep) -> Documents:
    return meta.query_visible(compat.list_experiments)


@router.get(
    "/experiments/{experiment}",
    operation_id=_op("getExperimentById"),
    **_documented(docs.ThesisExperiment),
    summary="Read an experiment",
)
def get_experiment(experiment: str, meta: MetadataDep) -> dict[str, Any]:
    return meta.query_visible(compat.get_experiment, experiment)


@router.put(
    "/experiments/{experimentId}",
    operation_id=_op("updateExperimentById"),
    **_documented(docs.ThesisExperiment, body=docs.ThesisExperiment),
    summary="Change an experiment (the fields sent replace the stored ones)",
)
def update_experiment(experimentId: str, body: Document, meta: MetadataDep) -> dict[str, Any]:  # noqa: N803
    return meta.write(compat.update_experiment, experimentId, body)


@router.post(
    "/experiments/{experiment}/runs",
    status_code=status.HTTP_201_CREATED,
    operation_id=_op("addRun"),
    **_documented(docs.ThesisRun, body=docs.ThesisRun, created=True),
    summary="Add a run to an experiment",
)
def add_run(experiment: str, body: Document, meta: MetadataDep) -> dict[str, Any]:
    return meta.write(compat.add_run, experiment, body)


@router.get(
    "/experiments/{experiment}/runs",
    operation_id=_op("getRunsByExperiment"),
    **_documented(list[docs.ThesisRun]),
    summary="An experiment's runs, oldest first",
)
def get_runs(experiment: str, meta: MetadataDep) -> Documents:
    return meta.query_visible(compat.list_runs, experiment)


@router.get(
    "/experiments/{experiment}/artifacts",
    operation_id=_op("getArtifactsByExperiment"),
    **_documented(list[docs.ThesisArtifact]),
    summary="The artifacts of an experiment's runs",
)
def get_artifacts_by_experiment(experiment: str, meta: MetadataDep) -> Documents:
    return meta.query_visible(compat.experiment_artifacts, experiment)


@router.get(
    "/experiments/{experiment}/trace",
    operation_id=_op("getTraceByExperiment"),
    **_documented(docs.ThesisTrace),
    summary="Every run of an experiment by execution type, equal artifacts merged",
)
def get_trace(experiment: str, meta: MetadataDep) -> dict[str, Any]:
    return meta.query_visible(compat.trace, experiment)
