"""The list of runs, which is also the runs grid: chosen columns, duration, ``columns=auto``.

(No ``from __future__ import annotations`` here: FastAPI reads the parameter types.)
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from modeltrail.domain import limits
from modeltrail.domain.grid import RunComparison, RunGrid, RunKeys
from modeltrail.domain.query import parse_columns, split_auto
from modeltrail.server.deps import ListOptionsDep, MetadataDep
from modeltrail.services.tracking.compare import MAX_POINTS, compare_runs
from modeltrail.services.tracking.grid import list_runs_grid, run_keys

router = APIRouter(tags=["Runs"])


def _listed(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@router.get(
    "/compare/runs",
    response_model=RunComparison,
    operation_id="compareRuns",
    summary="Many runs side by side",
    description="Up to 100 runs (ids or names; a name means every run of that name): the "
    "parameters and tags that differ and those that are equal, each metric's latest, least "
    "and greatest value per run, the artifacts each read and wrote with the ones whose "
    "content differs marked, and the series of the metrics named in `metrics`, downsampled "
    "to at most `points` points (with `bands=false`, without each point's bucket's least and "
    "greatest value). Lists follow the order of `runs`.",
)
async def compare(
    meta: MetadataDep,
    ids: Annotated[str, Query(description="comma-separated run ids or names", max_length=40_000)],
    metrics: Annotated[
        str | None,
        Query(
            description="comma-separated metric keys whose series to answer (each a key as "
            "a series has it: letters, digits, spaces and _ . - /; at most 250 characters)",
            max_length=4096,
        ),
    ] = None,
    points: Annotated[
        int, Query(ge=1, le=MAX_POINTS, description="at most this many points per series")
    ] = 200,
    bands: Annotated[
        bool,
        Query(
            description="with each downsampled point, the least and greatest value of the "
            "steps it stands for (`min`, `max`), to draw a band; false leaves them out, which "
            "halves the series a chart of lines reads"
        ),
    ] = True,
) -> Any:
    from modeltrail.server.routers.lineage import visible

    return await run_in_threadpool(
        visible,
        meta,
        compare_runs,
        _listed(ids),
        metrics=_listed(metrics) or None,
        points=points,
        bands=bands,
    )


def add_runs_grid(router: APIRouter) -> None:
    @router.get(
        "/keys",
        response_model=RunKeys,
        operation_id="listRunKeys",
        summary="The parameter, tag and metric keys of a list of runs",
        description="Every `configuration.KEY`, `annotations.KEY` and `metrics.KEY` of the "
        "newest 2,000 runs that match (of `experiment`, the filters and `q`), written as "
        "columns, sorts and filters take them: what a grid offers as columns and completes "
        "in a search.",
    )
    async def list_keys(
        meta: MetadataDep,
        options: ListOptionsDep,
        experiment: Annotated[
            str | None,
            Query(description="only the runs of this experiment (id or name)", max_length=256),
        ] = None,
    ) -> Any:
        return await run_in_threadpool(meta.query, run_keys, options, experiment=experiment)

    @router.get(
        "",
        response_model=RunGrid,
        operation_id="listRuns",
        summary="List runs, filtered, sorted and paged, with chosen columns",
        description="Each run comes with its `duration` (seconds) and the `columns` asked "
        "for: `configuration.KEY` (parameters), `annotations.KEY` (tags), `metrics.KEY` (the "
        "latest value), `metrics.KEY.min`, `metrics.KEY.max`, or any field of the run. "
        "`columns=auto` picks the parameters that vary between the runs and their metrics. "
        "Sort and filter on any column, the duration too: `sort=-metrics.accuracy`, "
        "`sort=duration`, "
        "`filter=metrics.accuracy:gt:0.9`, `q=metrics.loss.min < 0.2`.",
    )
    async def list_runs(
        meta: MetadataDep,
        options: ListOptionsDep,
        experiment: Annotated[
            str | None,
            Query(description="only the runs of this experiment (id or name)", max_length=256),
        ] = None,
        columns: Annotated[
            str | None,
            Query(
                description="comma-separated columns; auto (in any case) among them stands for "
                "the columns chosen for you, the others follow them: "
                "configuration.learning-rate,annotations.team,metrics.accuracy,metrics.loss.min "
                "or auto,annotations.team",
                max_length=limits.MAX_QUERY_TEXT,
            ),
        ] = None,
    ) -> Any:
        fields, auto = split_auto(parse_columns(columns) or [])
        return await run_in_threadpool(
            meta.query,
            list_runs_grid,
            options,
            experiment=experiment,
            columns=fields,
            auto=auto,
        )
