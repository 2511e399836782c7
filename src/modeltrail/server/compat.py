"""The thesis's API under ``/v1/metadata`` (Appendix A, section 7.2.1), path for path.

The thesis's own generated client (``mmp-metadata`` 1.1.3 on PyPI) works against it unchanged.
The routes only parse and answer; ``modeltrail.services.compat`` translates the thesis's
documents and runs each request in one transaction.

(No ``from __future__ import annotations`` here: FastAPI reads the endpoint signatures.)
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, status

from modeltrail.server.deps import MetadataDep
from modeltrail.services import compat
from modeltrail.services.metadata import Metadata

PREFIX = "/v1/metadata"

router = APIRouter(prefix=PREFIX, tags=["Thesis API (v1/metadata)"])

Document = Annotated[dict[str, Any], Body(description="the thesis's JSON document (Appendix A)")]
Documents = list[dict[str, Any]]


def _write(meta: Metadata, fn: Callable[..., Any], *args: Any) -> Any:
    return meta.call(fn, *args, strict_kinds=meta.strict_kinds)


def _op(name: str) -> str:
    # The thesis's operation ids, prefixed so that they never collide with /api/v1's.
    return "thesis" + name[0].upper() + name[1:]


# Literal path segments are registered before the parameters they would otherwise match
# (/experiments/runs/... before /experiments/{experiment}/...).

# ---------------------------------------------------------------- artifacts


@router.get(
    "/experiments/runs/executions/artifacts/{artifact}",
    operation_id=_op("getArtifactsById"),
    summary="Read an artifact (kind attributes at top level)",
)
def get_artifact(artifact: str, meta: MetadataDep) -> dict[str, Any]:
    return meta.call(compat.get_artifact, artifact)


@router.post(
    "/experiments/runs/executions/{execution}/artifacts",
    status_code=status.HTTP_201_CREATED,
    operation_id=_op("addArtifact"),
    summary="Add an output artifact to an execution",
)
def add_artifact(execution: str, body: Document, meta: MetadataDep) -> dict[str, Any]:
    return _write(meta, compat.add_output_artifact, execution, body)


@router.get(
    "/experiments/runs/executions/{execution}/artifacts",
    operation_id=_op("getArtifactsByExecution"),
    summary="The artifacts an execution wrote",
)
def get_artifacts_by_execution(execution: str, meta: MetadataDep) -> Documents:
    return meta.call(compat.execution_artifacts, execution)


# ---------------------------------------------------------------- executions


@router.get(
    "/experiments/runs/executions/{execution}",
    operation_id=_op("getExecutionById"),
    summary="Read an execution with its executable and artifacts",
)
def get_execution(execution: str, meta: MetadataDep) -> dict[str, Any]:
    return meta.call(compat.get_execution, execution)


@router.put(
    "/experiments/runs/executions/{executionId}",
    operation_id=_op("updateExecutionById"),
    summary="Change an execution (the fields sent replace the stored ones)",
)
def update_execution(executionId: str, body: Document, meta: MetadataDep) -> dict[str, Any]:  # noqa: N803
    return _write(meta, compat.update_execution, executionId, body)


@router.get(
    "/experiments/runs/{run}/artifacts",
    operation_id=_op("getArtifactsByRun"),
    summary="The artifacts a run read and wrote, and its trigger event",
)
def get_artifacts_by_run(run: str, meta: MetadataDep) -> Documents:
    return meta.call(compat.run_artifacts, run)


@router.post(
    "/experiments/runs/{run}/executions",
    status_code=status.HTTP_201_CREATED,
    operation_id=_op("addExecution"),
    summary="Add an execution to a run",
)
def add_execution(run: str, body: Document, meta: MetadataDep) -> dict[str, Any]:
    return _write(meta, compat.add_execution, run, body)


@router.get(
    "/experiments/runs/{run}/executions",
    operation_id=_op("getExecutionsByRun"),
    summary="A run's executions in the order they started",
)
def get_executions_by_run(run: str, meta: MetadataDep) -> Documents:
    return meta.call(compat.list_executions, run)


# ---------------------------------------------------------------- runs


@router.get("/experiments/runs/{run}", operation_id=_op("getRunById"), summary="Read a run")
def get_run(run: str, meta: MetadataDep) -> dict[str, Any]:
    return meta.call(compat.get_run, run)


@router.put(
    "/experiments/runs/{runId}",
    operation_id=_op("updateRunById"),
    summary="Change a run (the fields sent replace the stored ones)",
)
def update_run(runId: str, body: Document, meta: MetadataDep) -> dict[str, Any]:  # noqa: N803
    return _write(meta, compat.update_run, runId, body)


@router.get(
    "/experiments/run/{run}/workflow",
    operation_id=_op("getWorkflowByRun"),
    summary="A run's executions as a DAG rooted at its first execution (FR3)",
)
def get_workflow(run: str, meta: MetadataDep) -> dict[str, Any]:
    return meta.call(compat.workflow, run)


# ---------------------------------------------------------------- experiments


@router.post(
    "/experiments",
    status_code=status.HTTP_201_CREATED,
    operation_id=_op("addExperiment"),
    summary="Create an experiment",
)
def add_experiment(body: Document, meta: MetadataDep) -> dict[str, Any]:
    return _write(meta, compat.add_experiment, body)


@router.get(
    "/experiments", operation_id=_op("getExperiments"), summary="Every experiment with its runs"
)
def get_experiments(meta: MetadataDep) -> Documents:
    return meta.call(compat.list_experiments)


@router.get(
    "/experiments/{experiment}", operation_id=_op("getExperimentById"), summary="Read an experiment"
)
def get_experiment(experiment: str, meta: MetadataDep) -> dict[str, Any]:
    return meta.call(compat.get_experiment, experiment)


@router.put(
    "/experiments/{experimentId}",
    operation_id=_op("updateExperimentById"),
    summary="Change an experiment (the fields sent replace the stored ones)",
)
def update_experiment(experimentId: str, body: Document, meta: MetadataDep) -> dict[str, Any]:  # noqa: N803
    return _write(meta, compat.update_experiment, experimentId, body)


@router.post(
    "/experiments/{experiment}/runs",
    status_code=status.HTTP_201_CREATED,
    operation_id=_op("addRun"),
    summary="Add a run to an experiment",
)
def add_run(experiment: str, body: Document, meta: MetadataDep) -> dict[str, Any]:
    return _write(meta, compat.add_run, experiment, body)


@router.get(
    "/experiments/{experiment}/runs",
    operation_id=_op("getRunsByExperiment"),
    summary="An experiment's runs, oldest first",
)
def get_runs(experiment: str, meta: MetadataDep) -> Documents:
    return meta.call(compat.list_runs, experiment)


@router.get(
    "/experiments/{experiment}/artifacts",
    operation_id=_op("getArtifactsByExperiment"),
    summary="The artifacts of an experiment's runs",
)
def get_artifacts_by_experiment(experiment: str, meta: MetadataDep) -> Documents:
    return meta.call(compat.experiment_artifacts, experiment)


@router.get(
    "/experiments/{experiment}/trace",
    operation_id=_op("getTraceByExperiment"),
    summary="Every run of an experiment by execution type, equal artifacts merged (FR10)",
)
def get_trace(experiment: str, meta: MetadataDep) -> dict[str, Any]:
    return meta.call(compat.trace, experiment)
