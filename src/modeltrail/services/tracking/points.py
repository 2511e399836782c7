"""Reading the points of a metric series: whole, by step range, a page at a time, or
downsampled in buckets for a chart (each bucket's count, least, greatest and last value)."""

from __future__ import annotations

import base64
import uuid
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from modeltrail.domain import series as d
from modeltrail.domain.errors import InvalidInput, NotFound
from modeltrail.services.tracking.series import ALL, run_metrics, run_or_404
from modeltrail.store import series as store
from modeltrail.store.tables import (
    MetricSeriesRow,
)

# How many stored chunks of points a read of many series holds in memory at once.
_CHUNKS_AT_ONCE = 64


def _selected(
    session: Session, run_id: uuid.UUID, key: str, execution: uuid.UUID | None | bool
) -> list[MetricSeriesRow]:
    d.check_key(key)
    rows = store.read_series_rows(session, run_id, key=key, execution=execution)
    if not rows:
        run_or_404(session, run_id)
        whose = (
            ""
            if execution is ALL
            else " by the run itself"
            if execution is None
            else f" by execution {execution}"
        )
        raise NotFound(f"run {run_id} has no metric {key!r}{whose}")
    return rows


def _merged(
    session: Session,
    rows: list[MetricSeriesRow],
    start: int | None,
    end: int | None,
) -> tuple[store.Points, bool]:
    """The points of ``rows`` with a step in ``[start, end]``, in step order (a step's points
    in the order logged); and whether any value is not finite."""
    parts = store.read_points(session, [r.id for r in rows], start=start, end=end)
    return _merged_parts(rows, parts, start, end)


def _merged_parts(
    rows: Sequence[Any], parts: list[store.Points], start: int | None, end: int | None
) -> tuple[store.Points, bool]:
    """``_merged`` of points already read: ``parts`` holds the points of each of ``rows``."""
    nonfinite = any(r.nonfinite for r in rows)
    if len(rows) == 1 and rows[0].ordered:
        points = parts[0]
    else:
        points = store.Points()
        for part in parts:
            points.extend(part)
        order = sorted(range(len(points)), key=points.steps.__getitem__)
        points = store.Points(
            array("q", [points.steps[i] for i in order]),
            array("q", [points.timestamps[i] for i in order]),
            array("d", [points.values[i] for i in order]),
        )
    lo = 0 if start is None else bisect_left(points.steps, start)
    hi = len(points) if end is None else bisect_right(points.steps, end)
    if (lo, hi) != (0, len(points)):
        points = points.slice(lo, hi)
    return points, nonfinite


def _check_range(start: int | None, end: int | None) -> None:
    if start is not None and end is not None and start > end:
        raise InvalidInput(
            f"start ({start}) is after end ({end})",
            errors=[{"pointer": "/start", "in": "query", "detail": "after end"}],
        )


def _values(values: array[float], nonfinite: bool) -> list[Any]:
    listed = values.tolist()
    return [d.shown(v) for v in listed] if nonfinite else listed


