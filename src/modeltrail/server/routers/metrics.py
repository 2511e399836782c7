"""A run's metric series: append points in bulk, read a series whole, by step range or
downsampled for a chart."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import unquote

import orjson
from fastapi import APIRouter, Header, Path, Query, Response

from modeltrail.domain import series as d
from modeltrail.domain.errors import InvalidInput
from modeltrail.server.deps import MetadataDep
from modeltrail.services.tracking import points as series_points
from modeltrail.services.tracking import series

router = APIRouter(prefix="/runs/{run_id}/metrics", tags=["Metrics"])
RunId = Annotated[uuid.UUID, Path(description="the run's id")]
JSON = "application/json"


def _execution(value: str | None) -> uuid.UUID | None | bool:
    if value is None:
        return series.ALL
    if value == "run":
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput(
            f"execution must be the id of one of the run's steps or 'run', not {value[:60]!r}",
            errors=[{"pointer": "/execution", "in": "query", "detail": "not an execution id"}],
        ) from None


def _key(segment: str) -> str:
    """The key a path segment names. A browser resolves a segment "..", "." or their
    percent-encodings ("%2E%2E") as a dot segment, so a web page sends such a key with its
    dots encoded twice ("%252E%252E", read here as "%2E%2E"); no key holds "%", so a
    segment that does is decoded once more."""
    return unquote(segment) if "%" in segment else segment


ExecutionParam = Annotated[
    str | None,
    Query(
        description="the step (execution id) whose series to read, or `run` for the run's "
        "own; left out: every series of the key in the run, merged in step order",
        max_length=64,
    ),
]
StartParam = Annotated[
    int | None, Query(description="the first step to read", ge=d.INT64_MIN, le=d.INT64_MAX)
]
EndParam = Annotated[
    int | None, Query(description="the last step to read", ge=d.INT64_MIN, le=d.INT64_MAX)
]


@router.post(
    "",
    response_model=d.MetricsAppended,
    operation_id="appendRunMetrics",
    summary="Append metric points to the run's series, all or nothing",
    description="Points come one object each (`points`) or as parallel lists per key "
    "(`series`), or both; a series is made on its first point. A value is a number or "
    "`NaN`, `Infinity`, `-Infinity` as text; steps and timestamps (milliseconds since the "
    f"epoch) are 64-bit integers. At most {d.MAX_POINTS} points per request. A point logged "
    "again at the same step is kept beside the first. A refused request stores nothing and "
    "the problem names the point (`/points/17/value`, `/series/0/steps/17`). Send an "
    "`Idempotency-Key` (a new one per request) to make a retry safe: the same request sent "
    "again with the same key within a day is answered as the first time, with "
    "`Idempotent-Replayed: true`, and appends nothing.",
)
def append_metrics(
    run_id: RunId,
    body: d.MetricsAppend,
    meta: MetadataDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="1 to 128 visible ASCII characters, new for each request (a UUID)",
        ),
    ] = None,
) -> d.MetricsAppended:
    answer, replayed = series.log_metrics(meta, run_id, body, idempotency_key=idempotency_key)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return answer


@router.get(
    "",
    response_model=d.RunMetrics,
    operation_id="listRunMetrics",
    summary="The run's metrics: each key's latest, least and greatest value, and each series",
    description="With `charts=N`, the series of the first N metrics (in the order of "
    "`metrics`, every series of the key merged) come along downsampled to `points` buckets "
    "each, in `charts`, as `/runs/{run_id}/metrics/{key}?points=` answers them: what a run's "
    "page draws, in one request instead of one more per chart.",
)
def list_run_metrics(
    run_id: RunId,
    meta: MetadataDep,
    charts: Annotated[
        int,
        Query(
            description="how many of the metrics, the first ones, to answer downsampled in "
            "`charts`",
            ge=0,
            le=d.MAX_CHARTS,
        ),
    ] = 0,
    points: Annotated[
        int,
        Query(description="at most this many buckets per chart", ge=1, le=d.MAX_BUCKETS),
    ] = d.CHART_POINTS,
) -> d.RunMetrics:
    return meta.query(series_points.run_metrics_charted, run_id, charts=charts, points=points)


@router.get(
    "/{key:path}",
    response_model=d.SeriesPoints | d.SeriesBuckets,
    operation_id="readRunMetric",
    summary="Read one metric series: whole, a step range, or downsampled to N buckets",
    description="Without `points`, the points in step order (a step logged twice keeps both, "
    "in the order logged), at most `limit` of them, `nextCursor` continuing. With `points=N`, "
    "the step range cut into N buckets of equal width, each with its count, least, greatest "
    "and last value: what a chart of a long series draws.",
)
def read_run_metric(
    run_id: RunId,
    key: Annotated[
        str,
        Path(
            description="the metric's key, as one segment (its slashes encoded); the keys "
            "`.` and `..` with their dots encoded twice (`%252E`) where a client resolves "
            "dot segments, as browsers do",
            max_length=d.MAX_KEY,
        ),
    ],
    meta: MetadataDep,
    execution: ExecutionParam = None,
    start: StartParam = None,
    end: EndParam = None,
    points: Annotated[
        int | None,
        Query(description="downsample to at most this many buckets", ge=1, le=d.MAX_BUCKETS),
    ] = None,
    limit: Annotated[
        int, Query(description="at most this many points", ge=1, le=d.MAX_READ_POINTS)
    ] = d.MAX_READ_POINTS,
    cursor: Annotated[
        str | None, Query(description="nextCursor of the previous page", max_length=64)
    ] = None,
) -> Response:
    chosen = _execution(execution)
    key = _key(key)
    answer: d.SeriesPoints | d.SeriesBuckets
    if points is not None:
        answer = meta.query(
            series_points.series_buckets,
            run_id,
            key,
            buckets=points,
            execution=chosen,
            start=start,
            end=end,
        )
    else:
        answer = meta.query(
            series_points.series_points,
            run_id,
            key,
            execution=chosen,
            start=start,
            end=end,
            limit=limit,
            cursor=cursor,
        )
    # Written by orjson from the lists as they are: a model's serializer would check each of
    # up to a million numbers against its type again.
    fields = type(answer).model_fields
    body = {field.alias or name: getattr(answer, name) for name, field in fields.items()}
    return Response(orjson.dumps(body), media_type=JSON)
