"""Lineage questions: run DAG, upstream/downstream lineage, impact and flags, compare, the
lineage diff, reuse, history, recipes and traces."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Body, Path, Query, Response
from fastapi.responses import PlainTextResponse

from modeltrail.domain import limits
from modeltrail.domain.lineage import (
    CacheHit,
    CacheLookup,
    Comparison,
    Flag,
    FlagCreate,
    FlagList,
    History,
    Impact,
    LineageDiff,
    LineageGraph,
    Recipe,
    ReuseReport,
    RunDag,
    Trace,
)
from modeltrail.server.deps import MetadataDep
from modeltrail.services import graph
from modeltrail.services.metadata import Metadata

router = APIRouter(tags=["Lineage"])

Id = Annotated[uuid.UUID, Path(description="the entity's id")]
Depth = Annotated[
    int,
    Query(
        ge=1,
        le=limits.MAX_LINEAGE_DEPTH,
        description=f"at most this many steps (executions or references) from the start; "
        f"1..{limits.MAX_LINEAGE_DEPTH}. `truncated` says whether the limit cut anything off",
    ),
]
MergeEqual = Annotated[
    bool,
    Query(alias="mergeEqual", description="equal artifacts (same fingerprint) are one node"),
]
DirectionQuery = Annotated[Literal["upstream", "downstream"], Query()]
MaxNodes = Annotated[
    int,
    Query(
        alias="maxNodes",
        ge=1,
        le=limits.MAX_LINEAGE_NODES,
        description=f"at most this many nodes, the nearest to the start first; "
        f"1..{limits.MAX_LINEAGE_NODES}. `limited` says whether the budget left nodes out, "
        f"and a node's `more` how many of its neighbours further out",
    ),
]
Match = Annotated[
    str | None,
    Query(
        description=f"a search: the nodes whose name or kind holds this text (any case) come "
        f"first, each with the nodes on its way from the start, then the nearest others; "
        f"`matched` says how many there are. At most {limits.MAX_NAME} characters, no "
        f"control characters",
    ),
]
GRAPH: dict[str, Any] = {"response_model_exclude_none": True}


class Document(Response):
    """An answer a service built as its JSON document (``trace.trace_document``), written by
    orjson as it is: a fifth of the time pydantic takes to serialize the same ~10 MB, and
    no second validation of what the service made."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_UTC_Z)


