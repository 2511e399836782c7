"""The list of runs, which is also the runs grid: chosen columns, duration, ``columns=auto``.

(No ``from __future__ import annotations`` here: FastAPI reads the parameter types.)
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from modeltrail.domain import limits
from modeltrail.domain.grid import RunGrid
from modeltrail.domain.query import parse_columns
from modeltrail.server.deps import ListOptionsDep, MetadataDep
from modeltrail.services.tracking.grid import list_runs_grid


def add_runs_grid(router: APIRouter) -> None:
    @router.get(
        "",
        response_model=RunGrid,
        operation_id="listRuns",
        summary="List runs, filtered, sorted and paged, with chosen columns",
        description="Each run comes with its `duration` (seconds) and the `columns` asked "
        "for: `configuration.KEY` (parameters), `annotations.KEY` (tags), `metrics.KEY` (the "
        "latest value), `metrics.KEY.min`, `metrics.KEY.max`, or any field of the run. "
        "`columns=auto` picks the parameters that vary between the runs and their metrics. "
        "Sort and filter on any column: `sort=-metrics.accuracy`, "
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
                description="comma-separated columns, or auto: "
                "configuration.learning-rate,annotations.team,metrics.accuracy,metrics.loss.min",
                max_length=limits.MAX_QUERY_TEXT,
            ),
        ] = None,
    ) -> Any:
        auto = columns is not None and columns.strip() == "auto"
        fields = None if auto else parse_columns(columns)
        return await run_in_threadpool(
            meta.query,
            list_runs_grid,
            options,
            experiment=experiment,
            columns=fields,
            auto=auto,
        )