def cursor_at(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        offset = int(text[1:]) if text.startswith("o") else -1
    except (ValueError, UnicodeDecodeError):
        offset = -1
    if offset < 0:
        raise InvalidInput(
            "cursor is not a nextCursor this server gave",
            errors=[{"pointer": "/cursor", "in": "query", "detail": "not a cursor"}],
        )
    return offset


def series_points(
    session: Session,
    run_id: uuid.UUID,
    key: str,
    *,
    execution: uuid.UUID | None | bool = ALL,
    start: int | None = None,
    end: int | None = None,
    limit: int = d.MAX_READ_POINTS,
    cursor: str | None = None,
) -> d.SeriesPoints:
    """The points of ``key`` with a step in ``[start, end]`` in step order: of the step
    ``execution``, of the run itself (None), or of all the run's series of that key
    (``ALL``, merged). At most ``limit`` points; ``nextCursor`` continues."""
    _check_range(start, end)
    rows = _selected(session, run_id, key, execution)
    points, nonfinite = _merged(session, rows, start, end)
    offset = _offset(cursor)
    total = len(points)
    if offset or limit < total:
        points = points.slice(offset, offset + limit)
    more = offset + limit < total
    return d.SeriesPoints.model_construct(
        run=run_id,
        key=key,
        execution=rows[0].execution_id if execution is not ALL else None,
        count=len(points),
        steps=points.steps.tolist(),
        timestamps=points.timestamps.tolist(),
        values=_values(points.values, nonfinite),
        next_cursor=cursor_at(offset + limit) if more else None,
    )


def series_buckets(
    session: Session,
    run_id: uuid.UUID,
    key: str,
    *,
    buckets: int,
    execution: uuid.UUID | None | bool = ALL,
    start: int | None = None,
    end: int | None = None,
) -> d.SeriesBuckets:
    """The points of ``key`` in ``[start, end]`` (see ``series_points``) in at most
    ``buckets`` buckets of equal step width: each bucket's count, least, greatest and last
    value, so that a chart of a million points draws from a thousand without losing a spike."""
    _check_range(start, end)
    rows = _selected(session, run_id, key, execution)
    points, nonfinite = _merged(session, rows, start, end)
    return _bucketed(run_id, key, rows, points, nonfinite, buckets, execution, start, end)


def series_buckets_of_runs(
    session: Session, run_ids: Sequence[uuid.UUID], keys: Sequence[str], *, buckets: int
) -> dict[tuple[uuid.UUID, str], d.SeriesBuckets]:
    """``series_buckets`` of all the series of ``keys`` of each run (``ALL``, whole), for
    the (run, key) pairs that have a series: their rows read in one query and their points
    in a few, not two queries a series."""
    selected: dict[tuple[uuid.UUID, str], list[Any]] = {}
    for row in store.read_series_of_runs(session, run_ids, keys):
        selected.setdefault((row.run_id, row.key), []).append(row)
    out: dict[tuple[uuid.UUID, str], d.SeriesBuckets] = {}
    batch: list[tuple[uuid.UUID, str]] = []
    held = 0
    for pair in [*selected, None]:
        # The points of a few series at a time, bucketed and let go: a hundred runs' long
        # series are never all in memory as points.
        chunks = 0 if pair is None else sum(r.chunks for r in selected[pair])
        if batch and (pair is None or held + chunks > _CHUNKS_AT_ONCE):
            ids = [r.id for p in batch for r in selected[p]]
            parts = dict(zip(ids, store.read_points(session, ids), strict=True))
            for run_id, key in batch:
                rows = selected[run_id, key]
                points, nonfinite = _merged_parts(rows, [parts[r.id] for r in rows], None, None)
                out[run_id, key] = _bucketed(run_id, key, rows, points, nonfinite, buckets, ALL)
            batch, held = [], 0
        if pair is not None:
            batch.append(pair)
            held += chunks
    return out


def run_metrics_charted(
    session: Session, run_id: uuid.UUID, *, charts: int = 0, points: int = d.CHART_POINTS
) -> d.RunMetrics:
    """``run_metrics``, with the series of the first ``charts`` metrics downsampled to
    ``points`` buckets each (every series of the key merged, as ``series_buckets`` reads it
    with ``ALL``): read together, in a few queries, not a request a chart."""
    answer = run_metrics(session, run_id)
    keys = [m.key for m in answer.metrics[:charts]]
    if keys:
        bucketed = series_buckets_of_runs(session, [run_id], keys, buckets=points)
        answer.charts = [bucketed[run_id, k] for k in keys if (run_id, k) in bucketed]
    return answer


def _bucketed(
    run_id: uuid.UUID,
    key: str,
    rows: Sequence[Any],
    points: store.Points,
    nonfinite: bool,
    buckets: int,
    execution: uuid.UUID | None | bool,
    start: int | None = None,
    end: int | None = None,
) -> d.SeriesBuckets:
    steps, values = points.steps, points.values
    n = len(points)
    out: dict[str, list[Any]] = {
        "start_steps": [],
        "end_steps": [],
        "counts": [],
        "mins": [],
        "maxs": [],
        "lasts": [],
    }
    if n:
        lo = steps[0] if start is None else start
        span = (steps[-1] if end is None else end) - lo + 1
        step_numbers = np.frombuffer(steps, dtype=np.int64)
        # Bucket i holds the steps below lo + span * i // buckets. Where each bucket ends is
        # found first, then each column is made by one numpy call over all the buckets.
        ends: npt.NDArray[np.intp]
        if n >= buckets:
            bounds = _bounds(lo, span, buckets)
            # Sorted bounds find sorted ends: the repeated ones (empty buckets) are dropped
            # by comparing neighbours, without the sort or hash of np.unique.
            at = np.append(np.searchsorted(step_numbers, bounds), n)
            ends = at[np.concatenate(([True], at[1:] != at[:-1]))]
            ends = ends[ends > 0]
        else:
            # A short series: the first bucket above each step found directly, a few turns
            # of the loop and not one per bucket.
            found, a = [], 0
            while a < n:
                i = min(buckets, -(-(steps[a] - lo + 1) * buckets // span))
                a = n if i == buckets else bisect_left(steps, lo + span * i // buckets, a)
                found.append(a)
            ends = np.array(found, np.intp)
        firsts = np.concatenate(([0], ends[:-1]))
        lasts = ends - 1
        numbers = np.frombuffer(values, dtype=np.float64)
        # fmin and fmax pass over NaN as the least and greatest of the numbers do; a bucket
        # of NaN alone stays NaN, answered as null.
        mins = np.fmin.reduceat(numbers, firsts)
        maxs = np.fmax.reduceat(numbers, firsts)
        if ((numbers == 0) & np.signbit(numbers)).any():
            _first_of_equal_zeros(values, firsts, ends, mins, maxs)
        out["start_steps"] = step_numbers[firsts].tolist()
        out["end_steps"] = step_numbers[lasts].tolist()
        out["counts"] = (ends - firsts).tolist()
        if nonfinite:
            out["mins"] = [None if v != v else d.shown(v) for v in mins.tolist()]
            out["maxs"] = [None if v != v else d.shown(v) for v in maxs.tolist()]
            out["lasts"] = [d.shown(v) for v in numbers[lasts].tolist()]
        else:
            out["mins"] = mins.tolist()
            out["maxs"] = maxs.tolist()
            out["lasts"] = numbers[lasts].tolist()
    return d.SeriesBuckets.model_construct(
        None,
        run=run_id,
        key=key,
        execution=rows[0].execution_id if execution is not ALL else None,
        count=n,
        buckets=len(out["counts"]),
        **out,
    )


def _bounds(lo: int, span: int, buckets: int) -> npt.NDArray[np.int64]:
    """Where the buckets after the first begin: ``lo + span * i // buckets`` for i in 1 ..
    buckets - 1. The bounds lie within the steps' range, so int64 holds them; ``span * i``
    may not, and is then worked out in Python's integers."""
    if span * buckets < 2**63:
        return lo + np.arange(1, buckets, dtype=np.int64) * span // buckets
    return np.array([lo + span * i // buckets for i in range(1, buckets)], np.int64)


def _first_of_equal_zeros(
    values: array[float],
    firsts: npt.NDArray[np.intp],
    ends: npt.NDArray[np.intp],
    mins: npt.NDArray[np.float64],
    maxs: npt.NDArray[np.float64],
) -> None:
    """Make a zero least or greatest value the bucket's first zero, as ``min`` and ``max``
    answer it: 0.0 and -0.0 are equal, and which of them numpy keeps is not defined."""
    for k in np.flatnonzero((mins == 0) | (maxs == 0)).tolist():
        numbers = [v for v in values[firsts[k] : ends[k]] if v == v]
        mins[k], maxs[k] = min(numbers), max(numbers)