def visible(meta: Metadata, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """The answer of ``fn``; for an experiment-scoped token, redacted (``services.access``)
    and sent as the document it became."""
    answer = meta.query_visible(fn, *args, **kwargs)
    return Document(answer) if isinstance(answer, dict) else answer


@router.get(
    "/runs/{run_id}/dag",
    response_model=RunDag,
    operation_id="getRunDag",
    summary="The DAG of a run",
    **GRAPH,
)
def run_dag(run_id: Id, meta: MetadataDep) -> Any:
    return visible(meta, graph.dag.run_dag, run_id)


@router.get(
    "/artifacts/{artifact_id}/lineage",
    response_model=LineageGraph,
    operation_id="getArtifactLineage",
    summary="Upstream or downstream lineage of an artifact",
    **GRAPH,
)
def artifact_lineage(
    artifact_id: Id,
    meta: MetadataDep,
    direction: DirectionQuery = "upstream",
    depth: Depth = graph.lineage.DEFAULT_DEPTH,
    merge_equal: MergeEqual = True,
    max_nodes: MaxNodes = graph.nearest.DEFAULT_MAX_NODES,
    match: Match = None,
) -> Any:
    return visible(
        meta,
        graph.lineage.artifact_lineage,
        artifact_id,
        direction=direction,
        depth=depth,
        merge_equal=merge_equal,
        max_nodes=max_nodes,
        match=match,
    )


@router.get(
    "/executions/{execution_id}/lineage",
    response_model=LineageGraph,
    operation_id="getExecutionLineage",
    summary="Upstream or downstream lineage of an execution",
    **GRAPH,
)
def execution_lineage(
    execution_id: Id,
    meta: MetadataDep,
    direction: DirectionQuery = "upstream",
    depth: Depth = graph.lineage.DEFAULT_DEPTH,
    merge_equal: MergeEqual = True,
    max_nodes: MaxNodes = graph.nearest.DEFAULT_MAX_NODES,
    match: Match = None,
) -> Any:
    return visible(
        meta,
        graph.lineage.execution_lineage,
        execution_id,
        direction=direction,
        depth=depth,
        merge_equal=merge_equal,
        max_nodes=max_nodes,
        match=match,
    )


@router.get(
    "/artifacts/{artifact_id}/impact",
    response_model=Impact,
    operation_id="getArtifactImpact",
    summary="Everything derived from an artifact, with the connecting paths",
    **GRAPH,
)
def impact(
    artifact_id: Id,
    meta: MetadataDep,
    depth: Depth = graph.lineage.DEFAULT_DEPTH,
    merge_equal: MergeEqual = True,
) -> Any:
    return visible(meta, graph.impact.impact, artifact_id, depth=depth, merge_equal=merge_equal)


@router.put(
    "/artifacts/{artifact_id}/flag",
    response_model=Flag,
    operation_id="flagArtifact",
    summary="Mark an artifact as bad; everything downstream is affected",
    status_code=201,
    responses={200: {"description": "the artifact was flagged already; the reason is updated"}},
    **GRAPH,
)
def flag(
    artifact_id: Id, body: Annotated[FlagCreate, Body()], meta: MetadataDep, response: Response
) -> Any:
    result, created = meta.call(graph.impact.flag_artifact, artifact_id, body.reason)
    response.status_code = 201 if created else 200
    return result


@router.delete(
    "/artifacts/{artifact_id}/flag",
    status_code=204,
    operation_id="unflagArtifact",
    summary="Clear an artifact's flag",
)
def unflag(artifact_id: Id, meta: MetadataDep) -> Response:
    meta.call(graph.impact.unflag_artifact, artifact_id)
    return Response(status_code=204)


@router.get(
    "/flags",
    response_model=FlagList,
    operation_id="listFlags",
    summary="Flagged artifacts with the artifacts they affect",
    **GRAPH,
)
def flags(meta: MetadataDep) -> Any:
    return visible(meta, graph.impact.list_flags)


@router.get(
    "/compare",
    response_model=Comparison,
    operation_id="compareArtifacts",
    summary="Two artifacts of one kind, field by field",
    **GRAPH,
)
def compare_artifacts(
    a: Annotated[uuid.UUID, Query()], b: Annotated[uuid.UUID, Query()], meta: MetadataDep
) -> Any:
    return visible(meta, graph.compare.compare, a, b)


@router.get(
    "/artifacts/{artifact_id}/diff",
    response_model=LineageDiff,
    operation_id="diffArtifactLineage",
    summary="What differs in the lineage of two artifacts, root cause first",
    **GRAPH,
)
def lineage_diff(
    artifact_id: Id,
    meta: MetadataDep,
    against: Annotated[
        uuid.UUID | None,
        Query(description="default: the previous artifact with the same name and kind"),
    ] = None,
    depth: Depth = graph.lineage.DEFAULT_DEPTH,
) -> Any:
    return visible(meta, graph.diff.lineage_diff, artifact_id, against, depth=depth)


@router.post(
    "/cache/lookup",
    response_model=CacheHit,
    operation_id="lookupCache",
    summary="The latest successful execution that did this work, with its outputs",
    **GRAPH,
)
def cache_lookup(body: Annotated[CacheLookup, Body()], meta: MetadataDep) -> Any:
    return meta.query(graph.reuse.lookup, body)


@router.get(
    "/executions/{execution_id}/cache",
    response_model=CacheHit,
    operation_id="lookupExecutionCache",
    summary="Another successful execution that did the same work",
    **GRAPH,
)
def execution_cache(execution_id: Id, meta: MetadataDep) -> Any:
    return visible(meta, graph.reuse.lookup_execution, execution_id)


@router.get(
    "/reports/reuse",
    response_model=ReuseReport,
    operation_id="getReuseReport",
    summary="Per executable: repeated work and outputs that could have been reused",
    **GRAPH,
)
def reuse_report(meta: MetadataDep) -> Any:
    return meta.query(graph.reuse.reuse_report)


SinceLastDeploy = Annotated[
    bool,
    Query(
        alias="sinceLastDeploy", description="only the runs after the last successful deployment"
    ),
]


@router.get(
    "/experiments/{experiment_id}/history",
    response_model=History,
    operation_id="getExperimentHistory",
    summary="Runs with their triggers and outcomes",
    **GRAPH,
)
def experiment_history(
    experiment_id: Id, meta: MetadataDep, since_last_deploy: SinceLastDeploy = False
) -> Any:
    return visible(
        meta, graph.history.experiment_history, experiment_id, since_last_deploy=since_last_deploy
    )


@router.get(
    "/pipelines/{pipeline_id}/history",
    response_model=History,
    operation_id="getPipelineHistory",
    summary="Runs of a pipeline with their triggers and outcomes",
    **GRAPH,
)
def pipeline_history(
    pipeline_id: Id, meta: MetadataDep, since_last_deploy: SinceLastDeploy = False
) -> Any:
    return visible(
        meta, graph.history.pipeline_history, pipeline_id, since_last_deploy=since_last_deploy
    )


@router.get(
    "/artifacts/{artifact_id}/recipe",
    response_model=Recipe,
    operation_id="getArtifactRecipe",
    summary="How to rebuild an artifact, and what is missing",
    responses={200: {"content": {"text/x-shellscript": {}}}},
    **GRAPH,
)
def recipe(
    artifact_id: Id,
    meta: MetadataDep,
    format: Literal["json", "sh"] = "json",
    depth: Depth = graph.lineage.DEFAULT_DEPTH,
) -> Any:
    plan = meta.query(graph.recipe.recipe, artifact_id, depth=depth)
    if format == "sh":
        return PlainTextResponse(graph.recipe.render_shell(plan), media_type="text/x-shellscript")
    return plan


@router.get(
    "/experiments/{experiment_id}/trace",
    response_model=Trace,
    operation_id="getExperimentTrace",
    summary="Every run of an experiment with its executions and artifacts, equal ones merged",
    **GRAPH,
)
def experiment_trace(
    experiment_id: Id,
    meta: MetadataDep,
    limit: Annotated[
        int, Query(ge=1, le=limits.MAX_LIST, description="the newest this many runs")
    ] = graph.trace.DEFAULT_RUNS,
    before: Annotated[
        uuid.UUID | None,
        Query(
            description="only runs created before this run of the experiment: the next older "
            "page is the one before the first run of this one"
        ),
    ] = None,
    edges: Annotated[
        bool,
        Query(
            description="also send the derived edges, input to output of each execution "
            "(they follow from the executions' inputs and outputs)"
        ),
    ] = False,
) -> Any:
    return Document(
        meta.query_visible(
            graph.trace.trace_document, experiment_id, limit=limit, before=before, edges=edges
        )
    )
