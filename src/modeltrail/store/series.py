"""Metric points, stored packed: a series' points in chunks of up to ``CHUNK`` points, each
chunk three little-endian arrays in one binary column.

A row per point would make a 100,000-point read 100,000 rows to fetch and convert; a chunk
is one row of arrays that ``array.frombytes`` turns back into numbers in one copy. A chunk
keeps its points in the order they were logged; the series says whether every point came at
a step no lower than the last (``ordered``), and only a series that is not needs a sort.
"""

from __future__ import annotations

import sys
import uuid
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from modeltrail.domain.series import valid_key
from modeltrail.store.tables import MetricChunkRow, MetricSeriesRow, RunMetricRow, utcnow

CHUNK = 8192
# The most a stored chunk may hold (an import's chunks were cut by the store that wrote them).
MAX_CHUNK = 1 << 20
_SWAP = sys.byteorder != "little"


@dataclass
class Points:
    """Parallel arrays of points."""

    steps: array[int] = field(default_factory=lambda: array("q"))
    timestamps: array[int] = field(default_factory=lambda: array("q"))
    values: array[float] = field(default_factory=lambda: array("d"))

    def __len__(self) -> int:
        return len(self.steps)

    def extend(self, other: Points) -> None:
        self.steps.extend(other.steps)
        self.timestamps.extend(other.timestamps)
        self.values.extend(other.values)

    def slice(self, start: int, stop: int) -> Points:
        return Points(self.steps[start:stop], self.timestamps[start:stop], self.values[start:stop])


def pack(points: Points) -> bytes:
    if not _SWAP:
        return points.steps.tobytes() + points.timestamps.tobytes() + points.values.tobytes()
    steps, timestamps = array("q", points.steps), array("q", points.timestamps)
    values = array("d", points.values)
    for part in (steps, timestamps, values):
        part.byteswap()
    return steps.tobytes() + timestamps.tobytes() + values.tobytes()


def unpack(data: bytes, count: int, into: Points) -> None:
    """Append the ``count`` points packed in ``data`` to ``into``."""
    size = count * 8
    if _SWAP:
        part = Points()
        part.steps.frombytes(data[:size])
        part.timestamps.frombytes(data[size : 2 * size])
        part.values.frombytes(data[2 * size : 3 * size])
        for a in (part.steps, part.timestamps, part.values):
            a.byteswap()
        into.extend(part)
        return
    view = memoryview(data)
    into.steps.frombytes(view[:size])
    into.timestamps.frombytes(view[size : 2 * size])
    into.values.frombytes(view[2 * size : 3 * size])


def read_series_rows(
    session: Session,
    run_id: uuid.UUID,
    *,
    key: str | None = None,
    execution: uuid.UUID | None | bool = True,
    for_update: bool = False,
) -> list[MetricSeriesRow]:
    """The run's series, oldest first: of ``key`` (all keys if None), of ``execution`` (the
    run's own with None, every series with True)."""
    query = select(MetricSeriesRow).where(MetricSeriesRow.run_id == run_id)
    if key is not None:
        query = query.where(MetricSeriesRow.key == key)
    if execution is None:
        query = query.where(MetricSeriesRow.execution_id.is_(None))
    elif execution is not True:
        query = query.where(MetricSeriesRow.execution_id == execution)
    query = query.order_by(MetricSeriesRow.create_time, MetricSeriesRow.id)
    if for_update:
        query = query.with_for_update()
    return list(session.scalars(query))


def read_series_of_runs(
    session: Session, run_ids: Sequence[uuid.UUID], keys: Iterable[str]
) -> list[Any]:
    """Every series of ``keys`` the runs ``run_ids`` logged (their own and their steps'),
    oldest first, as rows of (id, run_id, key, execution_id, ordered, nonfinite, chunks):
    many runs' series in one query, for reading them side by side."""
    t = MetricSeriesRow
    query = (
        select(t.id, t.run_id, t.key, t.execution_id, t.ordered, t.nonfinite, t.chunks)
        .where(t.run_id.in_(list(run_ids)), t.key.in_(list(keys)))
        .order_by(t.create_time, t.id)
    )
    return list(session.execute(query))


def read_run_metric_rows(
    session: Session, run_ids: Sequence[uuid.UUID], *, keys: Iterable[str] | None = None
) -> list[RunMetricRow]:
    """The per-run summaries of ``run_ids`` (of ``keys`` only, if given), by run and key."""
    query = select(RunMetricRow).where(RunMetricRow.run_id.in_(list(run_ids)))
    if keys is not None:
        query = query.where(RunMetricRow.key.in_(list(keys)))
    return list(session.scalars(query.order_by(RunMetricRow.run_id, RunMetricRow.key)))


def lock_run_metric_rows(
    session: Session, run_id: uuid.UUID, keys: Iterable[str]
) -> dict[str, RunMetricRow]:
    query = (
        select(RunMetricRow)
        .where(RunMetricRow.run_id == run_id, RunMetricRow.key.in_(list(keys)))
        .with_for_update()
    )
    return {row.key: row for row in session.scalars(query)}


