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
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, insert, select, update
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


def _appended(data: bytes, count: int, added: Points) -> bytes:
    """The packed chunk of ``count`` points in ``data`` with ``added`` after them: each of its
    three arrays joined with the new one's bytes, the stored points neither unpacked nor
    scanned again."""
    size, more = count * 8, len(added) * 8
    new = pack(added)
    return b"".join(
        (
            data[:size],
            new[:more],
            data[size : 2 * size],
            new[more : 2 * more],
            data[2 * size : 3 * size],
            new[2 * more :],
        )
    )


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


@dataclass
class RunMetricState:
    """A run's summary of one key as a write reads and folds it: plain values, no ORM
    object to track (a logged step updates a few of them)."""

    key: str
    count: int = 0
    min_value: float | None = None
    max_value: float | None = None
    latest_value: float | None = None
    latest_step: int | None = None
    latest_timestamp: int | None = None
    first_step: int | None = None
    last_step: int | None = None
    new: bool = False


@dataclass
class SeriesState(RunMetricState):
    """A series' summary and chunk counter as a write reads and folds them."""

    id: uuid.UUID = field(default_factory=uuid.uuid4)
    execution_id: uuid.UUID | None = None
    artifact_id: uuid.UUID | None = None
    nonfinite: int = 0
    ordered: bool = True
    chunks: int = 0
    # The last chunk while it has room (seq, count, step_min, step_max, data), read with the
    # lock: the next points fill it up first.
    open_chunk: tuple[int, int, int, int, bytes] | None = None


_FOLDED = (
    "count",
    "min_value",
    "max_value",
    "latest_value",
    "latest_step",
    "latest_timestamp",
    "first_step",
    "last_step",
)
_SERIES_FIELDS = ("id", "key", "execution_id", "artifact_id", "nonfinite", "ordered", "chunks")


def _locking(table: Table, names: Sequence[str]) -> Any:
    """``names`` of ``table``'s rows of a run (``run_id``) and some keys (``keys``), locked."""
    return (
        select(*(table.c[name] for name in names))
        .where(
            table.c.run_id == bindparam("run_id"),
            table.c.key.in_(bindparam("keys", expanding=True)),
        )
        .with_for_update()
    )


# Built once, with bind parameters, so that each write reuses their compiled form.
_series = cast(Table, MetricSeriesRow.__table__)
_run_metrics = cast(Table, RunMetricRow.__table__)
_chunks = cast(Table, MetricChunkRow.__table__)
# The series with their last chunks: a logged step appends a point to a
# few series, and reading their ends with them saves a statement. Only the series are locked
# (PostgreSQL locks no row of an outer join's optional side); their chunks change only under
# that lock.
_OPEN_CHUNK = ("seq", "count", "step_min", "step_max", "data")
_LOCK_SERIES = (
    select(
        *(_series.c[name] for name in _SERIES_FIELDS + _FOLDED),
        *(_chunks.c[name] for name in _OPEN_CHUNK),
    )
    .select_from(
        _series.outerjoin(
            _chunks,
            and_(
                _chunks.c.series_id == _series.c.id,
                _chunks.c.seq == _series.c.chunks - 1,
            ),
        )
    )
    .where(
        _series.c.run_id == bindparam("run_id"),
        _series.c.key.in_(bindparam("keys", expanding=True)),
    )
    .with_for_update(of=_series)
)
_UPDATE_SERIES = (
    update(_series)
    .where(_series.c.id == bindparam("b_id"))
    .values(
        {
            name: bindparam(name)
            for name in ("artifact_id", "nonfinite", "ordered", "chunks", "update_time", *_FOLDED)
        }
    )
)
_LOCK_RUN_METRICS = _locking(_run_metrics, ("key", *_FOLDED))
_UPDATE_RUN_METRICS = (
    update(_run_metrics)
    .where(_run_metrics.c.run_id == bindparam("b_run_id"), _run_metrics.c.key == bindparam("b_key"))
    .values({name: bindparam(name) for name in _FOLDED})
)
_UPDATE_CHUNK = (
    update(_chunks)
    .where(_chunks.c.series_id == bindparam("b_series_id"), _chunks.c.seq == bindparam("b_seq"))
    .values(
        count=bindparam("count"),
        step_min=bindparam("step_min"),
        step_max=bindparam("step_max"),
        data=bindparam("data"),
    )
)


def _folded(state: RunMetricState) -> dict[str, Any]:
    """The summary values of ``state``, by column."""
    return {name: getattr(state, name) for name in _FOLDED}