def append_chunks(session: Session, series: MetricSeriesRow, points: Points) -> None:
    """Store ``points`` after the series' others: the last chunk is filled up first, the rest
    go in new chunks. The series' ``chunks`` counter is advanced (its summary is the caller's)."""
    append_chunks_many(session, [(series, points)])


def append_chunks_many(session: Session, items: Sequence[tuple[MetricSeriesRow, Points]]) -> None:
    """``append_chunks`` for several series at once: their last chunks read in one query and
    written back in one statement (a logged step appends a point to each of a few keys)."""
    open_ends = [(series.id, series.chunks - 1) for series, _ in items if series.chunks]
    last: dict[uuid.UUID, tuple[int, int, bytes]] = {}
    if open_ends:
        table = MetricChunkRow.__table__
        query = select(table.c.series_id, table.c.seq, table.c.count, table.c.data).where(
            or_(*(and_(table.c.series_id == sid, table.c.seq == seq) for sid, seq in open_ends))
        )
        for series_id, seq, count, data in session.execute(query):
            if count < CHUNK:
                last[series_id] = (seq, count, data)
    updates: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for series, points in items:
        offset = 0
        if series.id in last:
            seq, count, data = last[series.id]
            merged = Points()
            unpack(data, count, merged)
            take = min(CHUNK - count, len(points))
            merged.extend(points.slice(0, take))
            offset = take
            updates.append(
                {
                    "b_series_id": series.id,
                    "b_seq": seq,
                    "count": len(merged),
                    "step_min": min(merged.steps),
                    "step_max": max(merged.steps),
                    "data": pack(merged),
                }
            )
        seq = series.chunks
        while offset < len(points):
            part = points.slice(offset, offset + CHUNK)
            rows.append(
                {
                    "series_id": series.id,
                    "seq": seq,
                    "count": len(part),
                    "step_min": min(part.steps),
                    "step_max": max(part.steps),
                    "data": pack(part),
                }
            )
            seq += 1
            offset += CHUNK
        series.chunks = seq
        series.update_time = utcnow()
    if updates:
        statement = (
            update(MetricChunkRow)
            .where(
                MetricChunkRow.series_id == bindparam("b_series_id"),
                MetricChunkRow.seq == bindparam("b_seq"),
            )
            .values(
                count=bindparam("count"),
                step_min=bindparam("step_min"),
                step_max=bindparam("step_max"),
                data=bindparam("data"),
            )
        )
        session.connection().execute(statement, updates)
        # Chunks loaded before in this session are stale now.
        for series, _ in items:
            if series.id in last:
                stale = session.identity_map.get(
                    session.identity_key(MetricChunkRow, (series.id, last[series.id][0]))
                )
                if stale is not None:
                    session.expire(stale)
    if rows:
        session.execute(insert(MetricChunkRow), rows)


def read_points(
    session: Session,
    series_ids: Sequence[uuid.UUID],
    *,
    start: int | None = None,
    end: int | None = None,
) -> list[Points]:
    """The points of each series (in ``series_ids``' order), each in the order they were
    logged, of the chunks that may hold a step in ``[start, end]`` (the caller cuts them)."""
    if not series_ids:
        return []
    table = MetricChunkRow.__table__
    query = select(table.c.series_id, table.c.count, table.c.data).where(
        table.c.series_id.in_(list(series_ids))
    )
    if start is not None:
        query = query.where(table.c.step_max >= start)
    if end is not None:
        query = query.where(table.c.step_min <= end)
    query = query.order_by(table.c.series_id, table.c.seq)
    found: dict[uuid.UUID, Points] = {sid: Points() for sid in series_ids}
    for series_id, count, data in session.execute(query):
        unpack(data, count, found[series_id])
    return [found[sid] for sid in series_ids]


# ---------------------------------------------------------------- imports


def imported_row_error(table: str, row: dict[str, Any]) -> tuple[str, str] | None:
    """Why a row of an export cannot be a series row (the column, the reason), or None: a
    restore must not store points that a read cannot unpack."""
    if table in ("metric_series", "run_metrics"):
        key = row.get("key")
        if not isinstance(key, str) or not valid_key(key):
            return "key", "not a metric key"
        for name in ("count", "nonfinite", "chunks"):
            value = row.get(name)
            if name in row and (not isinstance(value, int) or value < 0):
                return name, "must be a count"
    elif table == "metric_chunks":
        count, data = row.get("count"), row.get("data")
        if not isinstance(count, int) or not 0 < count <= MAX_CHUNK:
            return "count", f"must be 1 to {MAX_CHUNK}"
        if not isinstance(data, bytes) or len(data) != 24 * count:
            return "data", f"must hold {count} packed points"
        points = Points()
        unpack(data, count, points)
        if (min(points.steps), max(points.steps)) != (row.get("step_min"), row.get("step_max")):
            return "step_min", "the steps of the points differ from step_min and step_max"
    return None