def _expire(session: Session, kind: type[Any], keys: Iterable[Any]) -> None:
    """Expire the ORM objects of ``kind`` this session holds for ``keys``: a write past the
    ORM has made them stale."""
    if not session.identity_map:
        return
    for key in keys:
        stale = session.identity_map.get(session.identity_key(kind, key))
        if stale is not None:
            session.expire(stale)


def lock_series(session: Session, run_id: uuid.UUID, keys: Iterable[str]) -> list[SeriesState]:
    """The run's series of ``keys`` (its own and its steps'), locked for this transaction,
    each with its last chunk while that has room."""
    result = session.connection().execute(_LOCK_SERIES, {"run_id": run_id, "keys": list(keys)})
    names = _SERIES_FIELDS + _FOLDED
    width = len(names)
    states = []
    for row in result:
        state = SeriesState(**dict(zip(names, row[:width], strict=True)))
        if row[width] is not None and row[width + 1] < CHUNK:
            state.open_chunk = tuple(row[width:])
        states.append(state)
    return states


def insert_series(session: Session, run_id: uuid.UUID, states: Sequence[SeriesState]) -> None:
    """Store new, empty series (before their first points, which refer to them)."""
    if states:
        session.connection().execute(
            insert(_series),
            [
                {
                    "id": s.id,
                    "run_id": run_id,
                    "execution_id": s.execution_id,
                    "key": s.key,
                    "artifact_id": s.artifact_id,
                    "count": 0,
                    "nonfinite": 0,
                    "ordered": True,
                    "chunks": 0,
                }
                for s in states
            ],
        )


def write_series(session: Session, states: Sequence[SeriesState]) -> None:
    """Write back the summaries, artifacts and chunk counters of ``states``, in one statement."""
    now = utcnow()
    session.connection().execute(
        _UPDATE_SERIES,
        [
            {
                "b_id": s.id,
                "artifact_id": s.artifact_id,
                "nonfinite": s.nonfinite,
                "ordered": s.ordered,
                "chunks": s.chunks,
                "update_time": now,
                **_folded(s),
            }
            for s in states
        ],
    )
    _expire(session, MetricSeriesRow, [s.id for s in states])


def lock_run_metrics(
    session: Session, run_id: uuid.UUID, keys: Iterable[str]
) -> dict[str, RunMetricState]:
    """The run's summaries of ``keys``, locked for this transaction."""
    result = session.connection().execute(_LOCK_RUN_METRICS, {"run_id": run_id, "keys": list(keys)})
    names = ("key", *_FOLDED)
    return {row[0]: RunMetricState(**dict(zip(names, row, strict=True))) for row in result}


def write_run_metrics(
    session: Session, run_id: uuid.UUID, states: Sequence[RunMetricState]
) -> None:
    """Store the run's summaries ``states``: the new inserted, the others updated, a
    statement each."""
    new = [{"run_id": run_id, "key": s.key, **_folded(s)} for s in states if s.new]
    if new:
        session.connection().execute(insert(_run_metrics), new)
    changed = [{"b_run_id": run_id, "b_key": s.key, **_folded(s)} for s in states if not s.new]
    if changed:
        session.connection().execute(_UPDATE_RUN_METRICS, changed)
        _expire(session, RunMetricRow, [(run_id, s.key) for s in states if not s.new])


def append_chunks_many(session: Session, items: Sequence[tuple[SeriesState, Points]]) -> None:
    """Store each series' points after its others: the last chunk (``open_chunk``, as
    ``lock_series`` read it) is filled up first, the rest go in new chunks; the last chunks
    of all are written back in one statement (a logged step appends a point to each of a few
    keys). Each series' ``chunks`` counter is advanced; writing it back (``write_series``) is
    the caller's."""
    updates: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for series, points in items:
        offset = 0
        if series.open_chunk is not None:
            seq, count, step_min, step_max, data = series.open_chunk
            take = min(CHUNK - count, len(points))
            added = points.slice(0, take)
            offset = take
            updates.append(
                {
                    "b_series_id": series.id,
                    "b_seq": seq,
                    "count": count + take,
                    "step_min": min(step_min, min(added.steps)),
                    "step_max": max(step_max, max(added.steps)),
                    "data": _appended(data, count, added),
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
        series.open_chunk = None
    if updates:
        session.connection().execute(_UPDATE_CHUNK, updates)
        _expire(session, MetricChunkRow, [(u["b_series_id"], u["b_seq"]) for u in updates])
    if rows:
        session.connection().execute(insert(_chunks), rows)


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
